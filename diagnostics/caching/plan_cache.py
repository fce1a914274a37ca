"""caching.plan_cache: the SQL Server plan cache flooded with single-use ad hoc plans.

CFML pages that build SQL with ``#variables#`` instead of ``<cfqueryparam>`` send one statement
text per value: each gets its own plan, the cache fills with plans used once, compilations eat
CPU and useful plans are evicted. The check reads ``sys.dm_exec_cached_plans`` (the share of the
cache's bytes held by single-use ad hoc plans; exported as
``l4agent_database_plan_cache_single_use_ratio``), the ``optimize for ad hoc workloads`` setting,
and the statement families with the most distinct plans for one ``query_hash``
(``sys.dm_exec_query_stats``): each with its plan count, cache bytes and a sample text.
The fix is to parameterize (``<cfqueryparam>``); the server-side stopgaps come with their
statements. Needs VIEW SERVER STATE.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.core.samples import gauge
from l4agent.core.units import format_bytes
from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import first_line

SINGLE_USE_RATIO = gauge("l4agent_database_plan_cache_single_use_ratio",
                         "Share of the SQL Server plan cache's bytes held by ad hoc plans used once (0-1).")

# One pass over the plan cache; OPTION (RECOMPILE) so the check leaves no plan of its own.
SUMMARY = """
SELECT SUM(CAST(cp.size_in_bytes AS bigint)) AS total_bytes,
       COUNT_BIG(*) AS total_plans,
       SUM(CASE WHEN cp.objtype = N'Adhoc' AND cp.usecounts = 1
                THEN CAST(cp.size_in_bytes AS bigint) ELSE 0 END) AS single_use_bytes,
       SUM(CASE WHEN cp.objtype = N'Adhoc' AND cp.usecounts = 1 THEN 1 ELSE 0 END) AS single_use_plans
FROM sys.dm_exec_cached_plans AS cp
OPTION (RECOMPILE)
"""

OPTIMIZE_FOR_AD_HOC = """
SELECT CONVERT(int, c.value_in_use) AS value_in_use
FROM sys.configurations AS c
WHERE c.name = N'optimize for ad hoc workloads'
"""

# Statement shapes (one query_hash) with many plans: literals instead of parameters. Aggregated
# first, the sample text fetched for the top rows only.
FAMILIES = """
WITH families AS (
    SELECT qs.query_hash,
           COUNT(DISTINCT qs.plan_handle) AS plan_count,
           SUM(qs.execution_count) AS executions,
           MIN(qs.sql_handle) AS sample_handle
    FROM sys.dm_exec_query_stats AS qs
    GROUP BY qs.query_hash
    HAVING COUNT(DISTINCT qs.plan_handle) >= ?
),
family_bytes AS (
    SELECT plans.query_hash, SUM(CAST(cp.size_in_bytes AS bigint)) AS cache_bytes
    FROM (SELECT DISTINCT query_hash, plan_handle FROM sys.dm_exec_query_stats) AS plans
    JOIN sys.dm_exec_cached_plans AS cp ON cp.plan_handle = plans.plan_handle
    GROUP BY plans.query_hash
)
SELECT TOP (20)
       CONVERT(varchar(18), f.query_hash, 1) AS query_hash,
       f.plan_count, f.executions, b.cache_bytes,
       DB_NAME(st.dbid) AS catalog_name,
       LEFT(st.text, 300) AS sample_text
FROM families AS f
JOIN family_bytes AS b ON b.query_hash = f.query_hash
OUTER APPLY sys.dm_exec_sql_text(f.sample_handle) AS st
ORDER BY b.cache_bytes DESC
OPTION (RECOMPILE)
"""

AD_HOC_ON = ("EXEC sp_configure 'show advanced options', 1; RECONFIGURE; "
             "EXEC sp_configure 'optimize for ad hoc workloads', 1; RECONFIGURE;")
FORCED = "ALTER DATABASE {database} SET PARAMETERIZATION FORCED;"


class PlanCache(Check):
    id = "caching.plan_cache"
    engines = frozenset({"mssql"})
    title = "plan cache flooded by single-use ad hoc plans; statement shapes with many plans (SQL Server)"
    queries = {"mssql": {"summary": SUMMARY, "optimize_for_ad_hoc": OPTIMIZE_FOR_AD_HOC, "families": FAMILIES}}
    defaults = {
        "single_use_ratio": 0.3,  # share of the cache's bytes in single-use ad hoc plans
        "min_cache_bytes": 256 * 1024 * 1024,  # a small cache is not judged
        "min_family_plans": 50,  # distinct plans of one query_hash
    }

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        [summary] = ctx.query(self, "summary") or [{}]
        total, single = number(summary.get("total_bytes")), number(summary.get("single_use_bytes"))
        ctx.examined("cached plans", int(number(summary.get("total_plans"))))
        setting = ctx.query(self, "optimize_for_ad_hoc")
        ad_hoc_on = bool(setting and number(setting[0]["value_in_use"]))
        if total:
            ratio = single / total
            ctx.measure(SINGLE_USE_RATIO(round(ratio, 4), database=ctx.target_name))
            if total >= ctx.options["min_cache_bytes"] and ratio >= ctx.options["single_use_ratio"]:
                yield self.finding(
                    ctx, "warning", "plan cache",
                    f"{ratio:.0%} of the plan cache ({format_bytes(single)} of {format_bytes(total)}) holds ad hoc "
                    f"plans used once; 'optimize for ad hoc workloads' is {'on' if ad_hoc_on else 'off'}",
                    "parameterize the statements that send literals (<cfqueryparam> in CFML; see the statement "
                    "families of this check)" + ("" if ad_hoc_on else f"; server-side stopgap: {AD_HOC_ON}"),
                    total_bytes=int(total), single_use_bytes=int(single), single_use_ratio=round(ratio, 4),
                    single_use_plans=int(number(summary.get("single_use_plans"))),
                    total_plans=int(number(summary.get("total_plans"))), optimize_for_ad_hoc_workloads=ad_hoc_on,
                )
        for row in ctx.query(self, "families", (int(ctx.options["min_family_plans"]),)):
            plans = int(number(row["plan_count"]))
            catalog = row["catalog_name"]
            forced = FORCED.format(database=ctx.db.quote(catalog) if catalog else "[<database>]")
            yield self.finding(
                ctx, "warning", f"query_hash {row['query_hash']}",
                f"one statement shape has {plans:,} cached plans ({format_bytes(number(row['cache_bytes']))}): "
                f"it is sent with literals: {first_line(row['sample_text'], 120)}",
                f"parameterize it (<cfqueryparam> in CFML); server-side stopgap for its database: {forced}",
                query_hash=row["query_hash"], plan_count=plans, executions=int(number(row["executions"])),
                cache_bytes=int(number(row["cache_bytes"])), catalog=catalog, sample=row["sample_text"],
            )
