"""Issue 15: backups of PostgreSQL and MariaDB open work records under the default rules.

A real diagnostics run against the real servers, with a ``backup_dirs`` folder whose newest dump
is 3 days old (critical backup.dir_stale at the default 24h rpo), goes through the records
service exactly as ``serve`` hands it over: a record opens under the built-in rule, with no
``[[thresholds]]`` configured. The twin, a dump written an hour ago, opens nothing.
"""

from __future__ import annotations

import os
import time

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.agent.records.service import RecordsService
from l4agent.agent.records.store import Store, store_path
from l4agent.diagnostics.runner import run_diagnostics
from tests.diagnostics.checkrun import PASSWORD_ENV

DAY = 86400


def _dump(folder, name: str, age_seconds: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"-- dump\n" * 100)
    then = time.time() - age_seconds
    os.utime(path, (then, then))


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_a_three_day_old_dump_opens_a_record_under_the_default_rules(engine, request, tmp_path):
    server = request.getfixturevalue({"postgresql": "pg_server", "mysql": "mariadb_server"}[engine])
    stale, fresh = tmp_path / "stale", tmp_path / "fresh"
    _dump(stale, "erp-2026-12-01.sql.gz", 3 * DAY)
    _dump(fresh, "crm-2026-12-04.sql.gz", 3600)
    os.environ[PASSWORD_ENV[engine]] = server.monitor_password
    common = {"engine": engine, "dsn": server.agent_dsn(None if engine == "mysql" else "postgres"),
              "password_env": PASSWORD_ENV[engine], "query_timeout": "20s"}
    config = parse_config({
        "agent": {"state_dir": str(tmp_path / "state"), "hostname": "db1"},
        "databases": [{"name": "erp", **common, "backup_dirs": [str(stale)]},
                      {"name": "crm", **common, "backup_dirs": [str(fresh)]}],
    }, str(tmp_path / "l4agent.toml"))
    assert not config.thresholds  # nothing configured: the built-in rules only

    result = run_diagnostics(config, ["backup.dir_stale"])
    assert result.errors == []
    assert [(f.target, f.severity) for f in result.findings] == [("erp", "critical")]

    store = Store.open(store_path(str(tmp_path / "state")))
    try:
        RecordsService(config, "db1", store).on_findings(result)
        records = store.list_records()
        assert [(r.rule, r.target, r.object, r.status, r.severity) for r in records] == [
            ("backup-dir-stale", "erp", str(stale), "open", "critical")]
        assert "erp-2026-12-01.sql.gz" in records[0].problems[0]
    finally:
        store.close()
