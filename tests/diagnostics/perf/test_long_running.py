"""perf.long_running: a sleep running past the limit is reported, one started just now is not;
an idle session holding a transaction is reported, an idle one without a transaction is not."""

from __future__ import annotations

import contextlib
import time

import pytest

from tests.diagnostics.checkrun import Background, db_config, findings_of, run_check, run_mssql

OPTIONS = {"perf.long_running": {"min_seconds": 1.0, "idle_in_transaction_seconds": 1.0}}
SLEEP = {"postgresql": "SELECT pg_sleep(30)", "mysql": "SELECT SLEEP(30)"}
PID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
CANCEL = {"postgresql": "SELECT pg_cancel_backend({pid})", "mysql": "KILL QUERY {pid}"}


# A statement that leaves the session inside a transaction (InnoDB starts one at the first row touched).
HOLD = {"postgresql": "CREATE TEMP TABLE held (id int)", "mysql": "UPDATE t SET id = 2 WHERE id = 1"}


def _plant(server, database):
    """Four admin sessions: a sleep running past the limit, one started just before the check,
    an idle session inside a transaction, an idle one without. Returns (findings, their ids)."""
    long_, short, in_tx, idle = (server.admin_connect(database) for _ in range(4))
    with contextlib.ExitStack() as stack:
        for conn in (long_, short, in_tx, idle):
            stack.callback(conn.close)
        pids = [str(conn.cursor().execute(PID[server.engine]).fetchone()[0]) for conn in (long_, short, in_tx, idle)]
        in_tx.autocommit = False
        in_tx.cursor().execute(HOLD[server.engine])
        jobs = [Background(lambda: long_.cursor().execute(SLEEP[server.engine]).fetchall())]
        try:
            time.sleep(1.5)
            jobs.append(Background(lambda: short.cursor().execute(SLEEP[server.engine]).fetchall()))
            time.sleep(0.2)
            config = db_config(server, None if server.engine == "mysql" else database, databases=[database],
                               diagnostics=OPTIONS)
            findings = findings_of(run_check("perf.long_running", config))
        finally:
            for pid in pids[:2]:
                server.execute_admin(CANCEL[server.engine].format(pid=pid))
            for job in jobs:
                job.join(expect_error=True)
            in_tx.rollback()
    return findings, pids


def _by_session(findings):
    return {f.evidence["session"]: f for f in findings}


def test_postgresql_long_statement_and_idle_transaction(pg_server, pg_db):
    findings, (long_pid, short_pid, tx_pid, idle_pid) = _plant(pg_server, pg_db)
    found = _by_session(findings)
    assert set(found) == {long_pid, tx_pid}, [f.summary for f in findings]
    assert found[long_pid].object == f"{pg_db}.session:{long_pid}"
    assert found[long_pid].evidence["running_seconds"] >= 1.5
    assert "pg_sleep" in found[long_pid].evidence["query"]
    assert "transaction open and idle" in found[tx_pid].summary
    assert f"pg_terminate_backend({tx_pid})" in found[tx_pid].recommendation


def test_mariadb_long_statement_and_idle_transaction(mariadb_server, mariadb_db):
    mariadb_server.execute_admin(["CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)"], mariadb_db)
    findings, (long_pid, short_pid, tx_pid, idle_pid) = _plant(mariadb_server, mariadb_db)
    found = _by_session(findings)
    assert set(found) == {long_pid, tx_pid}, [f.summary for f in findings]
    assert found[long_pid].object == f"{mariadb_db}.session:{long_pid}"
    assert "SLEEP" in found[long_pid].evidence["query"].upper()
    assert found[tx_pid].evidence["trx_rows_modified"] >= 1


# -- SQL Server: rows shaped like sys.dm_exec_requests / sys.dm_exec_sessions -----------------

