"""backup.no_log_backup: the log is not being backed up / archived within the window.

SQL Server: a database in the FULL or BULK_LOGGED recovery model whose newest log backup
(or, with none yet, its newest full backup) is older than the window; without log backups the
RPO is the last full backup and the log grows until the disk is full.
PostgreSQL: archive_mode is on, so WAL archiving is expected, but nothing was archived within
the window while WAL is waiting or could be (archive_timeout off or longer than the window).
The window is the target's ``log_backup_window``, else this check's ``window`` option.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from l4agent.dbaccess.values import number
from l4agent.diagnostics.backup.backupkit import (
    MANAGED_INSTANCE,
    MAPPED_NAME,
    REPLICA_COLUMNS,
    REPLICA_JOIN,
    USABLE_BACKUP,
    WINDOW,
    age_seconds,
    backed_up_here,
    log_window,
)
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import age, compose, truthy

# Newest restorable full (D) and log (L) backup per database within msdb's window, one row per type.
MSSQL_LOG_BACKUPS = compose("""
WITH newest AS (
    SELECT {mapped} AS database_name, bs.type, MAX(bs.backup_finish_date) AS backup_finish_date
    FROM msdb.dbo.backupset AS bs
    WHERE bs.type IN ('D', 'L') AND {window}
      AND {usable}
    GROUP BY {mapped}, bs.type
)
SELECT d.name, d.recovery_model_desc, d.log_reuse_wait_desc,
       {replica},
       n.type, n.backup_finish_date, GETDATE() AS server_time
FROM sys.databases AS d
LEFT JOIN newest AS n ON n.database_name = d.name
{replica_join}
WHERE d.recovery_model_desc IN (N'FULL', N'BULK_LOGGED')
  AND d.database_id <> 2
  AND d.source_database_id IS NULL
  AND d.state_desc = N'ONLINE'
  AND d.is_in_standby = 0
ORDER BY d.name
""", replica=REPLICA_COLUMNS, replica_join=REPLICA_JOIN, mapped=MAPPED_NAME, window=WINDOW, usable=USABLE_BACKUP)

# pg_ls_archive_statusdir() (pg_monitor) lists the .ready files: segments waiting to be archived.
POSTGRESQL_ARCHIVER = """
SELECT current_setting('archive_mode') AS archive_mode,
       (SELECT setting::int FROM pg_settings WHERE name = 'archive_timeout') AS archive_timeout_seconds,
       pg_is_in_recovery()::int AS in_recovery,
       a.archived_count, a.last_archived_wal, a.last_archived_time,
       EXTRACT(EPOCH FROM now() - a.last_archived_time) AS archived_age_seconds,
       a.failed_count, a.last_failed_wal, a.last_failed_time,
       (SELECT count(*) FROM pg_ls_archive_statusdir() AS s WHERE s.name LIKE '%.ready') AS ready_count,
       EXTRACT(EPOCH FROM now() - pg_postmaster_start_time()) AS uptime_seconds
