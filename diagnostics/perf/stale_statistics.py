"""perf.stale_statistics: optimizer statistics that no longer describe the table.

When many rows changed since the last ANALYZE / UPDATE STATISTICS, the planner estimates row
counts from old figures and picks bad plans. PostgreSQL counts the changes per table
(``n_mod_since_analyze``); SQL Server per statistics object (``sys.dm_db_stats_properties
.modification_counter``). MariaDB/MySQL recalculate InnoDB statistics themselves after 10 %
of a table changed and expose no change counter, so the check does not run there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import MSSQL_CATALOG_STATE, age, isolated, qualified, readable_catalogs

POSTGRESQL_MODIFIED = """
SELECT current_database() AS catalog_name, t.schemaname, t.relname, t.n_live_tup, t.n_mod_since_analyze,
       t.last_analyze, t.last_autoanalyze,
       EXTRACT(EPOCH FROM now() - GREATEST(t.last_analyze, t.last_autoanalyze)) AS analyze_age_seconds,
       COALESCE(array_to_string(c.reloptions, ','), '') AS reloptions
FROM pg_stat_user_tables AS t
JOIN pg_class AS c ON c.oid = t.relid
WHERE t.n_mod_since_analyze >= ?
ORDER BY t.n_mod_since_analyze DESC
LIMIT ?
"""

# Documented columns of sys.stats and sys.dm_db_stats_properties; run in each catalog. SQL Server
# returns properties only for statistics whose columns the login may SELECT (README: grants).
MSSQL_MODIFIED = """
SELECT DB_NAME() AS database_name, sch.name AS schema_name, o.name AS table_name, st.name AS stats_name,
       st.auto_created, st.no_recompute, sp.last_updated, sp.rows, sp.rows_sampled, sp.modification_counter,
       DATEDIFF_BIG(SECOND, sp.last_updated, GETDATE()) AS age_seconds
FROM sys.stats AS st
JOIN sys.objects AS o ON o.object_id = st.object_id
JOIN sys.schemas AS sch ON sch.schema_id = o.schema_id
CROSS APPLY sys.dm_db_stats_properties(st.object_id, st.stats_id) AS sp
WHERE o.type = 'U' AND o.is_ms_shipped = 0 AND sp.modification_counter >= ?
ORDER BY sp.modification_counter DESC
"""

_AUTOANALYZE_OFF = re.compile(r"(?:^|,)autovacuum_enabled=(?:false|off|no|0)(?:,|$)", re.IGNORECASE)


def is_stale(modified: float, rows: float, options: dict[str, Any]) -> bool:
    """Enough changed rows, absolutely and relative to the table's size."""
    return modified >= number(options["min_modified_rows"]) and modified >= number(options["modified_ratio"]) * rows


class StaleStatistics(Check):
    id = "perf.stale_statistics"
    engines = frozenset({"mssql", "postgresql"})
    title = "optimizer statistics with many rows modified since they were last gathered"
    catalog_statements = frozenset({"modified"})
    queries = {
        "postgresql": {"modified": POSTGRESQL_MODIFIED},
        "mssql": {"catalog_state": MSSQL_CATALOG_STATE, "modified": MSSQL_MODIFIED},
    }
    defaults = {
        "min_modified_rows": 1000,  # rows changed since the last analyze
        "modified_ratio": 0.2,  # ... and at least this share of the table's rows
        "top_n": 20,  # tables reported per catalog at most
    }
    max_rows = 500

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        top_n = max(1, min(200, int(ctx.options["top_n"])))
        names, _ = readable_catalogs(ctx, self)
        for catalog in names:
            read = self._postgresql if ctx.engine == "postgresql" else self._mssql
            yield from isolated(ctx, self, catalog, lambda c=catalog, read=read: read(ctx, c, top_n))

    def _postgresql(self, ctx: CheckContext, catalog: str | None, top_n: int) -> Iterator[Finding]:
        rows = ctx.query(self, "modified", [int(ctx.options["min_modified_rows"]), top_n * 5], catalog=catalog)
        stale = [r for r in rows if is_stale(number(r["n_mod_since_analyze"]), number(r["n_live_tup"]), ctx.options)]
        for row in stale[:top_n]:
            table = f"{ctx.db.quote(row['schemaname'])}.{ctx.db.quote(row['relname'])}"
            analyze_age = row["analyze_age_seconds"]
            when = "never analyzed" if analyze_age is None else f"last analyzed {age(number(analyze_age))} ago"
            autovacuum_off = bool(_AUTOANALYZE_OFF.search(row["reloptions"] or ""))
            recommendation = f"ANALYZE {table};"
            if autovacuum_off:
                recommendation += f" autovacuum (which also analyzes) is off for it: ALTER TABLE {table} RESET (autovacuum_enabled);"
            yield self.finding(
                ctx, "warning", qualified(row["catalog_name"], row["schemaname"], row["relname"]),
                f"{number(row['n_mod_since_analyze']):,.0f} rows modified since the statistics were gathered "
                f"(table has {number(row['n_live_tup']):,.0f} rows), {when}",
                recommendation,
                n_mod_since_analyze=row["n_mod_since_analyze"], n_live_tup=row["n_live_tup"],
                last_analyze=row["last_analyze"], last_autoanalyze=row["last_autoanalyze"],
                analyze_age_seconds=None if analyze_age is None else round(number(analyze_age)),
                autovacuum_disabled=autovacuum_off,
            )

    def _mssql(self, ctx: CheckContext, catalog: str | None, top_n: int) -> Iterator[Finding]:
        rows = ctx.query(self, "modified", [int(ctx.options["min_modified_rows"])], catalog=catalog)
        tables: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for row in rows:
            if is_stale(number(row["modification_counter"]), number(row["rows"]), ctx.options):
                tables.setdefault((row["database_name"], row["schema_name"], row["table_name"]), []).append(row)
        for (database, schema, table_name), stats in list(tables.items())[:top_n]:
            worst = max(stats, key=lambda r: number(r["modification_counter"]))
            table = f"{ctx.db.quote(schema)}.{ctx.db.quote(table_name)}"
            updated = worst["age_seconds"]
            yield self.finding(
                ctx, "warning", qualified(database, schema, table_name),
                f"{len(stats)} statistics object(s) out of date: up to {number(worst['modification_counter']):,.0f} "
                f"rows modified of {number(worst['rows']):,.0f} since "
                + ("they were never updated" if updated is None else f"the update {age(number(updated))} ago"),
                f"UPDATE STATISTICS {table};"
                + (" Some have NORECOMPUTE set, so automatic updates skip them." if any(r.get("no_recompute") for r in stats)
                   else ""),
                statistics=[{"name": r["stats_name"], "modification_counter": r["modification_counter"],
                             "rows": r["rows"], "rows_sampled": r["rows_sampled"], "last_updated": r["last_updated"],
                             "no_recompute": bool(r.get("no_recompute"))} for r in stats],
            )
