"""backup.never (SQL Server): rows shaped like sys.databases joined to msdb.dbo.backupset.
A database without a full backup is critical; a backed-up twin, one created within the RPO and
an availability-group database on a non-preferred replica are not reported."""

from __future__ import annotations

from datetime import datetime, timedelta

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.checkrun import run_mssql

NOW = datetime(2026, 11, 22, 7, 0, 0)


def _db(name: str, created_hours_ago: float, last_full_hours_ago: float | None, primary: int = 1,
        unusable_hours_ago: float | None = None, engine_edition: int = 3) -> dict:
    return {"name": name, "database_id": 5, "state_desc": "ONLINE", "recovery_model_desc": "FULL",
            "create_date": NOW - timedelta(hours=created_hours_ago), "is_primary_replica": primary,
            "is_preferred_backup_replica": 1 - primary, "server_name": "DB1", "engine_edition": engine_edition,
            "backup_finish_date": None if last_full_hours_ago is None else NOW - timedelta(hours=last_full_hours_ago),
            "unusable_finish_date": None if unusable_hours_ago is None else NOW - timedelta(hours=unusable_hours_ago),
            "server_time": NOW}


def test_never_backed_up_beside_backed_up_new_and_secondary_twins():
    rows = [_db("workcube_cf", 24 * 400, None), _db("workcube_cf_1", 24 * 400, 3),
            _db("scratch_today", 2, None), _db("ag_db", 24 * 400, None, primary=0)]
    findings, _ = run_mssql("backup.never", {"databases": rows})
    assert [(f.object, f.severity) for f in findings] == [("workcube_cf", "critical")]
    assert "BACKUP DATABASE [workcube_cf]" in findings[0].recommendation
    assert findings[0].evidence["database_age_seconds"] == 400 * 86400


def test_only_the_listed_databases_and_not_the_ignored_ones():
    rows = [_db("workcube_cf", 24 * 400, None), _db("other", 24 * 400, None), _db("tmp_import", 24 * 400, None)]
    findings, _ = run_mssql("backup.never", {"databases": rows}, databases=["workcube_cf", "tmp_import"],
                            diagnostics={"backup.never": {"ignore_databases": ["tmp_import"]}})
    assert [f.object for f in findings] == ["workcube_cf"]


def test_ag_secondary_is_not_judged_and_says_whose_msdb_was_read():
    """Issue 16 item 4. Before: judged on the preferred backup replica, so with "prefer secondary" a
    secondary's msdb (copy-only fulls at best) decided, and the primary never did."""
    from tests.diagnostics.checkrun import run_mssql_ctx

    findings, _, ctx = run_mssql_ctx("backup.never", {"databases": [_db("ag_db", 24 * 400, None, primary=0)]})
    assert findings == []
    [item] = [i for e in ctx.coverage.entries() for i in e.not_examined]
    assert "judged on the availability group's primary" in item["why"] and "DB1" in item["why"]
    # the primary (not the preferred backup replica) is where a missing full is reported
    primary = _db("ag_db", 24 * 400, None, primary=1)
    primary["is_preferred_backup_replica"] = 0
    findings, _ = run_mssql("backup.never", {"databases": [primary]})
    assert [f.object for f in findings] == ["ag_db"] and "DB1" in findings[0].summary


def test_only_snapshots_or_nul_backups_is_never_backed_up():
    """Issue 16 item 10: a full to NUL or a VSS snapshot is no restorable full (sp_Blitz check 256)."""
    findings, _ = run_mssql("backup.never", {"databases": [_db("erp", 24 * 400, None, unusable_hours_ago=5)]})
    assert [f.object for f in findings] == ["erp"]
    assert "snapshots or went to NUL" in findings[0].summary
    sql = " ".join(by_id("backup.never").queries["mssql"]["databases"].split())
    assert "bs.is_snapshot = 0" in sql and "mf.physical_device_name = N'NUL'" in sql
    assert "bs.backup_finish_date >= DATEADD(DAY, -100, GETDATE())" in sql


def test_managed_instance_is_not_judged_on_msdb():
    """Issue 16 item 11: MI's automated backups are not in msdb; no BACKUP ... TO DISK advice."""
    from tests.diagnostics.checkrun import run_mssql_ctx

    findings, _, ctx = run_mssql_ctx("backup.never", {"databases": [_db("erp", 24 * 400, None, engine_edition=8)]})
    assert findings == []
    assert any("Managed Instance" in i["why"] for e in ctx.coverage.entries() for i in e.not_examined)


def test_sql_server_only_and_skips_tempdb_snapshots_and_availability_group_secondaries():
    check = by_id("backup.never")
    sql = check.queries["mssql"]["databases"]
    assert check.engines == {"mssql"}
    assert "database_id <> 2" in sql and "source_database_id IS NULL" in sql
    assert "fn_hadr_backup_is_preferred_replica" in sql
