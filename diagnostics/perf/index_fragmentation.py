"""perf.index_fragmentation (SQL Server): fragmented indexes large enough for it to matter.

``sys.dm_db_index_physical_stats`` in LIMITED mode reads only the pages above the leaf level,
so it is cheap even on large catalogs. Microsoft's guidance: below 1,000 pages fragmentation
does not matter; 5-30 % calls for ``REORGANIZE``, above 30 % for ``REBUILD``.

On a big catalog even LIMITED can outrun the query timeout, so the scan goes object by object:
the candidates (user tables with at least ``min_pages`` index pages, largest first, at most
``max_objects``) come from cheap metadata (sys.dm_db_partition_stats), then one
``dm_db_index_physical_stats(DB_ID(), object_id, ...)`` per object, each with ``object_timeout``,
until the run's ``budget`` is spent; what was left is reported as not examined. Catalogs that are
offline or not readable are skipped (named), and on an availability-group secondary the scan is
not run at all: its IS locks can block redo there.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from l4agent.dbaccess.connection import DatabaseError
from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import (
    MSSQL_CATALOG_STATE,
    age,
    isolated,
    qualified,
    readable_catalogs,
    seconds_option,
    truthy,
)

# Run in each catalog: user tables with at least ? index pages (8 KB), largest first.
MSSQL_CANDIDATES = """
SELECT TOP (?) p.object_id, SUM(p.used_page_count) AS used_pages
FROM sys.dm_db_partition_stats AS p
JOIN sys.objects AS o ON o.object_id = p.object_id
WHERE o.is_ms_shipped = 0 AND o.type = 'U' AND p.index_id > 0
GROUP BY p.object_id
HAVING SUM(p.used_page_count) >= ?
ORDER BY used_pages DESC
"""

# Run in each catalog, once per candidate object (DB_ID() of the current database); documented
# columns of the DMV.
MSSQL_FRAGMENTED = """
SELECT DB_NAME() AS database_name, s.name AS schema_name, o.name AS table_name, i.name AS index_name,
       ps.index_id, ps.partition_number, ps.index_type_desc, ps.alloc_unit_type_desc,
       ps.avg_fragmentation_in_percent, ps.fragment_count, ps.page_count
FROM sys.dm_db_index_physical_stats(DB_ID(), ?, NULL, NULL, 'LIMITED') AS ps
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
    catalog_statements = frozenset({"candidates", "fragmented"})
    queries = {"mssql": {"catalog_state": MSSQL_CATALOG_STATE, "candidates": MSSQL_CANDIDATES,
                         "fragmented": MSSQL_FRAGMENTED}}
    defaults = {
        "min_pages": 1000,  # 8 KB pages; smaller indexes are read whole anyway
        "reorganize_percent": 5.0,  # avg_fragmentation_in_percent from which to REORGANIZE
        "rebuild_percent": 30.0,  # ... above which to REBUILD
        "max_objects": 200,  # largest tables scanned per catalog
        "object_timeout": "30s",  # one table's scan at most
        "budget": "5m",  # every scan of one run together at most
    }
    max_rows = 100

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        names, states = readable_catalogs(ctx, self)
        deadline = time.monotonic() + seconds_option(self, ctx, "budget")
        for catalog in names:
            state = states.get(catalog or "", {})
            if truthy(state.get("is_secondary")):
                ctx.not_examined(self.id, f"catalog {catalog} skipped: an availability-group secondary, where the "
                                          "scan's IS locks can block redo; it is judged on the primary", catalog=catalog)
                continue
            yield from isolated(ctx, self, catalog, lambda c=catalog: self._catalog(ctx, c, deadline))

    def _catalog(self, ctx: CheckContext, catalog: str | None, deadline: float) -> Iterator[Finding]:
        min_pages = int(ctx.options["min_pages"])
        reorganize_at = number(ctx.options["reorganize_percent"])
        timeout = seconds_option(self, ctx, "object_timeout")
        candidates = ctx.query(self, "candidates", [int(ctx.options["max_objects"]), min_pages], catalog=catalog)
        rows: list[dict[str, Any]] = []
        scanned, timed_out = 0, []
        for candidate in candidates:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                rows += ctx.query(self, "fragmented", [candidate["object_id"], min_pages, reorganize_at],
                                  catalog=catalog, timeout=min(timeout, left))
            except DatabaseError as exc:
                if exc.kind != "timeout":
                    raise
                timed_out.append(candidate["object_id"])
            scanned += 1
        ctx.examined("tables", scanned, catalog=catalog)
        if scanned < len(candidates):
            ctx.not_examined(self.id, f"{len(candidates) - scanned} of {len(candidates)} large tables not scanned: "
                                      f"the run's budget ({age(seconds_option(self, ctx, 'budget'))}) was spent",
                             catalog=catalog)
        if timed_out:
            ctx.not_examined(self.id, f"{len(timed_out)} table(s) took longer than object_timeout "
                                      f"({age(timeout)}): object_id {', '.join(map(str, timed_out[:10]))}",
                             catalog=catalog)
        rebuild_above = number(ctx.options["rebuild_percent"])
        rows.sort(key=lambda r: -number(r["page_count"]) * number(r["avg_fragmentation_in_percent"]))
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
