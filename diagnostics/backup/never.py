"""backup.never (SQL Server): databases with no restorable full backup in msdb's history window.

A database created less than ``rpo`` ago is not reported yet: its first backup is not due.
Snapshots and backups to NUL do not count. Availability-group databases are judged on the
primary (secondaries take only COPY_ONLY fulls); Managed Instance is not judged (automated
backups are not in msdb). See backupkit.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.backup.backupkit import (
    HISTORY_DAYS,
    MAPPED_NAME,
    REPLICA_COLUMNS,
    REPLICA_JOIN,
    USABLE_BACKUP,
    WINDOW,
    age_seconds,
    backed_up_here,
    managed_instance,
)
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import age, compose

# Documented columns of sys.databases; backup_finish_date is the newest restorable full backup
# (type D, no snapshot, not to NUL) within msdb's window, unusable_finish_date the newest full
# that was a snapshot or went to NUL. tempdb (id 2), snapshots and standby databases are skipped.
MSSQL_DATABASES = compose("""
SELECT d.name, d.database_id, d.state_desc, d.recovery_model_desc, d.create_date,
       {replica},
       b.backup_finish_date, u.unusable_finish_date, GETDATE() AS server_time
FROM sys.databases AS d
{replica_join}
LEFT JOIN (SELECT {mapped} AS database_name, MAX(bs.backup_finish_date) AS backup_finish_date
           FROM msdb.dbo.backupset AS bs
           WHERE bs.type = 'D' AND {window}
             AND {usable}
           GROUP BY {mapped}) AS b ON b.database_name = d.name
LEFT JOIN (SELECT {mapped} AS database_name, MAX(bs.backup_finish_date) AS unusable_finish_date
           FROM msdb.dbo.backupset AS bs
           WHERE bs.type = 'D' AND {window}
             AND NOT ({usable})
           GROUP BY {mapped}) AS u ON u.database_name = d.name
WHERE d.database_id <> 2
  AND d.source_database_id IS NULL
  AND d.state_desc = N'ONLINE'
  AND d.is_in_standby = 0
ORDER BY d.name
""", replica=REPLICA_COLUMNS, replica_join=REPLICA_JOIN, mapped=MAPPED_NAME, window=WINDOW, usable=USABLE_BACKUP)


class NeverBackedUp(Check):
    id = "backup.never"
    engines = frozenset({"mssql"})
    title = "databases that have never had a full backup (msdb history)"
    queries = {"mssql": {"databases": MSSQL_DATABASES}}
    defaults = {"ignore_databases": []}  # database names not to judge (e.g. scratch databases)
    max_rows = 5000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        rpo = ctx.target.rpo
        rows = ctx.query(self, "databases")
        if managed_instance(ctx, self, rows):
            return
        ctx.examined("backups", len(rows))
        for row in rows:
            if row["backup_finish_date"] is not None or not backed_up_here(ctx, row):
                continue
            existed = age_seconds(row["server_time"], row["create_date"])
            if existed is not None and existed < rpo:
                continue  # created within the RPO: its first backup is not due yet
            name = row["name"]
            unusable = row.get("unusable_finish_date")
            only = (f"; its only full backups in that time were snapshots or went to NUL (newest {unusable})"
                    if unusable else "")
            yield self.finding(
                ctx, "critical", name,
                f"database {name} has no restorable full backup in msdb's last {HISTORY_DAYS} days on "
                f"{row.get('server_name') or 'this server'} (it exists since {age(existed)} ago; "
                f"recovery model {row['recovery_model_desc']}){only}",
                f"take a full backup now and schedule it within the RPO ({age(rpo)}): BACKUP DATABASE "
                f"{ctx.db.quote(name)} TO DISK = N'...' WITH CHECKSUM, COMPRESSION; (if a tool backs it up without "
                "recording in msdb, or the history was purged, confirm the backups exist and can be restored)",
                recovery_model_desc=row["recovery_model_desc"], create_date=row["create_date"],
                database_age_seconds=None if existed is None else round(existed), rpo_seconds=rpo,
                msdb_of=row.get("server_name"), history_days=HISTORY_DAYS, unusable_full_finish_date=unusable,
            )
