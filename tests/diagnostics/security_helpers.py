"""Test support for the security.* checks (tests/diagnostics/test_security_*.py).

- SQL Server cannot run here: :func:`tsql_projection` and :func:`tsql_columns` parse a check's
  T-SQL with sqlglot's tsql dialect, and :class:`CatalogRows` answers a check's named statements
  with rows that must carry exactly the statement's output columns (a renamed or misspelt
  column fails the test). :data:`DOCUMENTED_COLUMNS` lists the catalog-view columns as
  Microsoft documents them (tests/data/mssql/documented_schema.json); every column a statement names must be among them.
- :func:`lab_postgres` / :func:`lab_mariadb`: dedicated throwaway servers (one each per test
  session, started on first use) whose server config the security tests may change; the shared
  ``pg_server``/``mariadb_server`` fixtures stay untouched. The lab MariaDB offers TLS and starts
  with local_infile off; both grant the monitoring login what the security checks need.
- :func:`run_check`: one check through the real runner and connection layer, from a parsed config.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import sqlglot
from sqlglot import exp

from l4agent.agent.configuration import parse_config
from l4agent.diagnostics.base import Check, CheckContext
from l4agent.diagnostics.runner import DiagnoseResult, run_diagnostics
from tests.support.dbservers import MariaDbServer, PostgresServer
from tests.support.peers import ThrowawayCA
from tests.support.tsql_resolve import Schema

# Columns of the catalog views and DMVs the checks read (Microsoft Learn, SQL Server 2019/2022).
DOCUMENTED_COLUMNS: dict[str, set[str]] = {name: set(obj["columns"]) for name, obj in Schema().objects.items()}


def parse_tsql(sql: str) -> exp.Expression:
    """The one statement in ``sql``, parsed as T-SQL (raises sqlglot.ParseError)."""
    statements = [s for s in sqlglot.parse(sql, read="tsql") if s is not None]
    assert len(statements) == 1, f"expected one statement, got {len(statements)}"
    return statements[0]


def tsql_projection(sql: str) -> list[str]:
    """The output column names of a SELECT, lower-case, as the connection layer keys them."""
    select = parse_tsql(sql)
    assert isinstance(select, exp.Select), f"not a SELECT: {sql[:80]}"
    return [e.alias_or_name.lower() for e in select.expressions]


def tsql_columns(sql: str) -> set[tuple[str, str]]:
    """Every (catalog view, column) a statement names through a table alias."""
    tree = parse_tsql(sql)
    tables = {t.alias_or_name: f"{t.db}.{t.name}".lower() for t in tree.find_all(exp.Table)}
    return {(tables[c.table], c.name.lower()) for c in tree.find_all(exp.Column) if c.table}


Rows = list[dict[str, Any]] | Callable[[str | None], list[dict[str, Any]]]


class CatalogRows:
    """Stands in for a SQL Server connection: answers a check's named statements with rows
    shaped like the catalog views. ``rows`` maps statement name -> rows, or -> a function of
    the catalog (for per-database statements). Every answer is checked against the statement's
    own output columns; ``calls`` records (statement name, catalog)."""

    def __init__(self, check: Check, rows: dict[str, Rows]):
        self.by_sql = {sql: name for name, sql in check.queries["mssql"].items()}
        self.rows = rows
        self.calls: list[tuple[str, str | None]] = []

    def query(self, sql: str, params=(), catalog: str | None = None, max_rows: int | None = None):
        name = self.by_sql[sql]
        self.calls.append((name, catalog))
        rows = self.rows[name]
        rows = rows(catalog) if callable(rows) else rows
        columns = tsql_projection(sql)
        for row in rows:
            assert list(row) == columns, f"{name}: row keys {list(row)} != statement columns {columns}"
        return [dict(row) for row in (rows[:max_rows] if max_rows else rows)]

    def close(self) -> None:
        pass


def mssql_context(check: Check, rows: dict[str, Rows], options: dict | None = None,
                  databases: tuple[str, ...] = ()) -> tuple[CheckContext, CatalogRows]:
    """A CheckContext for ``check`` on a SQL Server target answered by CatalogRows."""
    config = parse_config({"databases": [{"name": "erp", "engine": "mssql", "databases": list(databases),
                                          "dsn": "DRIVER={ODBC Driver 18 for SQL Server};SERVER=db1;UID=l4"}]},
                          "test.toml")
    merged = dict(check.defaults) | (options or {})
    db = CatalogRows(check, rows)
    return CheckContext(config, merged, "testhost", target=config.databases[0], db=db), db


def run_check(check_id: str, config_data: dict[str, Any], path: str = "test.toml") -> DiagnoseResult:
    """Run one check through the real runner (real connections); fails on any error entry."""
    config = parse_config(config_data, path)
    result = run_diagnostics(config, (check_id,), host="testhost")
    assert result.errors == [], result.errors
    assert all(f.check == check_id for f in result.findings)
    return result


def target(server, name: str = "lab", database: str | None = None, **extra: Any) -> dict[str, Any]:
    """A [[databases]] table for ``server``'s monitoring login; the password comes from the
    environment variable L4_TEST_<NAME>_PASSWORD, which the test sets (monkeypatch)."""
    return {"name": name, "engine": server.engine, "dsn": server.agent_dsn(database),
            "password_env": f"L4_TEST_{name.upper()}_PASSWORD", **extra}


def password_env(server, name: str = "lab") -> tuple[str, str]:
    return f"L4_TEST_{name.upper()}_PASSWORD", server.monitor_password


# -- dedicated servers -------------------------------------------------------------------------

_LAB: dict[str, Any] = {}


def lab_postgres() -> PostgresServer:
    """A PostgreSQL only the security tests use (their planted hba lines and settings must not
    leak into other tests). The monitor may read pg_hba_file_rules, as the README asks."""
    if "postgres" not in _LAB:
        server = PostgresServer()
        try:
            server.start()
            server.execute_admin([
                f"GRANT SELECT ON pg_catalog.pg_hba_file_rules TO {server.monitor_user}",
                f"GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO {server.monitor_user}",
            ])
        except BaseException:
            server.close()
            raise
        _LAB["postgres"] = server
    return _LAB["postgres"]


class TlsMariaDb(MariaDbServer):
    """MariaDB with a server certificate (have_ssl = YES) and local_infile off."""

    def __init__(self, ca: ThrowawayCA):
        super().__init__()
        cert = ca.issue("127.0.0.1")
        self.ssl_cert, self.ssl_key = self.base_dir / "server.crt", self.base_dir / "server.key"
        shutil.copyfile(cert.cert, self.ssl_cert)
        shutil.copyfile(cert.key, self.ssl_key)
        self.ssl_key.chmod(0o600)
        self._chown(self.ssl_cert, self.ssl_key)

    def _server_command(self) -> list[str]:
        return [*super()._server_command(), f"--ssl-cert={self.ssl_cert}", f"--ssl-key={self.ssl_key}",
                "--local-infile=0"]


def lab_mariadb() -> MariaDbServer:
    """A MariaDB only the security tests use: TLS on, local_infile off, and the monitor may read
    mysql.global_priv (the account list), as the README asks."""
    if "mariadb" not in _LAB:
        ca = ThrowawayCA("l4agent security lab CA")
        try:
            server = TlsMariaDb(ca)
        finally:
            ca.close()
        try:
            server.start()
            server.execute_admin([f"GRANT SELECT ON mysql.global_priv TO '{server.monitor_user}'@'{host}'"
                                  for host in ("127.0.0.1", "localhost")])
        except BaseException:
            server.close()
            raise
        _LAB["mariadb"] = server
    return _LAB["mariadb"]


@contextlib.contextmanager
def planted(server, plant: list[str], remove: list[str], database: str | None = None) -> Iterator[None]:
    """Run ``plant`` as the admin, yield, then always run ``remove`` (each statement on its own,
    so one failed removal does not keep the others from running)."""
    try:
        server.execute_admin(plant, database)
        yield
    finally:
        for statement in remove:
            with contextlib.suppress(Exception):
                server.execute_admin(statement, database)


def _wait_for_setting(server: PostgresServer, name: str, expected: str, timeout: float = 10.0) -> None:
    """Reload is asynchronous: wait until a new session sees ``name`` = ``expected``."""
    deadline = time.monotonic() + timeout
    while True:
        [(value,)] = server.execute_admin("SELECT current_setting(?)", params=[name])
        if value == expected:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} is {value!r} after reload, expected {expected!r}")
        time.sleep(0.05)


@contextlib.contextmanager
def pg_settings(server: PostgresServer, **settings: str) -> Iterator[None]:
    """``ALTER SYSTEM SET`` each setting and reload; ``ALTER SYSTEM RESET`` and reload afterwards."""
    try:
        server.execute_admin([f"ALTER SYSTEM SET {name} = '{value}'" for name, value in settings.items()])
        server.execute_admin("SELECT pg_reload_conf()")
        for name, value in settings.items():
            _wait_for_setting(server, name, value)
        yield
    finally:
        server.execute_admin([f"ALTER SYSTEM RESET {name}" for name in settings])
        server.execute_admin("SELECT pg_reload_conf()")


@contextlib.contextmanager
def hba_lines(server: PostgresServer, lines: list[str]) -> Iterator[None]:
    """Append ``lines`` to the server's pg_hba.conf for the duration (restored afterwards)."""
    path = server.data_dir / "pg_hba.conf"
    original = path.read_text()
    try:
        path.write_text(original + "".join(f"{line}\n" for line in lines))
        server.execute_admin("SELECT pg_reload_conf()")
        yield
    finally:
        path.write_text(original)
        server.execute_admin("SELECT pg_reload_conf()")
