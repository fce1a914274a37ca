"""The shared catalog reader on real servers: one read per run for all eight schema checks,
several catalogs per target, and a clear error when a target names no catalog."""

from __future__ import annotations

import uuid

from l4agent.agent.configuration import load_config
from l4agent.diagnostics.runner import run_diagnostics
from tests.diagnostics.schema_support import PASSWORD_ENV, config_text, grant_monitor, planted

SCHEMA_CHECKS = 8


def test_eight_checks_read_the_catalog_once(pg_server, tmp_path):
    statements = ["CREATE TABLE orders (id int PRIMARY KEY, customer_id int)", "CREATE TABLE heap (a int)"]
    with planted(pg_server, statements, tmp_path) as erp:
        result = run_diagnostics(erp.config, ["schema"])
        assert result.errors == []
        assert {f.check for f in result.findings} == {"schema.no_primary_key"}
        rows = pg_server.execute_admin(
            "SELECT s.calls FROM pg_stat_statements AS s JOIN pg_database AS d ON d.oid = s.dbid "
            "WHERE d.datname = ? AND s.query LIKE '%format_type(a.atttypid, a.atttypmod)%'",
            "postgres", params=[erp.database])
        assert [r[0] for r in rows] == [1]


def test_every_listed_mariadb_catalog_is_read_and_named(mariadb_server, tmp_path):
    keyed = mariadb_server.create_database(f"l4t_cf1_{uuid.uuid4().hex[:8]}")
    try:
        mariadb_server.execute_admin("CREATE TABLE order_rows (id int PRIMARY KEY)", keyed)
        grant_monitor(mariadb_server, keyed)
        with planted(mariadb_server, ["CREATE TABLE order_rows (id int)"], tmp_path) as erp:
            path = tmp_path / "two.toml"
            path.write_text(config_text(mariadb_server, [erp.database, keyed], tmp_path / "state"))
            path.chmod(0o600)
            result = run_diagnostics(load_config(str(path)), ["schema.no_primary_key"])
            assert result.errors == []
            assert [f.object for f in result.findings] == [erp.database]
            assert [t["object"] for t in result.findings[0].evidence["tables"]] == [f"{erp.database}.order_rows"]
    finally:
        mariadb_server.drop_database(keyed)


def test_every_listed_postgresql_catalog_is_read_over_its_own_connection(pg_server, tmp_path):
    keyed = pg_server.create_database(f"l4t_cf1_{uuid.uuid4().hex[:8]}")
    try:
        pg_server.execute_admin("CREATE TABLE order_rows (id int PRIMARY KEY)", keyed)
        with planted(pg_server, ["CREATE TABLE order_rows (id int)"], tmp_path) as erp:
            path = tmp_path / "two.toml"
            path.write_text(config_text(pg_server, [erp.database, keyed], tmp_path / "state"))
            path.chmod(0o600)
            result = run_diagnostics(load_config(str(path)), ["schema.no_primary_key"])
            assert result.errors == []
            assert [f.object for f in result.findings] == [erp.database]
            assert [t["object"] for t in result.findings[0].evidence["tables"]] == [
                f"{erp.database}.public.order_rows"]
    finally:
        pg_server.drop_database(keyed)


def test_a_target_without_a_catalog_is_one_clear_error_per_check(mariadb_server, write_config, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV["mysql"], mariadb_server.monitor_password)
    path = write_config(f"""
        [[databases]]
        name = "nodb"
        engine = "mysql"
        dsn = "{mariadb_server.agent_dsn()}"
        password_env = "{PASSWORD_ENV['mysql']}"
        """)
    result = run_diagnostics(load_config(path), ["schema"])
    assert result.findings == []
    assert len(result.errors) == SCHEMA_CHECKS
    assert {e["error"] for e in result.errors} == {
        "target 'nodb' names no database in its dsn: list the catalogs to diagnose under databases = [...]"}
