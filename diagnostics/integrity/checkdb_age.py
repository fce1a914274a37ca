"""integrity.checkdb_age (SQL Server): no clean DBCC CHECKDB within the threshold.

Corruption found late is corruption already in every backup kept. The last CHECKDB that found
no error is DATABASEPROPERTYEX(name, 'LastGoodCheckDbTime') on SQL Server 2016 SP2 and later
(1900-01-01: never); older servers need DBCC DBINFO (sysadmin), so they are reported as not
examined. One finding per database.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import age, in_scope, seconds_option

CHECKDB = """
SELECT d.name AS catalog,
       CAST(DATABASEPROPERTYEX(d.name, 'LastGoodCheckDbTime') AS datetime) AS last_good_checkdb,
       CASE WHEN CAST(DATABASEPROPERTYEX(d.name, 'LastGoodCheckDbTime') AS datetime) > '19000101'
            THEN DATEDIFF_BIG(second, CAST(DATABASEPROPERTYEX(d.name, 'LastGoodCheckDbTime') AS datetime), GETDATE())
       END AS checkdb_age_seconds,
       CASE WHEN DATABASEPROPERTYEX(d.name, 'LastGoodCheckDbTime') IS NULL THEN 0 ELSE 1 END AS checkdb_known,
       DATEDIFF_BIG(second, d.create_date, GETDATE()) AS created_age_seconds
FROM sys.databases AS d
WHERE d.state = 0
  AND d.name <> N'tempdb'
  AND d.source_database_id IS NULL
ORDER BY d.name
"""


class CheckdbAge(Check):
    id = "integrity.checkdb_age"
    engines = frozenset({"mssql"})
    title = "No clean DBCC CHECKDB within the threshold"
    queries = {"mssql": {"checkdb": CHECKDB}}
    defaults = {"warning": "7d", "critical": "30d"}
    max_rows = 5000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        warning, critical = seconds_option(self, ctx, "warning"), seconds_option(self, ctx, "critical")
        rows = [r for r in ctx.query(self, "checkdb")
                if in_scope(ctx, r["catalog"]) or r["catalog"] in ("master", "msdb", "model")]
        unknown = [r["catalog"] for r in rows if not number(r["checkdb_known"], None)]
        for catalog in unknown:
            ctx.not_examined(self.id, "LastGoodCheckDbTime needs SQL Server 2016 SP2 or later (DBCC DBINFO, "
                                      "which needs sysadmin, is not run)", catalog=catalog)
        known = [r for r in rows if number(r["checkdb_known"], None)]
        ctx.examined("databases", len(known))
        for row in known:
            checked = number(row["checkdb_age_seconds"], None)
            since = checked if checked is not None else number(row["created_age_seconds"])
            if since < warning:
                continue
            summary = (f"last clean DBCC CHECKDB {age(checked)} ago" if checked is not None
                       else f"DBCC CHECKDB never completed cleanly (database created {age(since)} ago)")
            yield self.finding(
                ctx, "critical" if since >= critical else "warning", str(row["catalog"]),
                f"{summary} (threshold {age(warning)})",
                f"schedule DBCC CHECKDB ([{row['catalog']}]) WITH NO_INFOMSGS, ALL_ERRORMSGS weekly (Ola Hallengren's "
                "DatabaseIntegrityCheck, or on a restored backup copy when the window is short)",
                last_good_checkdb=row["last_good_checkdb"] if checked is not None else None,
                checkdb_age_seconds=checked, created_age_seconds=row["created_age_seconds"],
            )
