"""replication.lag: a MariaDB replica whose SQL thread waits on a row lock held on the replica
falls behind while the primary keeps writing; it is reported over the (configured) threshold and
not under it, and the idle, caught-up replica is the clean twin. SQL Server on rows."""

from __future__ import annotations

import pytest

from l4agent.core.config import ConfigError
from tests.diagnostics.checkrun import db_config, findings_of, run_check, run_mssql
from tests.support import replicas as r
from tests.support.signal_plants import GOOD

CHECK = "replication.lag"
LOW = {CHECK: {"warning": "2s", "critical": "1h"}}


def test_mariadb_replica_held_back_by_a_lock(mariadb_signals):
    pair = mariadb_signals
    assert findings_of(run_check(CHECK, db_config(pair.replica, None, diagnostics=LOW))) == []  # caught up
    pair.primary.execute_admin([f"CREATE TABLE {GOOD}.counter (id int PRIMARY KEY, n int) ENGINE=InnoDB",
                                f"INSERT INTO {GOOD}.counter VALUES (1, 0)"])
    pair.replica.wait_caught_up()
    holder = pair.replica.admin_connect(autocommit=False)
    try:
        holder.cursor().execute(f"SELECT n FROM {GOOD}.counter WHERE id = 1 FOR UPDATE").fetchall()
        pair.primary.execute_admin(f"UPDATE {GOOD}.counter SET n = n + 1 WHERE id = 1")
        r.wait_until(lambda: (r.replica_status(pair.replica)["Seconds_Behind_Master"] or 0) >= 3, 30,
                     what="replica behind")
        findings = findings_of(run_check(CHECK, db_config(pair.replica, None, diagnostics=LOW)))
        relaxed = findings_of(run_check(CHECK, db_config(pair.replica, None)))  # default 5m
    finally:
        holder.rollback()
        holder.close()
    pair.replica.wait_caught_up()
    assert [(f.object, f.severity) for f in findings] == [("replication source default", "warning")]
    assert findings[0].evidence["lag_seconds"] >= 3
    assert relaxed == []


def test_bad_threshold_is_one_config_line(mariadb_signals):
    with pytest.raises(ConfigError, match=r"diagnostics\.replication\.lag\.warning: invalid duration 'soon'"):
        db_config(mariadb_signals.replica, None, diagnostics={CHECK: {"warning": "soon"}})


def test_mssql_availability_group_lag_rows():
    rows = {"ag_lag": [{"catalog": "workcube_cf", "replica": "SQL2", "lag_seconds": 2400, "lag_bytes": 1 << 30},
                       {"catalog": "workcube_cf_1", "replica": "SQL2", "lag_seconds": 1, "lag_bytes": 0}]}
    findings, _ = run_mssql(CHECK, rows)
    assert [(f.object, f.severity) for f in findings] == [("SQL2/workcube_cf", "critical")]
