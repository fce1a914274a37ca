"""backup.never (SQL Server): databases with no full backup in msdb's history.

A database created less than ``rpo`` ago is not reported yet: its first backup is not due.
Availability-group databases are judged only on their preferred backup replica.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.backup.backupkit import age_seconds, backed_up_here
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import age

# Documented columns of sys.databases; backup_finish_date is the newest full backup (type D)
# in msdb.dbo.backupset, read in one grouped pass. tempdb (id 2) and snapshots are skipped.
MSSQL_DATABASES = """
SELECT d.name, d.database_id, d.state_desc, d.recovery_model_desc, d.create_date,
       CASE WHEN d.replica_id IS NULL THEN 1
            ELSE sys.fn_hadr_backup_is_preferred_replica(d.name) END AS is_preferred_backup_replica,
       b.backup_finish_date, GETDATE() AS server_time
FROM sys.databases AS d
LEFT JOIN (SELECT bs.database_name, MAX(bs.backup_finish_date) AS backup_finish_date
           FROM msdb.dbo.backupset AS bs
           WHERE bs.type = 'D'
           GROUP BY bs.database_name) AS b ON b.database_name = d.name
WHERE d.database_id <> 2
  AND d.source_database_id IS NULL
  AND d.state_desc = N'ONLINE'
  AND d.is_in_standby = 0
ORDER BY d.name
"""


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
        ctx.examined("backups", len(rows))
        for row in rows:
            if row["backup_finish_date"] is not None or not backed_up_here(ctx, row):
                continue
            existed = age_seconds(row["server_time"], row["create_date"])
            if existed is not None and existed < rpo:
                continue  # created within the RPO: its first backup is not due yet
            name = row["name"]
            yield self.finding(
                ctx, "critical", name,
                f"database {name} has never had a full backup (it exists since {age(existed)} ago; "
                f"recovery model {row['recovery_model_desc']})",
                f"take a full backup now and schedule it within the RPO ({age(rpo)}): BACKUP DATABASE "
                f"{ctx.db.quote(name)} TO DISK = N'...' WITH CHECKSUM, COMPRESSION; (if a tool backs it up without "
                "recording in msdb, or the history was purged, confirm the backups exist and can be restored)",
                recovery_model_desc=row["recovery_model_desc"], create_date=row["create_date"],
                database_age_seconds=None if existed is None else round(existed), rpo_seconds=rpo,
            )
