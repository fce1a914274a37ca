"""perf.blocking: a chain held by one admin session (A holds a row lock, B waits on A, C waits
behind B) is one finding naming A as head blocker; sessions working on other rows, and an idle
transaction nobody waits for, are not reported."""

from __future__ import annotations

import contextlib
import time

from l4agent.diagnostics.perf.blocking import Session, chains
from tests.diagnostics.checkrun import Background, db_config, findings_of, run_check, run_mssql

OPTIONS = {"perf.blocking": {"min_wait_seconds": 0.5}}


def _sessions(server, database, count):
    return [server.admin_connect(database, autocommit=False) for _ in range(count)]


def _pid(conn, engine):
    sql = "SELECT pg_backend_pid()" if engine == "postgresql" else "SELECT CONNECTION_ID()"
    return str(conn.cursor().execute(sql).fetchone()[0])


def _plant_chain(server, database, create, update):
    server.execute_admin(create, database)
    a, b, c, d, e = _sessions(server, database, 5)
    with contextlib.ExitStack() as stack:
        for conn in (a, b, c, d, e):
            stack.callback(conn.close)
        head, waiter, second_waiter, other, idle = (_pid(x, server.engine) for x in (a, b, c, d, e))
        for conn in (a, b, c, d, e):
            conn.commit()  # _pid's SELECT opened a transaction on MariaDB; start clean
        a.cursor().execute(update.format(id=1))  # A holds row 1
        e.cursor().execute(update.format(id=3))  # E holds row 3, nobody waits for it
        b_job = Background(lambda: b.cursor().execute(update.format(id=1)))  # B waits on A
        time.sleep(0.3)
        c_job = Background(lambda: c.cursor().execute(update.format(id=1)))  # C waits behind A and B
        d.cursor().execute(update.format(id=2))  # D works on another row: no wait
        try:
            time.sleep(1.0)
            config = db_config(server, None if server.engine == "mysql" else database, databases=[database],
                               diagnostics=OPTIONS)
            findings = findings_of(run_check("perf.blocking", config))
            # the victims wait longer than perf.long_running's limit here: still reported once,
            # in the chain, not again as long-running statements (issue 15)
            long_config = db_config(server, None if server.engine == "mysql" else database, databases=[database],
                                    diagnostics={"perf.long_running": {"min_seconds": 0.5}})
            long_running = findings_of(run_check("perf.long_running", long_config))
        finally:  # release the chain link by link, whatever the check did
            for conn in (a, e, d):
                conn.rollback()
            b_job.join()
            b.rollback()
            c_job.join()
            c.rollback()
    victims = {waiter, second_waiter}
    assert not [f.object for f in long_running if f.object.rsplit(":", 1)[-1] in victims], \
        [(f.object, f.summary) for f in long_running]
    return findings, head, victims, other, idle


def test_postgresql_chain_reports_head_blocker_only(pg_server, pg_db):
    findings, head, waiters, other, idle = _plant_chain(
        pg_server, pg_db, ["CREATE TABLE stock (id int PRIMARY KEY, qty int)",
                           "INSERT INTO stock SELECT g, 0 FROM generate_series(1, 3) g"],
        "UPDATE stock SET qty = qty + 1 WHERE id = {id}")
    assert [f.object for f in findings] == [f"{pg_db}.session:{head}"]
    finding = findings[0]
    assert {b["session"] for b in finding.evidence["blocked"]} == waiters
    assert finding.evidence["head_blocker"]["state"] == "idle in transaction"
    assert "UPDATE stock" in finding.evidence["head_blocker"]["query"]
    assert f"pg_terminate_backend({head})" in finding.recommendation
    assert other not in str(finding.evidence) and idle not in {b["session"] for b in finding.evidence["blocked"]}


def test_mariadb_chain_reports_head_blocker_only(mariadb_server, mariadb_db):
    findings, head, waiters, other, idle = _plant_chain(
        mariadb_server, mariadb_db, ["CREATE TABLE stock (id int PRIMARY KEY, qty int) ENGINE=InnoDB",
                                     "INSERT INTO stock VALUES (1, 0), (2, 0), (3, 0)"],
        "UPDATE stock SET qty = qty + 1 WHERE id = {id}")
    assert [f.object for f in findings] == [f"{mariadb_db}.session:{head}"]
    assert {b["session"] for b in findings[0].evidence["blocked"]} == waiters
    assert f"KILL {head};" in findings[0].recommendation


def test_chains_follow_waits_to_the_head_and_survive_cycles():
    sessions = {"2": Session("2", {"1"}, 40.0), "3": Session("3", {"2"}, 10.0), "7": Session("7", {"8"}, 5.0),
                "8": Session("8", {"7"}, 6.0)}
    found = {c.head.id: sorted(s.id for s in c.blocked) for c in chains(sessions)}
    assert found == {"1": ["2", "3"], "7": ["8"]}