def test_mssql_running_request_and_idle_transaction():
    running = [{"session_id": 77, "database_name": "erp", "login_name": "erp_app", "host_name": "app1",
                "program_name": "Lucee", "status": "running", "command": "SELECT", "wait_type": "PAGEIOLATCH_SH",
                "start_time": "2026-11-22 05:00:00", "elapsed_ms": 7_300_000, "cpu_time": 2_000_000,
                "logical_reads": 90_000_000, "blocking_session_id": 0, "sql_text": "SELECT * FROM ORDER_ROWS"},
               # a victim waiting on session 80's lock: perf.blocking's, not reported here
               {"session_id": 78, "database_name": "erp", "login_name": "erp_app", "host_name": "app1",
                "program_name": "Lucee", "status": "suspended", "command": "UPDATE", "wait_type": "LCK_M_X",
                "start_time": "2026-11-22 05:00:00", "elapsed_ms": 7_000_000, "cpu_time": 10,
                "logical_reads": 10, "blocking_session_id": 80, "sql_text": "UPDATE STOCK SET QTY = 1"}]
    idle = [{"session_id": 80, "database_name": "erp", "login_name": "erp_app", "host_name": "app2",
             "program_name": "Lucee", "status": "sleeping", "open_transaction_count": 1,
             "last_request_end_time": "2026-11-22 06:00:00", "idle_seconds": 3600, "sql_text": "UPDATE STOCK ..."}]
    findings, db = run_mssql("perf.long_running", {"running": running, "idle_in_transaction": idle})
    assert db.calls[0] == ("running", (300_000.0,), None)  # the 300 s default, in ms
    found = {f.object: f for f in findings}
    assert set(found) == {"erp.session:77", "erp.session:80"}
    assert found["erp.session:77"].severity == "critical"  # 7,300 s > 3,600 s
    assert found["erp.session:77"].evidence["running_seconds"] == 7300.0
    assert "KILL 80;" in found["erp.session:80"].recommendation


def test_mssql_request_running_for_30_days_is_not_negative():
    """Issue 16 item 13. Before: total_elapsed_time (int ms) wrapped negative after ~24.8 days and a
    month-long request was never reported; the elapsed time now comes from start_time via DATEDIFF_BIG."""
    import sqlglot

    from l4agent.diagnostics.perf.long_running import MSSQL_RUNNING

    tree = sqlglot.parse_one(MSSQL_RUNNING, read="tsql")
    assert "total_elapsed_time" not in {c.name for c in tree.find_all(sqlglot.exp.Column)}
    assert "AND DATEDIFF_BIG(MILLISECOND, r.start_time, GETDATE()) >= ?" in " ".join(MSSQL_RUNNING.split())
    month = 30 * 86_400_000  # > 2**31 ms
    running = [{"session_id": 77, "database_name": "erp", "login_name": "erp_app", "host_name": "app1",
                "program_name": "Lucee", "status": "running", "command": "SELECT", "wait_type": None,
                "start_time": "2026-11-02 05:00:00", "elapsed_ms": month, "cpu_time": 2_000_000,
                "logical_reads": 1, "blocking_session_id": 0, "sql_text": "SELECT 1"}]
    findings, _ = run_mssql("perf.long_running", {"running": running, "idle_in_transaction": []})
    assert [f.evidence["running_seconds"] for f in findings] == [month / 1000]


def test_mssql_idle_transaction_ignores_sessions_with_no_finished_request():
    """last_request_end_time = 1900-01-01 (no request finished yet): DATEDIFF(SECOND, ...) on it
    overflows (error 535). The statement leaves those sessions out and uses DATEDIFF_BIG."""
    import sqlglot

    from l4agent.diagnostics.perf.long_running import MSSQL_IDLE_IN_TRANSACTION

    sqlglot.parse_one(MSSQL_IDLE_IN_TRANSACTION, read="tsql")
    text = " ".join(MSSQL_IDLE_IN_TRANSACTION.split())
    assert "s.last_request_end_time > '19000101'" in text
    assert "DATEDIFF_BIG(SECOND, s.last_request_end_time, GETDATE())" in text


@pytest.mark.parametrize("module", ["collectors.database.mssql", "diagnostics.perf.long_running",
                                    "diagnostics.perf.stale_statistics", "diagnostics.perf.wait_stats",
                                    "diagnostics.perf.unused_index"])
def test_no_int_datediff_in_seconds_or_ms(module):
    import importlib
    import re

    source = importlib.import_module(f"l4agent.{module}").__file__
    text = open(source).read()
    assert not re.search(r"DATEDIFF\((SECOND|MILLISECOND)", text, re.I), module


def test_mssql_long_request_blocked_by_a_latch_is_long_runnings_not_blockings():
    """perf.blocking takes only LCK waits on a session and the negative blockers (issue 16 item 6);
    a long request held up by a page latch of session 90 stays perf.long_running's."""
    running = [{"session_id": 79, "database_name": "erp", "login_name": "erp_app", "host_name": "app1",
                "program_name": "Lucee", "status": "suspended", "command": "INSERT", "wait_type": "PAGELATCH_EX",
                "start_time": "2026-11-22 05:00:00", "elapsed_ms": 900_000, "cpu_time": 10, "logical_reads": 10,
                "blocking_session_id": 90, "sql_text": "INSERT INTO LOG_ROWS ..."}]
    findings, _ = run_mssql("perf.long_running", {"running": running, "idle_in_transaction": []})
    assert [f.object for f in findings] == ["erp.session:79"]
