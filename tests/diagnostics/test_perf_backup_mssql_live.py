"""The SQL Server perf.* and backup.* checks against a real server (opt-in: ``-m mssql_live``
with ``L4_MSSQL_DSN`` set, the DSN without a password, which comes from ``L4_MSSQL_PASSWORD``).

Every statement must run under the monitoring login (VIEW SERVER STATE, VIEW DATABASE STATE
or VIEW ANY DATABASE, and SELECT on msdb.dbo.backupset: see the README's "Database grants"),
and every finding must be well formed."""

from __future__ import annotations

import os

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.diagnostics.registry import all_checks
from l4agent.diagnostics.runner import run_diagnostics

pytestmark = [
    pytest.mark.mssql_live,
    pytest.mark.skipif(not os.environ.get("L4_MSSQL_DSN"), reason="set L4_MSSQL_DSN to run against SQL Server"),
]

CHECKS = tuple(c.id for c in all_checks() if c.id.startswith(("perf.", "backup.")) and "mssql" in c.engines)


def test_sql_server_perf_and_backup_checks_run_cleanly(tmp_path):
    target = {"name": "live", "engine": "mssql", "dsn": os.environ["L4_MSSQL_DSN"], "backup_dirs": [str(tmp_path)]}
    if os.environ.get("L4_MSSQL_PASSWORD"):
        target["password_env"] = "L4_MSSQL_PASSWORD"
    # Low floors, so that even a quiet server exercises the result handling.
    options = {"perf.top_query": {"min_total_seconds": 0.0, "min_reads": 0},
               "perf.unused_index": {"min_stats_age": "0s", "min_index_bytes": 0},
               "perf.wait_stats": {"min_share": 0.0}}
    result = run_diagnostics(parse_config({"databases": [target], "diagnostics": options}, "live.toml"), CHECKS,
                             host="testhost")
    assert result.errors == []
    assert any(f.check == "perf.wait_stats" for f in result.findings)  # every server waits on something
    assert any(f.check == "backup.dir_stale" and f.object == str(tmp_path) for f in result.findings)  # empty folder
    for finding in result.findings:
        assert finding.check in CHECKS and finding.object and finding.summary and finding.recommendation
