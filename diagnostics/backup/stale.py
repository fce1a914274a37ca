"""backup.stale (SQL Server): the newest full or differential backup is older than the RPO.

The age is the server's GETDATE() minus msdb's backup_finish_date (same clock), in total
seconds. Databases never backed up are backup.never's; AG databases are judged on the primary
(full/differential run there); snapshots and backups to NUL do not count (see backupkit).
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.values import number
from l4agent.diagnostics.backup.backupkit import (
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

# The newest restorable full (D) or differential (I) backup of each database within msdb's window,
# in one ranked pass over msdb.dbo.backupset (no snapshots, nothing written to NUL); documented
# columns of both tables.
MSSQL_NEWEST_BACKUPS = compose("""
WITH newest AS (
    SELECT {mapped} AS database_name, bs.type, bs.backup_finish_date, bs.is_copy_only,
           ROW_NUMBER() OVER (PARTITION BY {mapped} ORDER BY bs.backup_finish_date DESC) AS rn
    FROM msdb.dbo.backupset AS bs
    WHERE bs.type IN ('D', 'I') AND {window}
      AND {usable}
)
SELECT d.name, d.recovery_model_desc,
       {replica},
       n.type, n.backup_finish_date, n.is_copy_only, GETDATE() AS server_time
FROM sys.databases AS d
JOIN newest AS n ON n.database_name = d.name AND n.rn = 1
{replica_join}
WHERE d.database_id <> 2
  AND d.source_database_id IS NULL
  AND d.state_desc = N'ONLINE'
  AND d.is_in_standby = 0
ORDER BY d.name
""", replica=REPLICA_COLUMNS, replica_join=REPLICA_JOIN, mapped=MAPPED_NAME, window=WINDOW, usable=USABLE_BACKUP)

BACKUP_TYPES = {"D": "full", "I": "differential", "L": "log"}


class StaleBackup(Check):
    id = "backup.stale"
    engines = frozenset({"mssql"})
    title = "newest full or differential backup older than the target's rpo"
    queries = {"mssql": {"newest_backups": MSSQL_NEWEST_BACKUPS}}
    defaults = {
        "critical_multiple": 2.0,  # older than this many RPOs: critical
        "ignore_databases": [],  # database names not to judge
    }
    max_rows = 5000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        rpo = ctx.target.rpo
        rows = ctx.query(self, "newest_backups")
        if managed_instance(ctx, self, rows):
            return
        ctx.examined("backups", len(rows))
        for row in rows:
            if not backed_up_here(ctx, row):
                continue
            backup_age = age_seconds(row["server_time"], row["backup_finish_date"])
            if backup_age is None or backup_age <= rpo:
                continue
            name = row["name"]
            kind = BACKUP_TYPES.get(str(row["type"]).strip(), str(row["type"]))
            severity = "critical" if backup_age > number(ctx.options["critical_multiple"]) * rpo else "warning"
            yield self.finding(
                ctx, severity, name,
                f"newest full/differential backup of {name} is {age(backup_age)} old ({kind}, finished "
                f"{row['backup_finish_date']}, msdb of {row.get('server_name') or 'this server'}), older than the "
                f"RPO of {age(rpo)}",
                f"find out why the backup job of {name} has not run (SQL Agent job history, the backup tool's log, "
                f"free space on the target) and take a backup now: BACKUP DATABASE {ctx.db.quote(name)} TO DISK = "
                "N'...' WITH CHECKSUM, COMPRESSION;",
                backup_age_seconds=round(backup_age), rpo_seconds=rpo, type=kind,
                backup_finish_date=row["backup_finish_date"], is_copy_only=bool(row.get("is_copy_only")),
                recovery_model_desc=row["recovery_model_desc"], msdb_of=row.get("server_name"),
            )
