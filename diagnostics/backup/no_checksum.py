"""backup.no_checksum (SQL Server): the newest backups were taken without CHECKSUM.

Without it, a backup of damaged pages succeeds silently and the damage is found at restore
time. Judged on the newest backup of each type (full, differential, log) per database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from l4agent.diagnostics.backup.backupkit import (
    MAPPED_NAME,
    REPLICA_COLUMNS,
    REPLICA_JOIN,
    USABLE_BACKUP,
    WINDOW,
    backed_up_here,
)
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import compose, truthy

# The newest restorable backup of each type per database within msdb's window, in one ranked pass
# over msdb.dbo.backupset.
MSSQL_NEWEST_BACKUPS = compose("""
WITH newest AS (
    SELECT {mapped} AS database_name, bs.type, bs.backup_finish_date, bs.is_copy_only, bs.has_backup_checksums,
           ROW_NUMBER() OVER (PARTITION BY {mapped}, bs.type ORDER BY bs.backup_finish_date DESC) AS rn
    FROM msdb.dbo.backupset AS bs
    WHERE bs.type IN ('D', 'I', 'L') AND {window}
      AND {usable}
)
SELECT d.name,
       {replica},
       n.type, n.backup_finish_date, n.is_copy_only, n.has_backup_checksums
FROM sys.databases AS d
JOIN newest AS n ON n.database_name = d.name AND n.rn = 1
{replica_join}
WHERE d.database_id <> 2 AND d.source_database_id IS NULL
ORDER BY d.name, n.type
""", replica=REPLICA_COLUMNS, replica_join=REPLICA_JOIN, mapped=MAPPED_NAME, window=WINDOW, usable=USABLE_BACKUP)

BACKUP_TYPES = {"D": "full", "I": "differential", "L": "log"}


class NoChecksum(Check):
    id = "backup.no_checksum"
    engines = frozenset({"mssql"})
    title = "newest backups taken without CHECKSUM (msdb has_backup_checksums = 0)"
    queries = {"mssql": {"newest_backups": MSSQL_NEWEST_BACKUPS}}
    defaults = {"ignore_databases": []}
    max_rows = 15000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        unchecked: dict[str, list[dict[str, Any]]] = {}
        for row in ctx.query(self, "newest_backups"):
            kind = "log" if str(row["type"]).strip() == "L" else "full"
            if backed_up_here(ctx, row, kind) and not truthy(row["has_backup_checksums"]):
                unchecked.setdefault(row["name"], []).append(row)
        for name, rows in unchecked.items():
            kinds = [BACKUP_TYPES.get(str(r["type"]).strip(), str(r["type"])) for r in rows]
            yield self.finding(
                ctx, "warning", name,
                f"newest {', '.join(kinds)} backup(s) of {name} were taken without CHECKSUM: damaged pages would "
                "go unnoticed until a restore",
                f"add WITH CHECKSUM to the backup job (BACKUP DATABASE {ctx.db.quote(name)} TO ... WITH CHECKSUM), "
                "or make it the server default: EXEC sp_configure 'backup checksum default', 1; RECONFIGURE;",
                backups=[{"type": BACKUP_TYPES.get(str(r["type"]).strip(), r["type"]),
                          "backup_finish_date": r["backup_finish_date"], "is_copy_only": bool(r.get("is_copy_only"))}
                         for r in rows],
            )
