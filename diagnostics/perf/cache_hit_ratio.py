"""perf.cache_hit_ratio: too many reads miss the database's own cache and go to disk.

PostgreSQL: per database, ``blks_hit / (blks_hit + blks_read)`` from ``pg_stat_database``
since its stats were reset. SQL Server: the Buffer Manager's "Buffer cache hit ratio"
counter (with page life expectancy as evidence). MariaDB/MySQL: InnoDB buffer pool
``1 - Innodb_buffer_pool_reads / Innodb_buffer_pool_read_requests`` since start-up.
A ratio is judged only once enough reads have been counted for it to mean something.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import age, in_scope

POSTGRESQL_DATABASES = """
SELECT d.datname AS catalog_name, d.blks_hit, d.blks_read, d.stats_reset,
       EXTRACT(EPOCH FROM now() - COALESCE(d.stats_reset, pg_postmaster_start_time())) AS stats_age_seconds,
       current_setting('shared_buffers') AS shared_buffers
FROM pg_stat_database AS d
WHERE d.datname IS NOT NULL
"""

# counter_name and object_name are nchar, padded with blanks.
MSSQL_COUNTERS = """
SELECT RTRIM(pc.object_name) AS object_name, RTRIM(pc.counter_name) AS counter_name, pc.cntr_value, pc.cntr_type
FROM sys.dm_os_performance_counters AS pc
WHERE pc.object_name LIKE N'%Buffer Manager%'
  AND pc.counter_name IN (N'Buffer cache hit ratio', N'Buffer cache hit ratio base', N'Page life expectancy')
"""

MYSQL_STATUS = """
SELECT VARIABLE_NAME AS variable_name, VARIABLE_VALUE AS variable_value
FROM information_schema.GLOBAL_STATUS
WHERE VARIABLE_NAME IN ('INNODB_BUFFER_POOL_READ_REQUESTS', 'INNODB_BUFFER_POOL_READS', 'UPTIME')
"""

MYSQL_BUFFER_POOL_SIZE = "SELECT @@innodb_buffer_pool_size AS buffer_pool_bytes"

ADVICE = {
    "postgresql": "the working set does not fit in memory: raise shared_buffers (about a quarter of RAM) and "
                  "effective_cache_size, add RAM, or cut the reads at their source (perf.top_query, perf.missing_index)",
    "mssql": "the buffer pool is too small for the working set: check max server memory and the host's RAM, and "
             "cut the reads at their source (perf.top_query, perf.missing_index)",
    "mysql": "the InnoDB buffer pool is too small for the working set: raise innodb_buffer_pool_size (up to about "
             "70 % of a dedicated server's RAM), or cut the reads at their source (perf.top_query, perf.missing_index)",
}


class CacheHitRatio(Check):
    id = "perf.cache_hit_ratio"
    engines = frozenset({"mssql", "postgresql", "mysql"})
    title = "share of page reads served from the database's cache, below a threshold"
    queries = {
        "postgresql": {"databases": POSTGRESQL_DATABASES},
        "mssql": {"counters": MSSQL_COUNTERS},
        "mysql": {"status": MYSQL_STATUS, "buffer_pool_size": MYSQL_BUFFER_POOL_SIZE},
    }
    defaults = {
        "min_ratio": 0.95,  # below this: warning
        "critical_ratio": 0.80,  # below this: critical
        "min_reads": 100_000,  # page reads (hits + misses) counted before a ratio is judged
    }
    max_rows = 1000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        if ctx.engine == "postgresql":
            for row in ctx.query(self, "databases"):
                if not in_scope(ctx, row["catalog_name"]):
                    continue
                hits, misses = number(row["blks_hit"]), number(row["blks_read"])
                yield from self._judge(ctx, row["catalog_name"], hits, misses, row["stats_age_seconds"],
                                       blks_hit=row["blks_hit"], blks_read=row["blks_read"],
                                       stats_reset=row["stats_reset"], shared_buffers=row["shared_buffers"])
        elif ctx.engine == "mssql":
            counters = {r["counter_name"]: number(r["cntr_value"]) for r in ctx.query(self, "counters")}
            # A "raw fraction" counter: value / base is the ratio SQL Server itself computed over
            # its recent reads, so min_reads does not apply.
            base = counters.get("Buffer cache hit ratio base", 0.0)
            value = counters.get("Buffer cache hit ratio", 0.0)
            yield from self._judge(ctx, "buffer pool", value, max(0.0, base - value), None,
                                   page_life_expectancy_seconds=counters.get("Page life expectancy"),
                                   counter_value=value, counter_base=base, min_reads_applies=False)
        else:
            status = {r["variable_name"].upper(): number(r["variable_value"]) for r in ctx.query(self, "status")}
            requests = status.get("INNODB_BUFFER_POOL_READ_REQUESTS", 0.0)
            misses = status.get("INNODB_BUFFER_POOL_READS", 0.0)
            pool = ctx.query(self, "buffer_pool_size")
            yield from self._judge(ctx, "innodb_buffer_pool", max(0.0, requests - misses), misses, status.get("UPTIME"),
                                   innodb_buffer_pool_read_requests=requests, innodb_buffer_pool_reads=misses,
                                   innodb_buffer_pool_size=pool[0]["buffer_pool_bytes"] if pool else None)

    def _judge(self, ctx: CheckContext, obj: str, hits: float, misses: float, since_seconds, *,
               min_reads_applies: bool = True, **evidence) -> Iterator[Finding]:
        total = hits + misses
        if total <= 0 or (min_reads_applies and total < number(ctx.options["min_reads"])):
            return
        ratio = hits / total
        if ratio >= number(ctx.options["min_ratio"]):
            return
        severity = "critical" if ratio < number(ctx.options["critical_ratio"]) else "warning"
        window = f" over {age(number(since_seconds))}" if since_seconds is not None else ""
        yield self.finding(
            ctx, severity, obj,
            f"cache hit ratio is {ratio:.1%}{window} (threshold {number(ctx.options['min_ratio']):.0%}): "
            f"{misses:,.0f} of {total:,.0f} page reads went to disk",
            ADVICE[ctx.engine],
            hit_ratio=round(ratio, 4), page_reads=total, disk_reads=misses,
            counted_over_seconds=None if since_seconds is None else round(number(since_seconds)), **evidence,
        )
