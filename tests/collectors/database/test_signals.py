"""Issue-19 outage signals from the database collector, against real replica pairs on loopback
(tests/support/replica_fixtures.py) with defects planted beside clean twins
(tests/support/signal_plants.py). Every new metric appears with plausible values; a stopped
replica thread keeps its series (0), and the exposition passes ``promtool check metrics``."""

from __future__ import annotations

import pytest

from l4agent.exporters.prometheus import render
from tests.collectors.database.targets import target
from tests.collectors.database.test_collector import make_collector, running
from tests.support import replicas as r
from tests.support.promtools import promtool_check_metrics
from tests.support.signal_plants import BAD, GOOD, XID_BURN

pytestmark = pytest.mark.timeout(180)

PG_SIGNALS = ["l4agent_database_xid_age", "l4agent_database_multixact_age",
              "l4agent_database_replication_slot_retained_bytes", "l4agent_database_replication_slot_active",
              "l4agent_database_temp_bytes_total", "l4agent_database_checkpoints_total",
              "l4agent_database_wal_bytes_total", "l4agent_database_connections_max",
              "l4agent_database_identity_usage_ratio"]
MARIADB_SIGNALS = ["l4agent_database_replica_running", "l4agent_database_replica_last_error_info",
                   "l4agent_database_slow_queries_total", "l4agent_database_tmp_disk_tables_total",
                   "l4agent_database_innodb_history_length", "l4agent_database_connections_max",
                   "l4agent_database_identity_usage_ratio"]


def collect(server, name: str):
    with running(make_collector(target(server, name=name))) as runner:
        return runner.run_once()


def values(snapshot, metric: str, key: str) -> dict[str, float]:
    return {s.labels[key]: s.value for s in snapshot.find(metric)}


def test_postgresql_primary_and_standby(pg_signals):
    primary = collect(pg_signals.primary, "pg")
    assert primary.errors == []
    for metric in PG_SIGNALS:
        assert primary.find(metric, database="pg"), f"{metric} missing"
    xid = values(primary, "l4agent_database_xid_age", "catalog")
    assert xid[BAD] >= XID_BURN > 1000 > xid[GOOD]
    assert {"postgres", "template0", "template1"} <= set(xid)
    multixact = values(primary, "l4agent_database_multixact_age", "catalog")
    assert multixact[BAD] >= 20 and multixact[GOOD] == 0
    active = values(primary, "l4agent_database_replication_slot_active", "slot")
    assert active == {"standby1": 1, "stale_physical": 0, "stale_logical": 0}
    retained = values(primary, "l4agent_database_replication_slot_retained_bytes", "slot")
    assert retained["stale_physical"] > 8 << 20 > retained["standby1"]
    assert primary.value("l4agent_database_temp_bytes_total", database="pg") > 1 << 20
    kinds = values(primary, "l4agent_database_checkpoints_total", "kind")
    assert set(kinds) == {"timed", "requested"} and kinds["requested"] >= 1
    assert primary.value("l4agent_database_wal_bytes_total", database="pg") > 8 << 20
    usage = values(primary, "l4agent_database_identity_usage_ratio", "catalog")
    assert 0.93 < usage[BAD] < 0.94 and usage[GOOD] < 1e-6  # int4 limit, not the bigint sequence's
    assert promtool_check_metrics(render(primary.samples)) == ""

    standby = collect(pg_signals.standby, "standby")
    assert standby.errors == []
    assert values(standby, "l4agent_database_xid_age", "catalog")[BAD] >= XID_BURN  # replayed catalogs
    assert not standby.find("l4agent_database_replication_slot_active")  # slots live on the primary


def test_pg_wal_and_checkpoint_counters_move(pg_signals):
    before = collect(pg_signals.primary, "pg")
    pg_signals.primary.execute_admin("CHECKPOINT")
    r.pg_generate_wal(pg_signals.primary, 2)
    after = collect(pg_signals.primary, "pg")
    assert (after.value("l4agent_database_wal_bytes_total", database="pg")
            > before.value("l4agent_database_wal_bytes_total", database="pg") + (1 << 20))
    assert (after.value("l4agent_database_checkpoints_total", kind="requested")
            > before.value("l4agent_database_checkpoints_total", kind="requested"))


def test_mariadb_replica_series_stay_when_a_thread_stops(mariadb_signals):
    replica = mariadb_signals.replica
    running_now = collect(replica, "replica")
    assert running_now.errors == []
    for metric in MARIADB_SIGNALS:
        assert running_now.find(metric, database="replica"), f"{metric} missing"
    assert values(running_now, "l4agent_database_replica_running", "thread") == {"io": 1, "sql": 1}
    assert running_now.value("l4agent_database_replication_lag_seconds", database="replica") == 0
    r.mariadb_stop_io_thread(replica)
    try:
        stopped = collect(replica, "replica")
    finally:
        r.mariadb_start_io_thread(replica)
    assert values(stopped, "l4agent_database_replica_running", "thread") == {"io": 0, "sql": 1}
    assert not stopped.find("l4agent_database_replication_lag_seconds")  # unknown while stopped
    assert promtool_check_metrics(render(stopped.samples)) == ""


