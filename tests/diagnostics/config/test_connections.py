"""config.connections: MariaDB with max_connections lowered to 10 while 9 sessions are open, and
PostgreSQL with 40 of its 47 usable connections open, are reported; the same servers with the
sessions closed (and MariaDB's high-water mark reset) are the clean twins. SQL Server on rows."""

from __future__ import annotations

import contextlib

from tests.diagnostics.checkrun import db_config, findings_of, run_check, run_mssql

CHECK = "config.connections"


def test_mariadb_peak_near_the_limit(mariadb_server):
    mariadb_server.execute_admin("FLUSH STATUS")
    assert findings_of(run_check(CHECK, db_config(mariadb_server, None))) == []
    mariadb_server.execute_admin("SET GLOBAL max_connections = 10")
    try:
        with contextlib.ExitStack() as stack:
            for _ in range(8):
                stack.enter_context(contextlib.closing(mariadb_server.admin_connect()))
            [finding] = findings_of(run_check(CHECK, db_config(mariadb_server, None)))
    finally:
        mariadb_server.execute_admin(["SET GLOBAL max_connections = 50", "FLUSH STATUS"])
    assert (finding.object, finding.severity) == ("max_connections", "warning")
    assert finding.evidence["max_connections"] == 10 and finding.evidence["used"] >= 9
    assert findings_of(run_check(CHECK, db_config(mariadb_server, None))) == []


def test_postgresql_connections_now(pg_server):
    assert findings_of(run_check(CHECK, db_config(pg_server, "postgres"))) == []
    with contextlib.ExitStack() as stack:
        for _ in range(40):
            stack.enter_context(contextlib.closing(pg_server.admin_connect()))
        [finding] = findings_of(run_check(CHECK, db_config(pg_server, "postgres")))
    assert (finding.object, finding.severity) == ("max_connections", "warning")
    assert finding.evidence["max_connections"] == 47 and finding.evidence["used"] >= 40


def test_mssql_rows():
    rows = {"connections": [{"max_connections": 500, "used": 490, "connected": 490}]}
    assert [(f.object, f.severity) for f in run_mssql(CHECK, rows)[0]] == [("user connections", "critical")]
    rows = {"connections": [{"max_connections": 32767, "used": 490, "connected": 490}]}
    assert run_mssql(CHECK, rows)[0] == []
