"""caching.server_caches: MariaDB's query cache churning, and table and thread caches too small.

The query cache (deprecated; off by default since MariaDB 10.1.7) empties a table's entries on
every write under one global mutex: with the ERP's write mix it costs more than it saves. The
table open / definition caches and the thread cache, sized for a small server, make every
statement re-open tables or every connection create a thread. Counters are server-wide since
start-up (``Uptime`` is in evidence); each finding carries the ``SET GLOBAL`` to apply.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding

STATUS = """
SELECT VARIABLE_NAME AS variable_name, VARIABLE_VALUE AS variable_value
FROM information_schema.GLOBAL_STATUS
WHERE VARIABLE_NAME IN ('UPTIME', 'QCACHE_INSERTS', 'QCACHE_HITS', 'QCACHE_LOWMEM_PRUNES', 'QCACHE_NOT_CACHED',
  'QCACHE_QUERIES_IN_CACHE', 'OPENED_TABLES', 'OPEN_TABLES', 'TABLE_OPEN_CACHE_HITS', 'TABLE_OPEN_CACHE_MISSES',
  'TABLE_OPEN_CACHE_OVERFLOWS', 'OPENED_TABLE_DEFINITIONS', 'OPEN_TABLE_DEFINITIONS', 'THREADS_CREATED',
  'CONNECTIONS', 'MAX_USED_CONNECTIONS')
"""

VARIABLES = """
SELECT VARIABLE_NAME AS variable_name, VARIABLE_VALUE AS variable_value
FROM information_schema.GLOBAL_VARIABLES
WHERE VARIABLE_NAME IN ('QUERY_CACHE_TYPE', 'QUERY_CACHE_SIZE', 'TABLE_OPEN_CACHE', 'TABLE_DEFINITION_CACHE',
  'THREAD_CACHE_SIZE', 'THREAD_HANDLING')
