"""perf.top_query: the statements that cost the server most, by total time, CPU and reads.

Sources: SQL Server ``sys.dm_exec_query_stats`` (per query_hash, since the plan was cached),
PostgreSQL ``pg_stat_statements`` (since its last reset), MariaDB/MySQL
``performance_schema.events_statements_summary_by_digest`` (since start-up or truncate).
Each statement ranks the server's statements once, set-based, and returns only the top N of
each ranking; a query is reported when it is also big enough in absolute terms to matter.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

from l4agent.dbaccess.connection import DatabaseError, dsn_value
from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import (
    PERFORMANCE_SCHEMA,
    age,
    first_line,
    in_scope,
    qualified,
    require_performance_schema,
)
from l4agent.diagnostics.sqlparse import ParseFailure, table_uses

# total_elapsed_time / total_worker_time are microseconds, total_logical_reads 8 KB pages.
# One pass over sys.dm_exec_query_stats: per query_hash the totals, and the handles and offsets of
# its costliest cached plan (ROW_NUMBER); the text and plan functions are then applied once per
# returned row, not per candidate through a correlated rescan of the DMV.
MSSQL_RANKED = """
WITH per_stmt AS (
    SELECT qs.query_hash, qs.sql_handle, qs.plan_handle, qs.statement_start_offset, qs.statement_end_offset,
           qs.execution_count, qs.total_elapsed_time, qs.total_worker_time, qs.total_logical_reads,
           qs.total_physical_reads, qs.creation_time, qs.last_execution_time,
           ROW_NUMBER() OVER (PARTITION BY qs.query_hash ORDER BY qs.total_elapsed_time DESC) AS pick
    FROM sys.dm_exec_query_stats AS qs
), by_hash AS (
    SELECT p.query_hash,
           SUM(p.execution_count) AS execution_count,
           SUM(p.total_elapsed_time) AS total_elapsed_time,
           SUM(p.total_worker_time) AS total_worker_time,
           SUM(p.total_logical_reads) AS total_logical_reads,
           SUM(p.total_physical_reads) AS total_physical_reads,
           MIN(p.creation_time) AS creation_time,
           MAX(p.last_execution_time) AS last_execution_time,
           MAX(CASE WHEN p.pick = 1 THEN p.sql_handle END) AS sql_handle,
           MAX(CASE WHEN p.pick = 1 THEN p.plan_handle END) AS plan_handle,
           MAX(CASE WHEN p.pick = 1 THEN p.statement_start_offset END) AS statement_start_offset,
           MAX(CASE WHEN p.pick = 1 THEN p.statement_end_offset END) AS statement_end_offset
    FROM per_stmt AS p
    GROUP BY p.query_hash
), ranked AS (
    SELECT b.query_hash, b.execution_count, b.total_elapsed_time, b.total_worker_time, b.total_logical_reads,
           b.total_physical_reads, b.creation_time, b.last_execution_time, b.sql_handle, b.plan_handle,
           b.statement_start_offset, b.statement_end_offset,
           RANK() OVER (ORDER BY b.total_elapsed_time DESC) AS time_rank,
           RANK() OVER (ORDER BY b.total_worker_time DESC) AS cpu_rank,
           RANK() OVER (ORDER BY b.total_logical_reads DESC) AS reads_rank,
           SUM(b.total_elapsed_time) OVER () AS all_elapsed_time
    FROM by_hash AS b
)
SELECT r.query_hash, r.execution_count, r.total_elapsed_time, r.total_worker_time,
       r.total_logical_reads, r.total_physical_reads, r.creation_time, r.last_execution_time,
       r.time_rank, r.cpu_rank, r.reads_rank, r.all_elapsed_time,
       DB_NAME(COALESCE(st.dbid, plan_db.dbid)) AS database_name,
       SUBSTRING(st.text, r.statement_start_offset / 2 + 1,
                 (CASE r.statement_end_offset WHEN -1 THEN DATALENGTH(st.text)
                  ELSE r.statement_end_offset END - r.statement_start_offset) / 2 + 1) AS statement_text
