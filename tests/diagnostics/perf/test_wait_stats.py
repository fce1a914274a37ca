"""perf.wait_stats (SQL Server only): rows shaped like sys.dm_os_wait_stats. The big wait types
are reported with their meaning; small shares and idle waits are not."""

from __future__ import annotations

from l4agent.diagnostics.perf.wait_stats import BENIGN_WAITS
from l4agent.diagnostics.registry import by_id
from tests.diagnostics.checkrun import run_mssql

TOTAL = 10_000_000


def _wait(wait_type: str, ms: int, tasks: int = 1000) -> dict:
    return {"wait_type": wait_type, "waiting_tasks_count": tasks, "wait_time_ms": ms, "max_wait_time_ms": ms // 50,
            "signal_wait_time_ms": ms // 20, "all_wait_time_ms": TOTAL, "since_seconds": 1_209_600}


def test_top_waits_with_meaning_and_quiet_twins():
    rows = [_wait("PAGEIOLATCH_SH", 6_000_000), _wait("LCK_M_X", 1_500_000), _wait("WRITELOG", 500_000),
            _wait("SLEEP_TASK", 9_000_000)]  # idle: the statement leaves it out, and so does the check
    findings, db = run_mssql("perf.wait_stats", {"waits": rows})
    assert db.calls == [("waits", (5,), None)]
    found = {f.object: f for f in findings}
    assert set(found) == {"wait:PAGEIOLATCH_SH", "wait:LCK_M_X"}  # WRITELOG: 5 % < 10 %
    assert found["wait:PAGEIOLATCH_SH"].severity == "warning"
    assert "from disk" in found["wait:PAGEIOLATCH_SH"].summary
    assert found["wait:PAGEIOLATCH_SH"].evidence["avg_wait_ms"] == 6000.0
    assert found["wait:LCK_M_X"].severity == "info" and "perf.blocking" in found["wait:LCK_M_X"].recommendation


def test_idle_waits_are_excluded_in_the_statement():
    sql = by_id("perf.wait_stats").queries["mssql"]["waits"]
    for wait_type in ("LAZYWRITER_SLEEP", "BROKER_RECEIVE_WAITFOR", "XE_TIMER_EVENT", "SP_SERVER_DIAGNOSTICS_SLEEP"):
        assert wait_type in BENIGN_WAITS and f"N'{wait_type}'" in sql


def test_runs_on_sql_server_only():
    assert by_id("perf.wait_stats").engines == {"mssql"}
