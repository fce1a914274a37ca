"""backup.stale (SQL Server): rows shaped like sys.databases + the newest msdb.dbo.backupset
row (type D or I). Ages are total seconds: two days and thirty minutes is far past a 24h RPO,
even though the timedelta's ``seconds`` part is only 1,800."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.diagnostics.checkrun import run_mssql

NOW = datetime(2026, 11, 22, 7, 0, 0)


def _newest(name: str, kind: str, age: timedelta, primary: int = 1, copy_only: bool = False,
            engine_edition: int = 3) -> dict:
    return {"name": name, "recovery_model_desc": "FULL", "is_primary_replica": primary,
            "is_preferred_backup_replica": 1 - primary, "server_name": "DB1", "engine_edition": engine_edition,
            "type": kind, "backup_finish_date": NOW - age, "is_copy_only": copy_only, "server_time": NOW}


def test_stale_and_very_stale_beside_fresh_and_secondary_twins():
    rows = [_newest("erp", "D", timedelta(hours=30)),
            _newest("erp_1", "D", timedelta(days=2, minutes=30)),
            _newest("erp_2", "I", timedelta(hours=2)),  # yesterday's full + a fresh differential
            _newest("erp_3", "D", timedelta(hours=23, minutes=59)),
            _newest("ag_db", "D", timedelta(days=9), primary=0)]
    findings, _ = run_mssql("backup.stale", {"newest_backups": rows}, rpo="24h")
    found = {f.object: f for f in findings}
    assert set(found) == {"erp", "erp_1"}
    assert found["erp"].severity == "warning" and found["erp"].evidence["backup_age_seconds"] == 30 * 3600
    assert found["erp_1"].severity == "critical"  # beyond 2 x RPO
    assert found["erp_1"].evidence["backup_age_seconds"] == 2 * 86400 + 1800
    assert "is 30h old" in found["erp"].summary and found["erp"].evidence["type"] == "full"


def test_rpo_comes_from_the_target():
    rows = [_newest("erp", "D", timedelta(hours=30))]
    findings, _ = run_mssql("backup.stale", {"newest_backups": rows}, rpo="2d")
    assert findings == []


def test_ag_primary_is_judged_even_when_a_secondary_is_the_preferred_backup_replica():
    """Issue 16 item 4: full/differential backups run on the primary; before, the primary was skipped
    whenever fn_hadr_backup_is_preferred_replica said 0 (the default "prefer secondary")."""
    findings, _ = run_mssql("backup.stale", {"newest_backups": [_newest("ag_db", "D", timedelta(days=9))]}, rpo="24h")
    assert [f.object for f in findings] == ["ag_db"]
    assert "msdb of DB1" in findings[0].summary and findings[0].evidence["msdb_of"] == "DB1"


def test_managed_instance_is_not_judged():
    rows = [_newest("erp", "D", timedelta(days=9), engine_edition=8)]
    findings, _ = run_mssql("backup.stale", {"newest_backups": rows}, rpo="24h")
    assert findings == []