"""

PERSIST = "and persist it in the server's my.cnf ([mariadbd] section)"


class ServerCaches(Check):
    id = "caching.server_caches"
    engines = frozenset({"mysql"})
    title = "query cache churning; table open/definition and thread caches too small (MariaDB)"
    queries = {"mysql": {"status": STATUS, "variables": VARIABLES}}
    defaults = {
        "qc_min_inserts": 1000,  # an idle query cache is not judged
        "qc_max_hit_ratio": 0.5,  # hits / (hits + inserts) below this: churn
        "qc_max_prune_ratio": 0.1,  # low-memory prunes / inserts above this: too small and churning
        "toc_min_opened": 1000,  # Opened_tables before the table caches are judged
        "toc_max_miss_ratio": 0.1,  # Table_open_cache_misses / (hits + misses)
        "tc_min_connections": 200,  # Connections before the thread cache is judged
        "tc_max_created_ratio": 0.1,  # Threads_created / Connections
    }

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        status = {r["variable_name"].upper(): r["variable_value"] for r in ctx.query(self, "status")}
        variables = {r["variable_name"].upper(): r["variable_value"] for r in ctx.query(self, "variables")}
        ctx.examined("server variables", len(status) + len(variables))
        s = {k: number(v) for k, v in status.items()}
        uptime = s.get("UPTIME", 0.0)
        yield from self._query_cache(ctx, s, variables, uptime)
        yield from self._table_caches(ctx, s, variables, uptime)
        yield from self._thread_cache(ctx, s, variables, uptime)

    def _query_cache(self, ctx, s, variables, uptime) -> Iterator[Finding]:
        kind = str(variables.get("QUERY_CACHE_TYPE", "OFF")).upper()
        size = number(variables.get("QUERY_CACHE_SIZE"))
        if kind in ("OFF", "0") or not size:
            return
        inserts, hits, prunes = s.get("QCACHE_INSERTS", 0), s.get("QCACHE_HITS", 0), s.get("QCACHE_LOWMEM_PRUNES", 0)
        hit_ratio = hits / (hits + inserts) if hits + inserts else 0.0
        prune_ratio = prunes / inserts if inserts else 0.0
        o = ctx.options
        if inserts < o["qc_min_inserts"] or (hit_ratio >= o["qc_max_hit_ratio"] and prune_ratio <= o["qc_max_prune_ratio"]):
            return
        invalidated = max(inserts - s.get("QCACHE_QUERIES_IN_CACHE", 0) - prunes, 0)
        yield self.finding(
            ctx, "warning", "query_cache_type",
            f"the query cache is on and churns: {hit_ratio:.0%} hits, {prunes:,.0f} low-memory prunes and "
            f"~{invalidated:,.0f} invalidations for {inserts:,.0f} inserts since start-up",
            "turn it off: SET GLOBAL query_cache_type = OFF; SET GLOBAL query_cache_size = 0; " + PERSIST +
            " (query_cache_type = 0, query_cache_size = 0). Every write empties the table's entries under one "
            "global mutex; the query cache is deprecated (removed in MySQL 8.0)",
            query_cache_type=kind, query_cache_size=int(size), qcache_inserts=int(inserts), qcache_hits=int(hits),
            qcache_lowmem_prunes=int(prunes), invalidated_estimate=int(invalidated),
            qcache_not_cached=int(s.get("QCACHE_NOT_CACHED", 0)), hit_ratio=round(hit_ratio, 3),
            prune_ratio=round(prune_ratio, 3), uptime_seconds=int(uptime),
        )

    def _table_caches(self, ctx, s, variables, uptime) -> Iterator[Finding]:
        o = ctx.options
        opened = s.get("OPENED_TABLES", 0.0)
        if opened < o["toc_min_opened"]:
            return
        toc = number(variables.get("TABLE_OPEN_CACHE"))
        hits, misses = s.get("TABLE_OPEN_CACHE_HITS", 0.0), s.get("TABLE_OPEN_CACHE_MISSES", 0.0)
        miss_ratio = misses / (hits + misses) if hits + misses else 0.0
        if miss_ratio > o["toc_max_miss_ratio"]:
            target = int(max(toc * 2, 2000))
            yield self.finding(
                ctx, "warning", "table_open_cache",
                f"table_open_cache = {toc:,.0f} misses {miss_ratio:.0%} of table opens "
                f"({opened:,.0f} tables opened since start-up)",
                f"SET GLOBAL table_open_cache = {target}; {PERSIST}; check open_files_limit (about two file "
                "handles per cached table)",
                table_open_cache=int(toc), opened_tables=int(opened), open_tables=int(s.get("OPEN_TABLES", 0)),
                table_open_cache_hits=int(hits), table_open_cache_misses=int(misses),
                table_open_cache_overflows=int(s.get("TABLE_OPEN_CACHE_OVERFLOWS", 0)),
                miss_ratio=round(miss_ratio, 3), uptime_seconds=int(uptime),
            )
        tdc = number(variables.get("TABLE_DEFINITION_CACHE"))
        opened_defs, open_defs = s.get("OPENED_TABLE_DEFINITIONS", 0.0), s.get("OPEN_TABLE_DEFINITIONS", 0.0)
        if tdc and open_defs >= tdc and opened_defs > o["toc_max_miss_ratio"] * (hits + misses):
            yield self.finding(
                ctx, "warning", "table_definition_cache",
                f"table_definition_cache = {tdc:,.0f} is full and definitions are read again "
                f"({opened_defs:,.0f} opened since start-up)",
                f"SET GLOBAL table_definition_cache = {int(max(tdc * 2, 2000))}; {PERSIST}; above the number of "
                "tables the ERP uses it also keeps schema checks fast",
                table_definition_cache=int(tdc), opened_table_definitions=int(opened_defs),
                open_table_definitions=int(open_defs), uptime_seconds=int(uptime),
            )

    def _thread_cache(self, ctx, s, variables, uptime) -> Iterator[Finding]:
        o = ctx.options
        connections, created = s.get("CONNECTIONS", 0.0), s.get("THREADS_CREATED", 0.0)
        if str(variables.get("THREAD_HANDLING", "one-thread-per-connection")) != "one-thread-per-connection":
            return
        if connections < o["tc_min_connections"] or created / connections <= o["tc_max_created_ratio"]:
            return
        size = number(variables.get("THREAD_CACHE_SIZE"))
        target = int(min(max(s.get("MAX_USED_CONNECTIONS", 0.0), 16), 256))
        yield self.finding(
            ctx, "warning", "thread_cache_size",
            f"thread_cache_size = {size:,.0f}: {created / connections:.0%} of connections created a new thread "
            f"({created:,.0f} of {connections:,.0f} since start-up)",
            f"SET GLOBAL thread_cache_size = {target}; {PERSIST}",
            thread_cache_size=int(size), threads_created=int(created), connections=int(connections),
            created_ratio=round(created / connections, 3), uptime_seconds=int(uptime),
        )
