"""The SQL Server security checks against a real server (opt-in: ``-m mssql_live`` with
``L4_MSSQL_DSN`` set, the DSN without a password, which comes from ``L4_MSSQL_PASSWORD``).

Every check must run without an error and every finding must carry a fixing statement; the
monitoring login needs VIEW SERVER STATE and VIEW ANY DEFINITION (see the README)."""

from __future__ import annotations

import os

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.diagnostics.runner import run_diagnostics

pytestmark = [
    pytest.mark.mssql_live,
    pytest.mark.skipif(not os.environ.get("L4_MSSQL_DSN"), reason="set L4_MSSQL_DSN to run against SQL Server"),
]

MSSQL_CHECKS = ("security.sa_enabled", "security.weak_login", "security.sysadmin_members", "security.xp_cmdshell",
                "security.trustworthy_database", "security.unencrypted_connections", "security.guest_access")


def test_sql_server_security_checks_run_cleanly():
    target = {"name": "live", "engine": "mssql", "dsn": os.environ["L4_MSSQL_DSN"]}
    if os.environ.get("L4_MSSQL_PASSWORD"):
        target["password_env"] = "L4_MSSQL_PASSWORD"
    result = run_diagnostics(parse_config({"databases": [target]}, "live.toml"), MSSQL_CHECKS, host="testhost")
    assert result.errors == []
    assert {f.check for f in result.findings} <= set(MSSQL_CHECKS)
    for finding in result.findings:
        assert finding.object and finding.recommendation
        if finding.severity != "info":
            assert "`" in finding.recommendation  # names the statement or setting that fixes it