FROM ranked AS r
OUTER APPLY sys.dm_exec_sql_text(r.sql_handle) AS st
OUTER APPLY (SELECT CONVERT(int, pa.value) AS dbid
             FROM sys.dm_exec_plan_attributes(r.plan_handle) AS pa
             WHERE pa.attribute = N'dbid') AS plan_db
WHERE r.time_rank <= ? OR r.cpu_rank <= ? OR r.reads_rank <= ?
ORDER BY r.time_rank
"""

# The cached plan of one reported statement (its costliest), for the warnings sp_BlitzCache reads.
MSSQL_PLAN = """
SELECT TOP (1) CONVERT(nvarchar(max), qp.query_plan) AS query_plan
FROM sys.dm_exec_query_stats AS qs
CROSS APPLY sys.dm_exec_query_plan(qs.plan_handle) AS qp
WHERE qs.query_hash = CONVERT(binary(8), ?, 1)
ORDER BY qs.total_elapsed_time DESC
"""

# Times in milliseconds; reads are shared buffer blocks (8 KB) hit or read.
POSTGRESQL_RANKED = """
SELECT * FROM (
    SELECT s.queryid::text AS query_id, d.datname AS catalog_name, r.rolname AS user_name,
           s.calls, s.total_exec_time AS total_ms, s.mean_exec_time AS mean_ms, s.rows,
           s.shared_blks_hit + s.shared_blks_read AS read_count, s.shared_blks_read AS disk_reads,
           s.query AS query_text,
           rank() OVER (ORDER BY s.total_exec_time DESC) AS time_rank,
           rank() OVER (ORDER BY s.shared_blks_hit + s.shared_blks_read DESC) AS reads_rank,
           sum(s.total_exec_time) OVER () AS all_total_ms
    FROM pg_stat_statements AS s
    LEFT JOIN pg_database AS d ON d.oid = s.dbid
    LEFT JOIN pg_roles AS r ON r.oid = s.userid
) AS ranked
WHERE time_rank <= ? OR reads_rank <= ?
ORDER BY time_rank
"""

# Timers are picoseconds; "reads" are rows examined (the engine counts no pages per digest).
MYSQL_RANKED = """
SELECT * FROM (
    SELECT DIGEST AS query_id, SCHEMA_NAME AS catalog_name, COUNT_STAR AS calls,
           SUM_TIMER_WAIT / 1000000000 AS total_ms, AVG_TIMER_WAIT / 1000000000 AS mean_ms,
           SUM_ROWS_SENT AS rows_sent, SUM_ROWS_EXAMINED AS read_count, SUM_NO_INDEX_USED AS full_scans,
           LEFT(DIGEST_TEXT, 2000) AS query_text,
           RANK() OVER (ORDER BY SUM_TIMER_WAIT DESC) AS time_rank,
           RANK() OVER (ORDER BY SUM_ROWS_EXAMINED DESC) AS reads_rank,
           SUM(SUM_TIMER_WAIT) OVER () / 1000000000 AS all_total_ms
    FROM performance_schema.events_statements_summary_by_digest
    WHERE DIGEST IS NOT NULL
) AS ranked
WHERE time_rank <= ? OR reads_rank <= ?
ORDER BY time_rank
"""

READS_UNIT = {"mssql": "logical reads (8 KB pages)", "postgresql": "shared blocks (8 KB) hit or read",
              "mysql": "rows examined"}
PLAN_HINT = {
    "mssql": "read its actual execution plan",
    "postgresql": "run EXPLAIN (ANALYZE, BUFFERS) on it",
    "mysql": "run ANALYZE FORMAT=JSON on it",
}


def _normalized(engine: str, row: dict[str, Any]) -> dict[str, Any]:
    """One statement's figures in common units: milliseconds, calls, reads."""
    if engine == "mssql":
        calls = int(number(row["execution_count"]))
        total_ms = number(row["total_elapsed_time"]) / 1000.0
        query_hash = row["query_hash"]
        query_id = "0x" + query_hash.hex().upper() if isinstance(query_hash, bytes | bytearray) else str(query_hash)
        return {
            "query_id": query_id, "catalog": row.get("database_name"), "calls": calls,
            "total_ms": total_ms, "mean_ms": total_ms / calls if calls else 0.0,
            "cpu_ms": number(row["total_worker_time"]) / 1000.0,
            "reads": number(row["total_logical_reads"]), "disk_reads": number(row["total_physical_reads"]),
            "text": row.get("statement_text"), "all_total_ms": number(row["all_elapsed_time"]) / 1000.0,
            "time_rank": int(row["time_rank"]), "cpu_rank": int(row["cpu_rank"]),
            "reads_rank": int(row["reads_rank"]), "since": row.get("creation_time"),
        }
    return {
        "query_id": str(row["query_id"]), "catalog": row.get("catalog_name"), "calls": int(number(row["calls"])),
        "total_ms": number(row["total_ms"]), "mean_ms": number(row["mean_ms"]), "cpu_ms": None,
        "reads": number(row["read_count"]), "disk_reads": row.get("disk_reads"), "text": row.get("query_text"),
        "all_total_ms": number(row["all_total_ms"]), "time_rank": int(row["time_rank"]), "cpu_rank": None,
        "reads_rank": int(row["reads_rank"]), "since": None, "full_scans": row.get("full_scans"),
    }


