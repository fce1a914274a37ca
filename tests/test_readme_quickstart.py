"""The README's quick start is true (issue 21): its grant blocks, run as written on the real
PostgreSQL and MariaDB of the test suite, give a login that `collect` and `diagnose` can use
through the DSN shown there, with no check missing a grant; and the PostgreSQL
``pg_hba_file_rules`` grant works only in the DSN's database."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pyodbc
import pytest

from tests.support.dbservers import _mysql_native_hash, _scram_sha256_verifier, new_password

REPO = Path(__file__).resolve().parent.parent
NOTES = REPO / "README.md"
GRANT_WORDS = re.compile(r"permission denied|access denied|denied for|grant", re.I)


def block(kind: str) -> list[str]:
    """The statements of the ```<kind> block of the notes (one per line, ; stripped)."""
    text = NOTES.read_text()
    match = re.search(rf"^```{re.escape(kind)}\n(.*?)^```", text, re.M | re.S)
    assert match, f"no ```{kind} block in {NOTES}"
    return [line.strip().rstrip(";") for line in match.group(1).splitlines()
            if line.strip() and not line.strip().startswith("--")]


def toml_block(engine: str) -> str:
    text = NOTES.read_text()
    for match in re.finditer(r"^```toml\n(.*?)^```", text, re.M | re.S):
        if f'engine = "{engine}"' in match.group(1):
            return match.group(1)
    raise AssertionError(f"no toml block for {engine}")


def fill(statements: list[str], role: str, database: str, secret: str) -> list[str]:
    """The notes' statements for this test's role, database and password (as a hash)."""
    out = []
    for statement in statements:
        statement = statement.replace("l4monitor", role).replace("workcube_cf", database)
        statement = statement.replace("IDENTIFIED BY 'change-me'", f"IDENTIFIED BY PASSWORD '{secret}'")
        out.append(statement.replace("'change-me'", f"'{secret}'"))
    return out


def config_from_notes(engine: str, server, role: str, database: str, env: str) -> str:
    """The notes' [[databases]] entry, pointed at the test server."""
    text = toml_block(engine)
    text = re.sub(r"SERVER=[^;]+;PORT=\d+", f"SERVER={server.host};PORT={server.port}", text)
    text = text.replace("UID=l4monitor", f"UID={role}").replace("DATABASE=workcube_cf", f"DATABASE={database}")
    text = re.sub(r'password_env = "[^"]+"', f'password_env = "{env}"', text)
    return text + f'databases = ["{database}"]\n'


def grant_trouble(result: dict) -> list[str]:
    """Errors and not-examined items that name a missing privilege."""
    trouble = [e["error"] for e in result.get("errors", []) if GRANT_WORDS.search(e.get("error", ""))]
    for item in result.get("coverage", []):
        trouble += [f"{n['what']}: {n['why']}" for n in item.get("not_examined", [])
                    if GRANT_WORDS.search(n.get("why", ""))]
    return trouble


def run_first_steps(run_cli, write_config, text: str, name: str, env: str, password: str):
    path = write_config(text)
    check = run_cli("config", "check", "-c", path, env={env: password})
    assert check.returncode == 0, check.stderr
    collected = run_cli("-c", path, "collect", "--collector", "database", "--format", "json", env={env: password})
    assert collected.returncode == 0, collected.stderr
    samples = json.loads(collected.stdout)["samples"]
    assert [s["value"] for s in samples if s["name"] == "l4agent_database_up"] == [1]
    diagnosed = run_cli("-c", path, "diagnose", "--target", name, "--format", "json", env={env: password},
                        timeout=300)
    assert diagnosed.returncode in (0, 1, 3), diagnosed.stderr
    result = json.loads(diagnosed.stdout)
    assert result["coverage"], "nothing was examined"
    return result


def test_postgresql_grants_from_the_notes_and_the_dsn_database_rule(pg_server, pg_db, run_cli, write_config):
    role = f"l4q_{uuid.uuid4().hex[:8]}"
    password = new_password()
    verifier = _scram_sha256_verifier(password)
    server_block = fill(block("sql postgresql-server"), role, pg_db, verifier)
    database_block = fill(block("sql postgresql-dsn-database"), role, pg_db, verifier)
    pg_server.execute_admin(server_block, "postgres")
    try:
        # run in the wrong database (postgres, psql's default): the role still cannot read
        # pg_hba_file_rules through the DSN's database
        pg_server.execute_admin([s for s in database_block if "pg_hba_file_rules" in s], "postgres")
        with pytest.raises(pyodbc.Error, match="permission denied for (view|function) pg_hba_file_rules"):
            pg_server.connect(pg_db, user=role, password=password).cursor().execute(
                "SELECT count(*) FROM pg_catalog.pg_hba_file_rules").fetchall()
        # in the DSN's database, as the notes say: it can
        pg_server.execute_admin(database_block, pg_db)
        conn = pg_server.connect(pg_db, user=role, password=password)
        assert conn.cursor().execute("SELECT count(*) FROM pg_catalog.pg_hba_file_rules").fetchone()[0] >= 2
        conn.close()

        name = "erp"
        text = config_from_notes("postgresql", pg_server, role, pg_db, "L4_QUICK_PG_PASSWORD")
        result = run_first_steps(run_cli, write_config, text, name, "L4_QUICK_PG_PASSWORD", password)
        assert grant_trouble(result) == []
        assert "security.trust_auth" not in {e.get("check") for e in result["errors"]}
    finally:
        for database in (pg_db, "postgres"):
            pg_server.execute_admin(f"DROP OWNED BY {role}", database)
        pg_server.execute_admin(f"DROP ROLE {role}", "postgres")


def test_mariadb_grants_from_the_notes(mariadb_server, mariadb_db, run_cli, write_config):
    role = f"l4q_{uuid.uuid4().hex[:8]}"
    password = new_password()
    statements = fill(block("sql mariadb"), role, mariadb_db, _mysql_native_hash(password))
    mariadb_server.execute_admin(statements)
    # an ERP schema has tables: on an empty one the server-wide checks could not tell "no table
    # yet" from "no grant", and say so
    mariadb_server.execute_admin(["CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT)",
                                  "INSERT INTO orders (customer_id) VALUES (1), (2)"], mariadb_db)
    try:
        name = "erp"  # the README's entry
        text = config_from_notes("mysql", mariadb_server, role, mariadb_db, "L4_QUICK_MARIADB_PASSWORD")
        result = run_first_steps(run_cli, write_config, text, name, "L4_QUICK_MARIADB_PASSWORD", password)
        trouble = grant_trouble(result)
        assert trouble == [], "\n".join(trouble)
    finally:
        mariadb_server.execute_admin(f"DROP USER '{role}'@'127.0.0.1'")


def test_the_readme_names_the_dsn_database_rule_and_the_path():
    text = " ".join(NOTES.read_text().split())
    assert "connected to the DSN's database" in text
    assert "`.venv/bin/l4agent` is not on PATH" in text
