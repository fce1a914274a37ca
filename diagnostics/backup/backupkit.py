"""What the backup checks share: which databases they judge (and on which replica), ages in
total seconds, the time windows they judge against, and the T-SQL pieces every SQL Server backup
statement uses.

Availability groups (https://learn.microsoft.com/sql/database-engine/availability-groups/windows/active-secondaries-backup-on-secondary-replicas-always-on-availability-groups):
a secondary takes only COPY_ONLY fulls and log backups, never differentials, and each replica's
msdb records only its own backups. Full/differential backups are therefore judged where this
replica is the primary, log backups where it is the preferred backup replica
(sys.fn_hadr_backup_is_preferred_replica, called only for AG databases); every finding names the
replica whose msdb was read. Backups to NUL and VSS/VM snapshots (is_snapshot) are no restorable
full. msdb is read over a bounded window (backup_finish_date, its indexed column).
Managed Instance (EngineEdition 8) takes its own automated backups, which msdb does not show.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from l4agent.diagnostics.base import Check, CheckContext
from l4agent.diagnostics.checkkit import seconds_option, truthy

#: days of msdb history read (bounded by backup_finish_date, msdb's indexed column): a database
#: whose newest full backup is older counts as having none
HISTORY_DAYS = 100
MANAGED_INSTANCE = 8  # SERVERPROPERTY('EngineEdition')

#: per database: is this replica the AG primary (1 outside an AG), is it the preferred backup
#: replica (the function only for AG databases), and whose msdb this is. Joins for REPLICA_COLUMNS.
REPLICA_JOIN = """LEFT JOIN sys.dm_hadr_database_replica_states AS drs
       ON drs.database_id = d.database_id AND drs.is_local = 1"""
REPLICA_COLUMNS = """CASE WHEN d.replica_id IS NULL THEN 1 ELSE COALESCE(drs.is_primary_replica, 0) END
           AS is_primary_replica,
       CASE WHEN d.replica_id IS NULL THEN 1
            ELSE sys.fn_hadr_backup_is_preferred_replica(d.name) END AS is_preferred_backup_replica,
       CAST(SERVERPROPERTY('ServerName') AS nvarchar(128)) AS server_name,
       CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition"""
#: backupset rows that are restorable backups: no snapshot, not written to NUL; the name mapped
#: through DB_ID so Managed Instance's physical (GUID) names meet sys.databases.name
USABLE_BACKUP = """bs.is_snapshot = 0
      AND NOT EXISTS (SELECT 1 FROM msdb.dbo.backupmediafamily AS mf
                      WHERE mf.media_set_id = bs.media_set_id AND mf.physical_device_name = N'NUL')"""
MAPPED_NAME = "COALESCE(DB_NAME(DB_ID(bs.database_name)), bs.database_name)"
WINDOW = f"bs.backup_finish_date >= DATEADD(DAY, -{HISTORY_DAYS}, GETDATE())"


def backed_up_here(ctx: CheckContext, row: dict[str, Any], kind: str = "full") -> bool:
    """Is this SQL Server database one whose ``kind`` ("full": full/differential, "log") backups
    this instance's msdb should show?

    Every database the target lists (all but tempdb when it lists none). In an availability group,
    full/differential backups are judged on the primary and log backups on the preferred backup
    replica; elsewhere the database is recorded as not examined here, naming this replica.
    """
    name = row["name"]
    if ctx.target.databases and name not in ctx.target.databases:
        return False
    if name in ctx.options.get("ignore_databases", ()):
        return False
    if kind == "log":
        here = truthy(row.get("is_preferred_backup_replica", 1))
        reason = "log backups are judged on the preferred backup replica"
    else:
        here = truthy(row.get("is_primary_replica", 1))
        reason = "full/differential backups are judged on the availability group's primary"
    if not here:
        server = row.get("server_name") or "this replica"
        ctx.not_examined(f"{kind} backups of {name}", f"{reason}; this is {server}, whose msdb was read",
                         catalog=name)
    return here


def managed_instance(ctx: CheckContext, check: Check, rows: list[dict[str, Any]]) -> bool:
    """True (and recorded as not examined) on Azure SQL Managed Instance, whose automated backups
    msdb does not record."""
    if rows and int(rows[0].get("engine_edition") or 0) == MANAGED_INSTANCE:
        ctx.not_examined(check.id, "Azure SQL Managed Instance takes automated backups that msdb does not record "
                                   "(see sys.dm_database_backups); only user COPY_ONLY backups are in msdb")
        return True
    return False


def age_seconds(now: datetime | None, then: datetime | None) -> float | None:
    """``now - then`` in total seconds (never a timedelta's day or seconds part); None when
    either is missing. Both come from the same server clock (GETDATE() and msdb dates)."""
    if now is None or then is None:
        return None
    return (now - then).total_seconds()


def log_window(check: Check, ctx: CheckContext) -> float:
    """Seconds within which a log backup / WAL archive is expected: the target's
    ``log_backup_window``, else the check's ``window`` option."""
    if ctx.target.log_backup_window:
        return ctx.target.log_backup_window
    return seconds_option(check, ctx, "window")