def statement_catalogs(engine: str, text: Any, default: str | None) -> list[str]:
    """The catalogs a statement names: the catalog of each table it reads or writes (its own
    qualifier, else ``default``, the session's default schema / database). PostgreSQL statements
    stay in their database. A text that does not parse counts for ``default`` alone."""
    if engine == "postgresql" or not text:
        return [default] if default else []
    try:
        uses = table_uses(str(text), engine, default_schema=default if engine == "mysql" else None)
    except (ParseFailure, ValueError, RecursionError):
        return [default] if default else []
    names = {(u.schema if engine == "mysql" else u.catalog or default) for u in uses}
    if not uses and default:
        names.add(default)
    return sorted(n for n in names if n)


PLAN_WARNINGS = (
    # (what sp_BlitzCache calls it, pattern in the showplan XML)
    ("implicit conversion", re.compile(r"<PlanAffectingConvert\b[^>]*ConvertIssue=\"([^\"]*)\"[^>]*Expression=\"([^\"]*)\"")),
    ("key lookup", re.compile(r"<IndexScan\b[^>]*\bLookup=\"(?:1|true)\"[^>]*>\s*<DefinedValues>|<IndexScan\b[^>]*\bLookup=\"(?:1|true)\"")),
    ("missing index", re.compile(r"<MissingIndexGroup\b[^>]*Impact=\"([0-9.]+)\"")),
    ("spill to tempdb", re.compile(r"<(SpillToTempDb|SortSpillDetails|HashSpillDetails|ExchangeSpillDetails)\b")),
)
_MISSING_INDEX_TABLE = re.compile(r"<MissingIndex\b[^>]*Database=\"([^\"]*)\"[^>]*Schema=\"([^\"]*)\"[^>]*Table=\"([^\"]*)\"")


def plan_warnings(plan_xml: str | None) -> list[str]:
    """The plan-cache warnings of one showplan XML (sp_BlitzCache's checks): implicit conversions
    that affect the plan, key lookups, missing indexes the optimizer noted, spills to tempdb.
    Read with patterns, not an XML parser: the plan comes from the server and is only searched."""
    if not plan_xml:
        return []
    found = []
    for name, pattern in PLAN_WARNINGS:
        matches = pattern.findall(plan_xml)
        if not matches:
            continue
        if name == "implicit conversion":
            issues = sorted({f"{issue}: {html.unescape(expr)}" for issue, expr in matches})
            found.append(f"implicit conversion ({'; '.join(issues[:3])})")
        elif name == "missing index":
            tables = sorted({".".join(html.unescape(p) for p in t) for t in _MISSING_INDEX_TABLE.findall(plan_xml)})
            impact = max(float(m) for m in matches)
            found.append(f"missing index in plan on {', '.join(tables) or 'a table'} (impact {impact:.0f}%)")
        elif name == "spill to tempdb":
            found.append("spill to tempdb (" + ", ".join(sorted(set(matches))) + ")")
        else:
            found.append(f"key lookup ({len(matches)} in the plan)")
    return found


