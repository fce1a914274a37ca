"""backup.stale (SQL Server): rows shaped like sys.databases + the newest msdb.dbo.backupset
row (type D or I). Ages are total seconds: two days and thirty minutes is far past a 24h RPO,
even though the timedelta's ``seconds`` part is only 1,800."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.diagnostics.checkrun import run_mssql

NOW = datetime(2026, 11, 22, 7, 0, 0)


def _newest(name: str, kind: str, age: timedelta, preferred: int = 1, copy_only: bool = False) -> dict:
    return {"name": name, "recovery_model_desc": "FULL", "is_preferred_backup_replica": preferred,
            "type": kind, "backup_finish_date": NOW - age, "is_copy_only": copy_only, "server_time": NOW}


def test_stale_and_very_stale_beside_fresh_and_secondary_twins():
    rows = [_newest("erp", "D", timedelta(hours=30)),
            _newest("erp_1", "D", timedelta(days=2, minutes=30)),
            _newest("erp_2", "I", timedelta(hours=2)),  # yesterday's full + a fresh differential
            _newest("erp_3", "D", timedelta(hours=23, minutes=59)),
            _newest("ag_db", "D", timedelta(days=9), preferred=0)]
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
