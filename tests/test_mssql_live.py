"""Opt-in: every SQL Server check and the collector against a real server, through the CLI.

Run with ``L4_MSSQL_DSN='DRIVER={ODBC Driver 18 for SQL Server};SERVER=db1;UID=l4;Encrypt=yes;
TrustServerCertificate=yes' L4_MSSQL_PASSWORD=... scripts/test -m mssql_live``. The per-family
live tests beside each check go deeper; this one proves that nothing registered for mssql fails
to run on a real server (a missing grant is reported, not a crash).
"""

from __future__ import annotations

import json
import os

import pytest

from l4agent.diagnostics.registry import all_checks

pytestmark = [
    pytest.mark.mssql_live,
    pytest.mark.skipif(not os.environ.get("L4_MSSQL_DSN"), reason="set L4_MSSQL_DSN to run against SQL Server"),
]


@pytest.fixture
def mssql_config(write_config):
    password = 'password_env = "L4_MSSQL_PASSWORD"' if os.environ.get("L4_MSSQL_PASSWORD") else ""
    dsn = os.environ["L4_MSSQL_DSN"].replace("\\", "\\\\").replace('"', '\\"')
    return write_config(f"""
        [[databases]]
        name = "live"
        engine = "mssql"
        dsn = "{dsn}"
        {password}
    """)


def test_every_mssql_check_runs(run_cli, mssql_config):
    result = run_cli("diagnose", "-c", mssql_config, "--target", "live", "--format", "json", timeout=600)
    assert result.returncode in (0, 1), result.stderr
    data = json.loads(result.stdout)
    mssql_checks = {c.id for c in all_checks() if "mssql" in c.engines}
    crashed = [e for e in data["errors"] if e["check"] in mssql_checks and "permission" not in e["error"].lower()]
    assert crashed == []
    assert {f["check"] for f in data["findings"]} <= mssql_checks


def test_collector_reports_the_server(run_cli, mssql_config):
    result = run_cli("collect", "-c", mssql_config, "--collector", "database", "--format", "json")
    data = json.loads(result.stdout)
    up = [s for s in data["samples"] if s["name"] == "l4agent_database_up"]
    assert up and up[0]["value"] == 1, data["errors"]