def test_mariadb_broken_sql_thread_reports_its_error(mariadb_signals):
    pair = mariadb_signals
    r.mariadb_break_sql_thread(pair.primary, pair.replica, BAD, "l4_dup_collect")
    try:
        broken = collect(pair.replica, "replica")
    finally:
        r.mariadb_repair_sql_thread(pair.replica, BAD, "l4_dup_collect")
    assert values(broken, "l4agent_database_replica_running", "thread") == {"io": 1, "sql": 0}
    [error] = broken.find("l4agent_database_replica_last_error_info", thread="sql")
    assert error.labels["errno"] == "1062" and "Duplicate entry" in error.labels["error"]
    [io_error] = broken.find("l4agent_database_replica_last_error_info", thread="io")
    assert io_error.labels["errno"] == "0" and io_error.labels["error"] == ""


def test_mariadb_primary_counters_and_identity(mariadb_signals):
    primary = mariadb_signals.primary
    snapshot = collect(primary, "primary")
    assert snapshot.errors == []
    assert not snapshot.find("l4agent_database_replica_running")  # not a replica: no series
    usage = values(snapshot, "l4agent_database_identity_usage_ratio", "catalog")
    assert 0.93 < usage[BAD] < 0.94 and usage[GOOD] < 1e-15
    assert snapshot.value("l4agent_database_innodb_history_length", database="primary") >= 0
    slow_before = snapshot.value("l4agent_database_slow_queries_total", database="primary")
    disk_before = snapshot.value("l4agent_database_tmp_disk_tables_total", database="primary")
    with primary.admin_connect() as conn:
        cursor = conn.cursor()
        cursor.execute("SET SESSION long_query_time = 0.01")
        cursor.execute("SELECT SLEEP(0.05)").fetchall()
        cursor.execute("SET SESSION tmp_table_size = 1024, max_heap_table_size = 16384")
        cursor.execute("SELECT seq % 500 AS g, repeat('x', 150) AS pad, count(*) FROM l4_good.seq_1_to_3000 "
                       "GROUP BY g, pad ORDER BY NULL").fetchall()
    after = collect(primary, "primary")
    assert after.value("l4agent_database_slow_queries_total", database="primary") > slow_before
    assert after.value("l4agent_database_tmp_disk_tables_total", database="primary") > disk_before


def test_mariadb_without_slave_monitor_is_an_error_not_silence(mariadb_server):
    """The shared fixture's monitor holds SLAVE MONITOR; a login without it gets one error entry
    per round, never 'not a replica'."""
    accounts = [f"'{mariadb_server.monitor_user}'@'{h}'" for h in ("127.0.0.1", "localhost")]
    mariadb_server.execute_admin([f"REVOKE SLAVE MONITOR ON *.* FROM {a}" for a in accounts])
    try:
        snapshot = collect(mariadb_server, "nogrant")
    finally:
        mariadb_server.execute_admin([f"GRANT SLAVE MONITOR ON *.* TO {a}" for a in accounts])
    assert [e["error"] for e in snapshot.errors] == [
        "database 'nogrant': replication: permission denied: Access denied; you need (at least one of) the "
        "SUPER, SLAVE MONITOR privilege(s) for this operation"]
    assert not snapshot.find("l4agent_database_replica_running")


def test_mysql_replica_status_columns_are_read_like_mariadbs():
    """MySQL has no SHOW ALL SLAVES STATUS: SHOW REPLICA STATUS (8.0.22+) names its columns
    Replica_*/Source_*; the same samples come out (MySQL cannot run here: a row of its shape)."""
    from l4agent.collectors.database import mysql
    from l4agent.collectors.database.steps import StepContext

    row = {"channel_name": "", "source_host": "db1", "replica_io_running": "Connecting",
           "replica_sql_running": "Yes", "last_io_errno": 2003, "last_io_error": "error connecting to source",
           "last_sql_errno": 0, "last_sql_error": "", "seconds_behind_source": None}
    samples = list(mysql.replication_samples([row], StepContext("my", "mysql")))
    running = {s.labels["thread"]: s.value for s in samples if s.name == "l4agent_database_replica_running"}
    assert running == {"io": 0.0, "sql": 1.0}
    errors = {s.labels["thread"]: s.labels["errno"] for s in samples
              if s.name == "l4agent_database_replica_last_error_info"}
    assert errors == {"io": "2003", "sql": "0"}
    assert not [s for s in samples if s.name == "l4agent_database_replication_lag_seconds"]
    steps = [s for s in mysql.STEPS if s.name == "replication"]
    assert [s.sql for s in steps if s.applies({"mariadb": False})] == ["SHOW REPLICA STATUS"]
    assert [s.sql for s in steps if s.applies({"mariadb": True})] == ["SHOW ALL SLAVES STATUS"]