FROM pg_stat_archiver AS a
"""


def archiving_expected(row: dict[str, Any]) -> bool:
    """archive_mode on (a primary) or always (any server)."""
    mode = str(row["archive_mode"]).lower()
    return mode == "always" or (mode == "on" and not truthy(row["in_recovery"]))


class NoLogBackup(Check):
    id = "backup.no_log_backup"
    engines = frozenset({"mssql", "postgresql"})
    title = "full recovery model or WAL archiving on, but no log backup / archive within the window"
    queries = {"mssql": {"log_backups": MSSQL_LOG_BACKUPS}, "postgresql": {"archiver": POSTGRESQL_ARCHIVER}}
    defaults = {
        "window": "1h",  # when the target sets no log_backup_window
        "ignore_databases": [],  # mssql database names not to judge
    }
    max_rows = 10000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        window = log_window(self, ctx)
        if ctx.engine == "postgresql":
            yield from self._postgresql(ctx, window)
        else:
            yield from self._mssql(ctx, window)

    def _mssql(self, ctx: CheckContext, window: float) -> Iterator[Finding]:
        databases: dict[str, dict[str, Any]] = {}
        for row in ctx.query(self, "log_backups"):
            entry = databases.setdefault(row["name"], {"row": row, "D": None, "L": None})
            if row["type"] is not None:
                entry[str(row["type"]).strip()] = row["backup_finish_date"]
        for name, entry in databases.items():
            row = entry["row"]
            if not backed_up_here(ctx, row, "log"):
                continue
            if entry["D"] is None:
                continue  # no full backup here yet: the log chain has not started (backup.never says so)
            if entry["L"] is None:
                since = age_seconds(row["server_time"], entry["D"])
                if since is None or since <= window:
                    continue
                summary = (f"database {name} is in the {row['recovery_model_desc']} recovery model but its log has "
                           f"never been backed up (full backup {age(since)} ago): the log grows until the disk is full")
                severity = "critical"
            else:
                since = age_seconds(row["server_time"], entry["L"])
                if since is None or since <= window:
                    continue
                summary = (f"newest log backup of {name} is {age(since)} old, beyond the {age(window)} window "
                           f"({row['recovery_model_desc']} recovery model)")
                severity = "warning"
            quoted = ctx.db.quote(name)
            if int(row.get("engine_edition") or 0) == MANAGED_INSTANCE:
                # Managed Instance: automated log backups, FULL recovery only, BACKUP only COPY_ONLY TO URL.
                advice = ("Azure SQL Managed Instance backs up the log itself and keeps every database in FULL "
                          "recovery: check the instance's automated backups (sys.dm_database_backups) and, for an "
                          f"extra copy, BACKUP DATABASE {quoted} TO URL = N'https://...' WITH COPY_ONLY;")
            else:
                advice = (f"schedule log backups at least every {age(window)}: BACKUP LOG {quoted} TO DISK = N'...' "
                          f"WITH CHECKSUM, COMPRESSION; or, if point-in-time restore is not needed: ALTER DATABASE "
                          f"{quoted} SET RECOVERY SIMPLE;")
            yield self.finding(
                ctx, severity, name, summary + f" (msdb of {row.get('server_name') or 'this server'})", advice,
                recovery_model_desc=row["recovery_model_desc"], log_reuse_wait_desc=row.get("log_reuse_wait_desc"),
                last_full_backup=entry["D"], last_log_backup=entry["L"], seconds_since=round(since),
                window_seconds=window, msdb_of=row.get("server_name"),
            )

    def _postgresql(self, ctx: CheckContext, window: float) -> Iterator[Finding]:
        rows = ctx.query(self, "archiver")
        if not rows or not archiving_expected(rows[0]):
            return
        row = rows[0]
        archived_age = row["archived_age_seconds"]
        since = number(archived_age) if archived_age is not None else number(row["uptime_seconds"])
        if since <= window:
            return
        ready = int(number(row["ready_count"]))
        timeout = int(number(row["archive_timeout_seconds"]))
        # With archive_timeout within the window and nothing waiting, the server simply wrote no WAL.
        if ready == 0 and 0 < timeout <= window:
            return
        when = "nothing has been archived" if archived_age is None else f"the last WAL archive was {age(since)} ago"
        cause = (f"{ready} WAL segment(s) are waiting to be archived" if ready
                 else "WAL written since then is not archived until its segment fills (archive_timeout "
                      + ("is off)" if timeout == 0 else f"is {age(timeout)})"))
        recommendation = ("see backup.archive_failing and the server log for the archive_command's errors"
                          if ready else f"set archive_timeout to at most {age(window)} so quiet periods are archived too")
        yield self.finding(
            ctx, "critical" if ready else "warning", "pg_stat_archiver",
            f"archive_mode is {row['archive_mode']} but {when} (window {age(window)}); {cause}",
            recommendation,
            archive_mode=row["archive_mode"], archived_count=row["archived_count"],
            last_archived_wal=row["last_archived_wal"], last_archived_time=row["last_archived_time"],
            seconds_since=round(since), ready_count=ready, archive_timeout_seconds=timeout, window_seconds=window,
        )