class TopQuery(Check):
    id = "perf.top_query"
    engines = frozenset({"mssql", "postgresql", "mysql"})
    title = "statements costing the most total time, CPU or reads (top N, with calls and mean time)"
    queries = {
        "mssql": {"ranked": MSSQL_RANKED, "plan": MSSQL_PLAN},
        "postgresql": {"ranked": POSTGRESQL_RANKED},
        "mysql": {"ranked": MYSQL_RANKED, "performance_schema": PERFORMANCE_SCHEMA},
    }
    defaults = {
        "top_n": 10,  # statements per ranking (time, CPU, reads); at most 100
        "min_total_seconds": 60.0,  # total time (or CPU) a top statement must have taken
        "min_reads": 1_000_000,  # reads a top-by-reads statement must have done (engine's unit)
        "warning_share": 0.25,  # share of all statement time that makes it a warning
        "warning_mean_ms": 1000.0,  # mean time per call that makes it a warning
        "explain": True,  # plan each reported statement: its costly nodes (SQL Server: plan warnings)
    }
    max_rows = 300

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        top_n = max(1, min(100, int(ctx.options["top_n"])))
        if ctx.engine == "mysql":
            require_performance_schema(self, ctx, "statements_digest")
        rankings = 3 if ctx.engine == "mssql" else 2
        # The server ranks all its statements; candidates beyond top_n leave room for statements
        # of catalogs outside this target's scope, which are dropped before ranking again here.
        candidates = top_n * 3
        try:
            rows = ctx.query(self, "ranked", [candidates] * rankings, max_rows=rankings * candidates + 50)
        except DatabaseError as exc:
            if ctx.engine == "postgresql" and "pg_stat_statements" in str(exc):
                raise DatabaseError(f"{exc}; statement statistics need the extension: add pg_stat_statements to "
                                    "shared_preload_libraries and run CREATE EXTENSION pg_stat_statements in this "
                                    "database", exc.kind) from None
            raise
        statements = []
        for stats in (_normalized(ctx.engine, row) for row in rows):
            # A statement counts for every configured catalog it names, whatever the session's
            # default schema; one that names none is reported under the target.
            stats["catalogs"] = statement_catalogs(ctx.engine, stats["text"], stats["catalog"])
            scoped = [c for c in stats["catalogs"] if in_scope(ctx, c)]
            if scoped or not stats["catalogs"]:
                stats["scoped"] = scoped
                statements.append(stats)
        for catalog in sorted({c for s in statements for c in s["scoped"]}):
            ctx.examined("statements", len([s for s in statements if catalog in s["scoped"]]), catalog=catalog)
        if any(not s["scoped"] for s in statements):
            ctx.examined("statements", len([s for s in statements if not s["scoped"]]))
        for key, rank in (("total_ms", "time_rank"), ("cpu_ms", "cpu_rank"), ("reads", "reads_rank")):
            if rank == "cpu_rank" and ctx.engine != "mssql":
                continue
            for position, stats in enumerate(sorted(statements, key=lambda s: -s[key]), start=1):  # noqa: B023
                stats[rank] = position
        min_total_ms = number(ctx.options["min_total_seconds"]) * 1000.0
        for stats in statements:
            reasons = []
            if stats["time_rank"] <= top_n and stats["total_ms"] >= min_total_ms:
                reasons.append(f"#{stats['time_rank']} by total time")
            if stats["cpu_rank"] is not None and stats["cpu_rank"] <= top_n and stats["cpu_ms"] >= min_total_ms:
                reasons.append(f"#{stats['cpu_rank']} by CPU")
            if stats["reads_rank"] <= top_n and stats["reads"] >= number(ctx.options["min_reads"]):
                reasons.append(f"#{stats['reads_rank']} by reads")
            if reasons:
                yield self._finding(ctx, stats, reasons)

    def _finding(self, ctx: CheckContext, stats: dict[str, Any], reasons: list[str]) -> Finding:
        share = stats["total_ms"] / stats["all_total_ms"] if stats["all_total_ms"] else 0.0
        heavy = share >= number(ctx.options["warning_share"]) or stats["mean_ms"] >= number(ctx.options["warning_mean_ms"])
        summary = (f"top statement ({', '.join(reasons)}): {age(stats['total_ms'] / 1000.0)} in "
                   f"{stats['calls']:,.0f} calls, mean {stats['mean_ms']:,.1f} ms, {share:.0%} of all statement time: "
                   f"{first_line(stats['text'], 120)}")
        recommendation = (f"tune this statement: {PLAN_HINT[ctx.engine]}, index the columns its WHERE/JOIN "
                          "clauses filter on, fetch fewer rows, and have the application call it less often "
                          "(cache the result) when its calls are frequent")
        catalog = stats["scoped"][0] if stats["scoped"] else None
        evidence: dict[str, Any] = {
            "query_id": stats["query_id"], "catalog": catalog, "catalogs": stats["catalogs"],
            "default_catalog": stats["catalog"], "calls": stats["calls"],
            "total_ms": round(stats["total_ms"], 1), "mean_ms": round(stats["mean_ms"], 3),
            "share_of_total_time": round(share, 4), "reads": stats["reads"], "reads_unit": READS_UNIT[ctx.engine],
            "rank_by_time": stats["time_rank"], "rank_by_reads": stats["reads_rank"],
            "query": first_line(stats["text"], 2000),
        }
        if stats["cpu_ms"] is not None:
            evidence.update(cpu_ms=round(stats["cpu_ms"], 1), rank_by_cpu=stats["cpu_rank"])
        if stats.get("disk_reads") is not None:
            evidence["disk_reads"] = stats["disk_reads"]
        if stats.get("full_scans") is not None:
            evidence["full_scans"] = stats["full_scans"]
        if stats["since"] is not None:
            evidence["cached_since"] = stats["since"]
        if ctx.options["explain"]:
            plan = self._explain(ctx, stats)
            evidence.update(plan)
            fixes = plan.get("fixed_by")
            if isinstance(fixes, list) and fixes:
                recommendation = (f"create the index the advisor derived for it (perf.missing_index): {fixes[0]}"
                                  + (f" (and {len(fixes) - 1} more in evidence)" if len(fixes) > 1 else ""))
        return self.finding(ctx, "warning" if heavy else "info", qualified(catalog, f"query:{stats['query_id']}"),
                            summary, recommendation, **evidence)

    def _explain(self, ctx: CheckContext, stats: dict[str, Any]) -> dict[str, Any]:
        """The costly parts of the statement's plan and the index advice that would fix it."""
        # Imported here: reading a config that names only this check imports no other check.
        from l4agent.diagnostics.options import options_for
        from l4agent.diagnostics.perf import missing_index
        from l4agent.diagnostics.perf.index_advice import advice_for, explain_one, fixed_by

        if ctx.engine == "mssql":
            try:
                rows = ctx.query(self, "plan", [stats["query_id"]])
            except DatabaseError as exc:
                return {"plan": f"not read: {exc}"}
            if not rows or not rows[0].get("query_plan"):
                return {"plan": "no cached plan"}
            return {"plan_warnings": plan_warnings(str(rows[0]["query_plan"]))}
        if ctx.engine == "postgresql":
            catalog = stats["catalog"]
            if not ctx.target.databases:
                if catalog != dsn_value(ctx.target.dsn, "DATABASE"):
                    return {"plan": "not explained: the statement runs in another database (list it in databases)"}
                catalog = None
            explained = explain_one(ctx.db, "postgresql", catalog, stats["query_id"], str(stats["text"] or ""))
            advice_catalog = catalog
        else:
            explained = explain_one(ctx.db, "mysql", None, stats["query_id"], str(stats["text"] or ""), stats["catalog"])
            advice_catalog = None
        try:
            report = advice_for(ctx.db, ctx.engine, advice_catalog,
                                options_for(missing_index.MissingIndex, ctx.config.diagnostics),
                                lambda c: in_scope(ctx, c))
        except DatabaseError as exc:
            explained["fixed_by"] = f"index advice not available: {exc}"
        else:
            explained["fixed_by"] = fixed_by(report, stats["query_id"])
        return explained