# -- SQL Server: rows shaped like sys.dm_exec_sessions + sys.dm_exec_requests -----------------

def _row(session_id, blocking=None, wait_ms=None, status="running", text="UPDATE STOCK SET QTY = QTY + 1"):
    waiting = blocking is not None
    return {"session_id": session_id, "blocking_session_id": blocking, "wait_type": "LCK_M_X" if waiting else None,
            "wait_time": wait_ms, "wait_resource": "KEY: 5:72057594043105280 (8194443284a0)" if waiting else None,
            "command": "UPDATE" if waiting else None, "database_name": "erp", "login_name": "erp_app",
            "host_name": "app1", "program_name": "Lucee", "status": status, "open_transaction_count": 1,
            "last_request_start_time": "2026-11-22 06:59:00", "sql_text": text}


def test_mssql_chain_with_long_wait_is_critical_and_short_waits_are_ignored():
    rows = [_row(51, status="sleeping"), _row(52, 51, 400_000), _row(53, 52, 390_000),
            _row(60), _row(61, 60, 200)]  # 61 waited 0.2s on 60: below the limit
    findings, _ = run_mssql("perf.blocking", {"sessions": rows}, diagnostics={"perf.blocking": {"min_wait_seconds": 5.0}})
    assert [f.object for f in findings] == ["erp.session:51"]
    assert findings[0].severity == "critical"
    assert findings[0].evidence["longest_wait_seconds"] == 400.0
    assert {b["session"] for b in findings[0].evidence["blocked"]} == {"52", "53"}
    assert "KILL 51;" in findings[0].recommendation


def _system_row(session_id, code, wait_ms, database="erp"):
    return {"session_id": session_id, "blocking_session_id": code, "wait_type": "LCK_M_S", "wait_time": wait_ms,
            "wait_resource": "OBJECT: 5:1977058079:0", "command": "SELECT", "database_name": database,
            "login_name": "erp_app", "host_name": "app1", "program_name": "Lucee"}


def test_mssql_blocked_means_a_lock_wait_on_a_real_session():
    """Issue 16 item 6. Before: `blocking_session_id <> 0` counted -2..-5 (no session) as blocking."""
    import sqlglot

    from l4agent.collectors.database.mssql import SESSIONS
    from l4agent.diagnostics.perf.blocking import MSSQL_SESSIONS

    for sql in (MSSQL_SESSIONS, SESSIONS):
        text = sqlglot.parse_one(sql, read="tsql").sql(dialect="tsql")
        assert "r.blocking_session_id > 0" in text and "r.wait_type LIKE N'LCK[_]%'" in text
        assert "blocking_session_id <> 0" not in text


def test_mssql_negative_blockers_are_shown_apart_and_never_killed():
    """-2 (orphaned DTC) is its own finding with KILL '<UOW>', -5 is info; no KILL -2."""
    system = [_system_row(70, -2, 120_000), _system_row(71, -2, 90_000), _system_row(72, -5, 60_000)]
    findings, db = run_mssql("perf.blocking", {"sessions": [], "system_blocked": system},
                             diagnostics={"perf.blocking": {"min_wait_seconds": 5.0}})
    assert [(f.object, f.severity) for f in findings] == [("blocker:-2", "warning"), ("blocker:-5", "info")]
    orphan = findings[0]
    assert "orphaned distributed transaction" in orphan.summary and len(orphan.evidence["waiting"]) == 2
    assert "KILL '<that request_owner_guid>'" in orphan.recommendation
    assert all("KILL -" not in f.recommendation for f in findings)
    assert [c[0] for c in db.calls] == ["sessions", "system_blocked"]


def test_mssql_head_in_msdb_blocking_erp_sessions_is_reported():
    """Issue 16 item 12. Before: chains were scoped by the head's database, so an Agent job in msdb
    blocking the ERP's sessions was dropped."""
    head = {**_row(51, status="sleeping"), "database_name": "msdb", "program_name": "SQLAgent - TSQL JobStep"}
    rows = [head, _row(52, 51, 400_000), _row(53, 52, 390_000)]
    findings, _ = run_mssql("perf.blocking", {"sessions": rows}, diagnostics={"perf.blocking": {"min_wait_seconds": 5.0}},
                            databases=["erp"])
    assert [f.object for f in findings] == ["erp.session:51"]
    assert "its session is in msdb" in findings[0].summary
    assert findings[0].evidence["head_blocker"]["catalog"] == "msdb"
    assert findings[0].evidence["blocked_catalogs"] == ["erp"]


def test_mssql_chain_holding_up_only_other_catalogs_is_out_of_scope():
    rows = [{**_row(51, status="sleeping"), "database_name": "erp"},
            {**_row(52, 51, 400_000), "database_name": "other_app"}]
    findings, _ = run_mssql("perf.blocking", {"sessions": rows}, diagnostics={"perf.blocking": {"min_wait_seconds": 5.0}},
                            databases=["erp"])
    assert findings == []
