"""replication.broken on real replica pairs: a stopped IO thread, a SQL thread stopped by a
duplicate key, a standby whose streaming was paused; the running replica, the primary (not a
replica) and the streaming standby are the clean twins. A login without SLAVE MONITOR is
"not examined (grant)". SQL Server on dm_hadr_database_replica_states-shaped rows."""

from __future__ import annotations

from tests.diagnostics.checkrun import db_config, findings_of, run_check, run_mssql
from tests.diagnostics.signal_support import examined, mariadb_revoked, not_examined
from tests.support import replicas as r
from tests.support.signal_plants import BAD

CHECK = "replication.broken"


def test_mariadb_stopped_io_thread_beside_running_replica(mariadb_signals):
    replica = mariadb_signals.replica
    running = run_check(CHECK, db_config(replica, None))
    assert findings_of(running) == [] and examined(running)[(None, "replication sources")] == 1
    r.mariadb_stop_io_thread(replica)
    try:
        [finding] = findings_of(run_check(CHECK, db_config(replica, None)))
    finally:
        r.mariadb_start_io_thread(replica)
    assert (finding.object, finding.severity) == ("replication source default", "critical")
    assert "IO thread No (no error: stopped by hand)" in finding.summary
    assert findings_of(run_check(CHECK, db_config(replica, None))) == []


def test_mariadb_sql_thread_stopped_by_an_error(mariadb_signals):
    pair = mariadb_signals
    r.mariadb_break_sql_thread(pair.primary, pair.replica, BAD, "l4_dup_check")
    try:
        [finding] = findings_of(run_check(CHECK, db_config(pair.replica, None)))
    finally:
        r.mariadb_repair_sql_thread(pair.replica, BAD, "l4_dup_check")
    assert "SQL thread No (error 1062: " in finding.summary and "Duplicate entry" in finding.summary
    assert "data conflict" in finding.recommendation
    assert finding.evidence["threads"] == [{"thread": "SQL", "state": "No", "errno": 1062,
                                            "error": finding.evidence["threads"][0]["error"]}]


def test_mariadb_primary_is_no_replica(mariadb_signals):
    result = run_check(CHECK, db_config(mariadb_signals.primary, None))
    assert findings_of(result) == [] and examined(result)[(None, "replication sources")] == 0


def test_mariadb_without_slave_monitor_is_not_examined_never_not_a_replica(mariadb_signals):
    with mariadb_revoked(mariadb_signals.replica, "SLAVE MONITOR"):
        result = run_check(CHECK, db_config(mariadb_signals.replica, None))
    assert result.findings == []
    [(catalog, what, why)] = not_examined(result)
    assert what == CHECK and why.startswith("not examined (grant): needs SLAVE MONITOR")
    assert [e["check"] for e in result.errors] == [CHECK]


def test_postgresql_standby_not_streaming(pg_signals):
    standby = pg_signals.standby
    assert findings_of(run_check(CHECK, db_config(standby, "postgres"))) == []
    assert findings_of(run_check(CHECK, db_config(pg_signals.primary, "postgres"))) == []
    r.pg_pause_streaming(standby)
    try:
        [finding] = findings_of(run_check(CHECK, db_config(standby, "postgres")))
    finally:
        r.pg_resume_streaming(standby)
    assert (finding.object, finding.severity) == ("wal receiver", "critical")
    assert "no WAL receiver running; primary_conninfo is empty" in finding.summary


def ag_row(catalog, state, suspended=0, reason=None):
    return {"availability_group": "AG1", "replica": "SQL2", "catalog": catalog, "is_local": 0,
            "is_primary_replica": 0, "synchronization_state_desc": state,
            "synchronization_health_desc": "HEALTHY" if state == "SYNCHRONIZED" else "NOT_HEALTHY",
            "is_suspended": suspended, "suspend_reason_desc": reason}


def test_mssql_availability_group_rows():
    rows = {"ag_states": [ag_row("workcube_cf", "SYNCHRONIZED"), ag_row("workcube_cf_1", "NOT SYNCHRONIZING"),
                          ag_row("workcube_cf_2", "NOT SYNCHRONIZING", 1, "SUSPEND_FROM_USER")]}
    findings, _ = run_mssql(CHECK, rows)
    assert [(f.object, f.severity) for f in findings] == [("AG1/SQL2/workcube_cf_1", "critical"),
                                                          ("AG1/SQL2/workcube_cf_2", "critical")]
    assert "suspended (SUSPEND_FROM_USER)" in findings[1].summary
