"""backup.no_log_backup: SQL Server databases in the FULL recovery model without a recent log
backup (rows shaped like sys.databases + msdb.dbo.backupset); PostgreSQL with archive_mode on
but nothing archived within the window (a throwaway server with a failing archive_command),
beside a working archiver and a server without archiving."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from tests.diagnostics.checkrun import (
    archiving_pg,
    db_config,
    findings_of,
    run_check,
    run_mssql,
    set_archive_command,
)

NOW = datetime(2026, 11, 22, 7, 0, 0)


def _rows(name: str, full_ago: timedelta | None, log_ago: timedelta | None, preferred: int = 1,
          engine_edition: int = 3) -> list[dict]:
    base = {"name": name, "recovery_model_desc": "FULL", "log_reuse_wait_desc": "LOG_BACKUP",
            "is_primary_replica": 1, "is_preferred_backup_replica": preferred, "server_name": "DB1",
            "engine_edition": engine_edition, "server_time": NOW}
    rows = [{**base, "type": kind, "backup_finish_date": NOW - ago} for kind, ago in (("D", full_ago), ("L", log_ago))
            if ago is not None]
    return rows or [{**base, "type": None, "backup_finish_date": None}]


def test_mssql_overdue_and_missing_log_backups_beside_regular_ones():
    rows = (_rows("erp", timedelta(hours=10), timedelta(hours=3))  # log backups stopped 3h ago
            + _rows("erp_1", timedelta(hours=20), None)  # full recovery, log never backed up
            + _rows("erp_2", timedelta(hours=20), timedelta(minutes=10))  # fine
            + _rows("erp_3", None, None)  # no full backup yet: backup.never's business
            + _rows("ag_db", timedelta(hours=20), None, preferred=0))
    findings, _ = run_mssql("backup.no_log_backup", {"log_backups": rows})
    found = {f.object: f for f in findings}
    assert set(found) == {"erp", "erp_1"}
    assert found["erp"].severity == "warning" and found["erp"].evidence["seconds_since"] == 3 * 3600
    assert found["erp_1"].severity == "critical" and "never been backed up" in found["erp_1"].summary
    assert "BACKUP LOG [erp_1]" in found["erp_1"].recommendation


def test_mssql_window_comes_from_the_target():
    rows = _rows("erp", timedelta(hours=10), timedelta(hours=3))
    findings, _ = run_mssql("backup.no_log_backup", {"log_backups": rows}, log_backup_window="4h")
    assert findings == []


def test_postgresql_nothing_archived_within_the_window():
    server = archiving_pg()
    set_archive_command(server, "true", wait_for="archived")
    working = db_config(server, "postgres", log_backup_window="1h")
    assert findings_of(run_check("backup.no_log_backup", working)) == []  # clean: archived just now
    try:
        set_archive_command(server, "false", wait_for="failed")
        time.sleep(1.1)
        overdue = db_config(server, "postgres", log_backup_window="1s")
        findings = findings_of(run_check("backup.no_log_backup", overdue))
        assert [(f.object, f.severity) for f in findings] == [("pg_stat_archiver", "critical")]
        assert findings[0].evidence["ready_count"] >= 1 and findings[0].evidence["seconds_since"] >= 1
    finally:
        set_archive_command(server, "true", wait_for="archived")


def test_postgresql_without_archive_mode_is_not_reported(pg_server, pg_db):
    config = db_config(pg_server, pg_db, log_backup_window="1s")
    assert findings_of(run_check("backup.no_log_backup", config)) == []


def test_mssql_managed_instance_gets_no_recovery_simple_or_to_disk_advice():
    """Issue 16 item 11: on Managed Instance BACKUP is COPY_ONLY TO URL and every database is FULL."""
    findings, _ = run_mssql("backup.no_log_backup", {"log_backups": _rows("erp", timedelta(days=1), timedelta(hours=5),
                                                                           engine_edition=8)})
    assert len(findings) == 1
    advice = findings[0].recommendation
    assert "SET RECOVERY SIMPLE" not in advice and "TO DISK" not in advice and "TO URL" in advice


def test_mssql_ag_logs_are_judged_on_the_preferred_replica_only():
    findings, _ = run_mssql("backup.no_log_backup", {"log_backups": _rows("erp", timedelta(days=1), timedelta(hours=5),
                                                                           preferred=0)})
    assert findings == []
