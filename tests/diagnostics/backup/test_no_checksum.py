"""backup.no_checksum (SQL Server): rows shaped like the newest msdb.dbo.backupset row per
database and type; a database whose newest full backup lacks CHECKSUM is reported, its twin
with checksums everywhere is not."""

from __future__ import annotations

from datetime import datetime

from tests.diagnostics.checkrun import run_mssql


def _backup(name: str, kind: str, checksums: bool, preferred: int = 1) -> dict:
    return {"name": name, "is_primary_replica": preferred, "is_preferred_backup_replica": preferred,
            "server_name": "DB1", "engine_edition": 3, "type": kind,
            "backup_finish_date": datetime(2026, 11, 22, 2, 0), "is_copy_only": False,
            "has_backup_checksums": checksums}


def test_backup_without_checksum_beside_checked_twin():
    rows = [_backup("erp", "D", False), _backup("erp", "L", True),
            _backup("erp_1", "D", True), _backup("erp_1", "I", True), _backup("erp_1", "L", True),
            _backup("ag_db", "D", False, preferred=0)]
    findings, _ = run_mssql("backup.no_checksum", {"newest_backups": rows})
    assert [f.object for f in findings] == ["erp"]
    assert [b["type"] for b in findings[0].evidence["backups"]] == ["full"]
    assert "backup checksum default" in findings[0].recommendation
    assert "BACKUP DATABASE [erp]" in findings[0].recommendation
