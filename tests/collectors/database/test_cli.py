"""End to end: ``l4agent collect`` against both live servers, as an operator runs it.

The passwords reach the agent only through ``password_env``; they must appear nowhere in what
it prints. Faulty targets each give exactly one error line, and the healthy ones still report.
"""

from __future__ import annotations

import json

import pytest

from tests.collectors.database.targets import PASSWORD_ENV, closed_port, toml_target
from tests.collectors.database.test_collector import EVERY_DATABASE_METRIC
from tests.support.dbservers import new_password
from tests.support.leakcheck import register_test_secret

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def both_servers(pg_server, mariadb_server, tmp_path, write_config):
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "erp.bak").write_bytes(b"backup")
    extra = f'backup_dirs = ["{backups}"]'
    config = write_config(toml_target(pg_server, "erp_pg", extra=extra) + toml_target(mariadb_server, "erp_maria",
                                                                                      extra=extra))
    env = {PASSWORD_ENV["postgresql"]: pg_server.monitor_password,
           PASSWORD_ENV["mysql"]: mariadb_server.monitor_password}
    return config, env, (pg_server.monitor_password, mariadb_server.monitor_password)


def assert_no_secret(result, passwords) -> None:
    for password in passwords:
        assert password not in result.stdout
        assert password not in result.stderr


def test_collect_table_shows_every_database_metric(run_cli, both_servers):
    config, env, passwords = both_servers
    result = run_cli("collect", "-c", config, "--format", "table", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    section = result.stdout.split("== database ==")[1].split("== ")[0]
    for target in ("erp_pg", "erp_maria"):
        lines = [line for line in section.splitlines() if f"database={target}" in line]
        shown = {line.split()[0] for line in lines}
        assert {m.removeprefix("l4agent_") for m in EVERY_DATABASE_METRIC} <= shown, target
    assert "no errors" in result.stdout
    assert_no_secret(result, passwords)


def test_collect_json_has_every_database_metric(run_cli, both_servers):
    config, env, passwords = both_servers
    result = run_cli("collect", "-c", config, "--format", "json", "--collector", "database", env=env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["errors"] == []
    for target, engine in (("erp_pg", "postgresql"), ("erp_maria", "mysql")):
        names = {s["name"] for s in document["samples"] if s["labels"].get("database") == target}
        assert set(EVERY_DATABASE_METRIC) <= names, target
        [up] = [s for s in document["samples"] if s["name"] == "l4agent_database_up"
                and s["labels"] == {"database": target, "engine": engine}]
        assert up["value"] == 1
    assert_no_secret(result, passwords)


def test_collect_prom_is_valid_exposition(run_cli, both_servers):
    from tests.support.promtools import promtool_check_metrics

    config, env, passwords = both_servers
    result = run_cli("collect", "-c", config, "--format", "prom", "--collector", "database", env=env)
    assert result.returncode == 0, result.stderr
    assert "# TYPE l4agent_database_deadlocks_total counter" in result.stdout
    assert "# TYPE l4agent_database_size_bytes gauge" in result.stdout
    assert promtool_check_metrics(result.stdout) == ""
    assert_no_secret(result, passwords)


def test_faulty_targets_one_line_each_and_the_rest_reports(run_cli, pg_server, mariadb_server, write_config):
    wrong = register_test_secret("wrong-" + new_password())
    refused_port = closed_port()
    refused_dsn = mariadb_server.agent_dsn().replace(f"PORT={mariadb_server.port}", f"PORT={refused_port}")
    no_driver_dsn = pg_server.agent_dsn().replace("PostgreSQL Unicode", "PostgreSQL Nope")
    config = write_config(
        toml_target(pg_server, "healthy_pg")
        + toml_target(mariadb_server, "healthy_maria")
        + f'[[databases]]\nname = "wrong_password"\nengine = "postgresql"\ndsn = "{pg_server.agent_dsn()}"\n'
          'password_env = "L4_TEST_WRONG"\n'
        + f'[[databases]]\nname = "stopped"\nengine = "mysql"\ndsn = "{refused_dsn}"\n'
          f'password_env = "{PASSWORD_ENV["mysql"]}"\n'
        + f'[[databases]]\nname = "no_driver"\nengine = "postgresql"\ndsn = "{no_driver_dsn}"\n'
          f'password_env = "{PASSWORD_ENV["postgresql"]}"\n'
    )
    env = {PASSWORD_ENV["postgresql"]: pg_server.monitor_password,
           PASSWORD_ENV["mysql"]: mariadb_server.monitor_password, "L4_TEST_WRONG": wrong}
    passwords = (pg_server.monitor_password, mariadb_server.monitor_password, wrong)

    result = run_cli("collect", "-c", config, "--format", "json", env=env)
    assert result.returncode == 3
    document = json.loads(result.stdout)
    assert sorted(document["errors"], key=lambda e: e["target"]) == [
        {"collector": "database", "target": "no_driver",
         "error": "database 'no_driver': ODBC driver 'PostgreSQL Nope' is not installed; install the Debian package "
                  "odbc-postgresql (odbcinst -q -d lists the installed drivers)"},
        {"collector": "database", "target": "stopped",
         "error": f"database 'stopped': cannot reach 127.0.0.1:{refused_port}: connection refused"},
        {"collector": "database", "target": "wrong_password",
         "error": "database 'wrong_password': login failed for user 'l4monitor' (wrong password or no access)"},
    ]
    # Exactly one line per fault on stderr, and nothing else.
    assert sorted(result.stderr.splitlines()) == sorted(f"error: database {e['target']}: {e['error']}"
                                                        for e in document["errors"])
    ups = {s["labels"]["database"]: s["value"] for s in document["samples"] if s["name"] == "l4agent_database_up"}
    assert ups == {"healthy_pg": 1, "healthy_maria": 1, "wrong_password": 0, "stopped": 0, "no_driver": 0}
    for healthy in ("healthy_pg", "healthy_maria"):
        names = {s["name"] for s in document["samples"] if s["labels"].get("database") == healthy}
        assert set(EVERY_DATABASE_METRIC) - {"l4agent_backup_age_seconds"} <= names
    assert any(s["name"] == "l4agent_cpu_seconds_total" for s in document["samples"])  # other collectors too
    assert_no_secret(result, passwords)

    table = run_cli("collect", "-c", config, "--format", "table", env=env)
    assert table.returncode == 3
    assert "== errors (3) ==" in table.stdout
    assert len(table.stderr.splitlines()) == 3
    assert_no_secret(table, passwords)
