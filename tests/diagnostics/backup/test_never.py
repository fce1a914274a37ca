"""backup.never (SQL Server): rows shaped like sys.databases joined to msdb.dbo.backupset.
A database without a full backup is critical; a backed-up twin, one created within the RPO and
an availability-group database on a non-preferred replica are not reported."""

from __future__ import annotations

from datetime import datetime, timedelta

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.checkrun import run_mssql

NOW = datetime(2026, 11, 22, 7, 0, 0)


def _db(name: str, created_hours_ago: float, last_full_hours_ago: float | None, preferred: int = 1) -> dict:
    return {"name": name, "database_id": 5, "state_desc": "ONLINE", "recovery_model_desc": "FULL",
            "create_date": NOW - timedelta(hours=created_hours_ago), "is_preferred_backup_replica": preferred,
            "backup_finish_date": None if last_full_hours_ago is None else NOW - timedelta(hours=last_full_hours_ago),
            "server_time": NOW}


def test_never_backed_up_beside_backed_up_new_and_secondary_twins():
    rows = [_db("workcube_cf", 24 * 400, None), _db("workcube_cf_1", 24 * 400, 3),
            _db("scratch_today", 2, None), _db("ag_db", 24 * 400, None, preferred=0)]
    findings, _ = run_mssql("backup.never", {"databases": rows})
    assert [(f.object, f.severity) for f in findings] == [("workcube_cf", "critical")]
    assert "BACKUP DATABASE [workcube_cf]" in findings[0].recommendation
    assert findings[0].evidence["database_age_seconds"] == 400 * 86400


def test_only_the_listed_databases_and_not_the_ignored_ones():
    rows = [_db("workcube_cf", 24 * 400, None), _db("other", 24 * 400, None), _db("tmp_import", 24 * 400, None)]
    findings, _ = run_mssql("backup.never", {"databases": rows}, databases=["workcube_cf", "tmp_import"],
                            diagnostics={"backup.never": {"ignore_databases": ["tmp_import"]}})
    assert [f.object for f in findings] == ["workcube_cf"]


def test_sql_server_only_and_skips_tempdb_snapshots_and_availability_group_secondaries():
    check = by_id("backup.never")
    sql = check.queries["mssql"]["databases"]
    assert check.engines == {"mssql"}
    assert "database_id <> 2" in sql and "source_database_id IS NULL" in sql
    assert "fn_hadr_backup_is_preferred_replica" in sql
