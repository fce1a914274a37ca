"""Planting ERP-like catalogs in the real PostgreSQL and MariaDB test servers for the
``schema.*`` tests, and running checks on them through ``run_diagnostics``.

A test module declares its DDL per engine (defect AND clean twin side by side) and gets a
module-scoped fixture with ``planted_fixture(DDL)``: one fresh database per engine, the monitor
user granted only what the checks need (MariaDB: REFERENCES on the schema, so that
information_schema shows its tables; PostgreSQL: CONNECT, as every test database has).
"""

from __future__ import annotations

import contextlib
import os
import textwrap
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from l4agent.agent.configuration import load_config
from l4agent.core.config import Config
from l4agent.diagnostics.base import Finding
from l4agent.diagnostics.runner import run_diagnostics
from l4agent.diagnostics.schema import catalog as catalog_module

ENGINES = ("postgresql", "mysql")
SERVER_FIXTURE = {"postgresql": "pg_server", "mysql": "mariadb_server"}
PASSWORD_ENV = {"postgresql": "L4T_SCHEMA_PG_PASSWORD", "mysql": "L4T_SCHEMA_MARIADB_PASSWORD"}


@dataclass
class Planted:
    engine: str
    database: str
    config: Config
    config_path: str
    server: object

    def obj(self, *parts: str) -> str:
        """A finding's object: db.public.table[.index] on PostgreSQL, db.table[.index] on MariaDB."""
        schema = ("public",) if self.engine == "postgresql" else ()
        return ".".join((self.database, *schema, *parts))

    def run(self, check_id: str) -> list[Finding]:
        """The findings of ``check_id`` on this catalog; any error fails the test."""
        result = run_diagnostics(self.config, [check_id])
        assert result.errors == [], result.errors
        assert all(f.check == check_id for f in result.findings)
        return result.findings

    def by_object(self, check_id: str) -> dict[str, Finding]:
        findings = self.run(check_id)
        objects = [f.object for f in findings]
        assert len(objects) == len(set(objects)), f"an object reported twice: {objects}"
        return {f.object: f for f in findings}

    def group(self, check_id: str) -> Finding | None:
        """The one grouped finding of ``check_id`` on this catalog (object = the catalog), or None."""
        findings = self.run(check_id)
        assert len(findings) <= 1, f"more than one finding per catalog: {[f.object for f in findings]}"
        assert all(f.object == self.database for f in findings), [f.object for f in findings]
        return findings[0] if findings else None

    def members(self, check_id: str, key: str = "tables") -> dict[str, dict]:
        """The objects a grouped finding lists in evidence[key], by object name (see
        diagnostics/schema/grouping.py); empty when the check found nothing."""
        finding = self.group(check_id)
        if finding is None:
            return {}
        listed = [m for m in finding.evidence[key] if isinstance(m, dict)]
        assert finding.evidence["count"] == len(listed), "a test group is larger than the evidence cap"
        return {m["object"]: m for m in listed}

    def quote(self, name: str) -> str:
        return f'"{name}"' if self.engine == "postgresql" else f"`{name}`"


def grant_monitor(server, database: str) -> None:
    """MariaDB lists a schema's tables in information_schema only to users with a privilege on
    it; REFERENCES is the least one (it reads no data). PostgreSQL needs nothing more."""
    if server.engine == "mysql":
        for host in ("127.0.0.1", "localhost"):
            server.execute_admin(f"GRANT REFERENCES ON `{database}`.* TO '{server.monitor_user}'@'{host}'")


def config_text(server, databases: Sequence[str], state_dir: Path, options: str = "", name: str = "erp") -> str:
    dsn = server.agent_dsn(databases[0] if server.engine == "postgresql" else None)
    listed = ", ".join(f'"{d}"' for d in databases)
    return textwrap.dedent(f"""\
        [agent]
        state_dir = "{state_dir}"

        [[databases]]
        name = "{name}"
        engine = "{server.engine}"
        dsn = "{dsn}"
        password_env = "{PASSWORD_ENV[server.engine]}"
        databases = [{listed}]
        query_timeout = "60s"
        """) + textwrap.dedent(options)


@contextlib.contextmanager
def planted(server, statements: Sequence[str], directory: Path, options: str = "") -> Iterator[Planted]:
    """A fresh database holding ``statements``' objects, and a config diagnosing it."""
    database = server.create_database(f"l4t_erp_{uuid.uuid4().hex[:10]}")
    try:
        if statements:
            server.execute_admin(list(statements), database)
        grant_monitor(server, database)
        os.environ[PASSWORD_ENV[server.engine]] = server.monitor_password
        path = directory / f"{server.engine}.toml"
        path.write_text(config_text(server, [database], directory / "state", options))
        path.chmod(0o600)
        yield Planted(server.engine, database, load_config(str(path)), str(path), server)
    finally:
        server.drop_database(database)


#: the catalog readers the schema checks are tested on: PostgreSQL, MariaDB through InnoDB's
#: dictionary (the default), MariaDB through information_schema (the fallback for MySQL 8,
#: non-InnoDB tables and accounts without PROCESS)
READERS = {"postgresql": ("postgresql", "auto"), "mysql": ("mysql", "auto"),
           "mysql-information_schema": ("mysql", "information_schema")}


def planted_fixture(ddl: dict[str, Sequence[str]], options: str = "", name: str = "erp"):
    """A module-scoped fixture ``name``, parametrized over both engines and both MariaDB catalog
    readers, yielding a Planted."""

    @pytest.fixture(scope="module", params=list(READERS), name=name)
    def fixture(request, tmp_path_factory) -> Iterator[Planted]:
        engine, source = READERS[request.param]
        server = request.getfixturevalue(SERVER_FIXTURE[engine])
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(catalog_module, "MYSQL_CATALOG_SOURCE", source)
            with planted(server, ddl[engine], tmp_path_factory.mktemp(request.param), options) as p:
                yield p

    return fixture


# One set-based DO block that creates ``n`` ERP-like tables in families of 120 monthly tables
# (mod<k>_<year>_<month>), every 20th with a primary key, every 20th (offset 10) with a foreign
# key to ``companies``. It commits every 500 tables: one transaction would need a lock per table.
GENERATE_TABLES = """
DO $$
BEGIN
  CREATE TABLE companies (id int PRIMARY KEY);
  FOR i IN 0..{last} LOOP
    EXECUTE format(
      'CREATE TABLE %I (id int%s, company_id int%s, qty int, created date)',
      'mod' || (i / 120) || '_' || (2010 + (i % 120) / 12) || '_' || lpad(((i % 12) + 1)::text, 2, '0'),
      CASE WHEN i % 20 = 0 THEN ' PRIMARY KEY' ELSE '' END,
      CASE WHEN i % 20 = 10 THEN ' REFERENCES companies (id)' ELSE '' END);
    IF i % 500 = 499 THEN
      COMMIT;
    END IF;
  END LOOP;
END $$
"""


def generate_tables_sql(count: int) -> str:
    """The statement that creates ``count`` tables (plus ``companies``); see GENERATE_TABLES."""
    return GENERATE_TABLES.format(last=int(count) - 1)
