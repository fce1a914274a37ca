"""perf.index_fragmentation (SQL Server): fragmented indexes large enough for it to matter.

``sys.dm_db_index_physical_stats`` in LIMITED mode reads only the pages above the leaf level,
so it is cheap even on large catalogs. Microsoft's guidance: below 1,000 pages fragmentation
does not matter; 5-30 % calls for ``REORGANIZE``, above 30 % for ``REBUILD``.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import catalogs, qualified

# Run in each catalog (DB_ID() of the current database); documented columns of the DMV.
MSSQL_FRAGMENTED = """
SELECT DB_NAME() AS database_name, s.name AS schema_name, o.name AS table_name, i.name AS index_name,
       ps.index_id, ps.partition_number, ps.index_type_desc, ps.alloc_unit_type_desc,
       ps.avg_fragmentation_in_percent, ps.fragment_count, ps.page_count
FROM sys.dm_db_index_physical_stats(DB_ID(), NULL, NULL, NULL, 'LIMITED') AS ps
JOIN sys.indexes AS i ON i.object_id = ps.object_id AND i.index_id = ps.index_id
JOIN sys.objects AS o ON o.object_id = ps.object_id
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
WHERE ps.index_id > 0
  AND ps.alloc_unit_type_desc = N'IN_ROW_DATA'
  AND o.is_ms_shipped = 0
  AND ps.page_count >= ?
  AND ps.avg_fragmentation_in_percent >= ?
ORDER BY ps.page_count * ps.avg_fragmentation_in_percent DESC
"""


class IndexFragmentation(Check):
    id = "perf.index_fragmentation"
    engines = frozenset({"mssql"})
    title = "fragmented indexes of 1,000+ pages: reorganize at 5-30 %, rebuild above 30 %"
    catalog_statements = frozenset({"fragmented"})
    queries = {"mssql": {"fragmented": MSSQL_FRAGMENTED}}
    defaults = {
        "min_pages": 1000,  # 8 KB pages; smaller indexes are read whole anyway
        "reorganize_percent": 5.0,  # avg_fragmentation_in_percent from which to REORGANIZE
        "rebuild_percent": 30.0,  # ... above which to REBUILD
    }
    max_rows = 100

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        reorganize_at = number(ctx.options["reorganize_percent"])
        rebuild_above = number(ctx.options["rebuild_percent"])
        for catalog in catalogs(ctx):
            rows = ctx.query(self, "fragmented", [int(ctx.options["min_pages"]), reorganize_at], catalog=catalog)
            for row in rows:
                percent = number(row["avg_fragmentation_in_percent"])
                if percent < reorganize_at or number(row["page_count"]) < int(ctx.options["min_pages"]):
                    continue  # the statement filters these already; kept here so the rule reads in one place
                rebuild = percent > rebuild_above
                index = f"{ctx.db.quote(row['index_name'])} ON {ctx.db.quote(row['schema_name'])}.{ctx.db.quote(row['table_name'])}"
                action = "REBUILD" if rebuild else "REORGANIZE"
                partition = int(number(row.get("partition_number"), 1))
                obj = qualified(row["database_name"], row["schema_name"], row["table_name"], row["index_name"])
                if partition > 1:
                    obj += f" (partition {partition})"
                yield self.finding(
                    ctx, "warning" if rebuild else "info", obj,
                    f"index is {percent:.0f}% fragmented over {number(row['page_count']):,.0f} pages",
                    f"ALTER INDEX {index} {action};"
                    + (" (ONLINE = ON on Enterprise edition keeps the table available)" if rebuild else "")
                    + " Schedule it outside business hours.",
                    avg_fragmentation_in_percent=round(percent, 1), page_count=row["page_count"],
                    fragment_count=row.get("fragment_count"), index_type_desc=row.get("index_type_desc"),
                    partition_number=partition,
                )
