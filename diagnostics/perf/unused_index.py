"""perf.unused_index: indexes nobody reads, which every write still pays for.

Usage counters only mean something after a full business cycle: the check reports nothing
until the engine's statistics are at least ``min_stats_age`` old (PostgreSQL: since the
database's stats_reset or the server start; SQL Server: since the later of the server start and the
database's own create/attach or last restore, never for an AUTO_CLOSE database; MariaDB:
since start-up) and says how old they are. Primary keys, unique indexes and indexes that
back a constraint or a foreign key are never proposed for dropping.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import (
    MSSQL_CATALOG_STATE,
    age,
    in_scope,
    isolated,
    qualified,
    readable_catalogs,
    seconds_option,
    truthy,
)
from l4agent.diagnostics.schema.catalog import Catalog, read_catalog

POSTGRESQL_STATS_AGE = """
SELECT EXTRACT(EPOCH FROM now() - COALESCE(d.stats_reset, pg_postmaster_start_time())) AS stats_age_seconds,
       d.stats_reset, pg_postmaster_start_time() AS server_started
FROM pg_stat_database AS d
WHERE d.datname = current_database()
"""

POSTGRESQL_UNUSED = """
SELECT current_database() AS catalog_name, s.schemaname, s.relname, s.indexrelname, s.idx_scan,
       pg_relation_size(s.indexrelid) AS index_bytes, pg_get_indexdef(s.indexrelid) AS definition
FROM pg_stat_user_indexes AS s
JOIN pg_index AS x ON x.indexrelid = s.indexrelid
WHERE s.idx_scan = 0
  AND NOT x.indisunique AND NOT x.indisprimary AND x.indisvalid
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = s.indexrelid)
  AND pg_relation_size(s.indexrelid) >= ?
ORDER BY pg_relation_size(s.indexrelid) DESC
LIMIT ?
"""

# Run in the catalog. sys.dm_db_index_usage_stats starts empty at server start and loses a
# database's rows when it is restored, attached, set OFFLINE or AUTO_CLOSEd: its statistics are as
# old as the later of the server start, the database's create/attach date and its last restore.
# (An OFFLINE -> ONLINE cycle leaves no documented trace; docs/sqlserver.md says so.)
MSSQL_STATS_AGE = """
SELECT d.name AS database_name, i.sqlserver_start_time, d.create_date, rh.restore_date AS last_restore_date,
       d.is_auto_close_on,
       DATEDIFF_BIG(SECOND,
                    (SELECT MAX(t.started) FROM (VALUES (i.sqlserver_start_time), (d.create_date), (rh.restore_date))
                        AS t(started)),
                    GETDATE()) AS stats_age_seconds
FROM sys.databases AS d
CROSS JOIN sys.dm_os_sys_info AS i
OUTER APPLY (SELECT MAX(r.restore_date) AS restore_date
             FROM msdb.dbo.restorehistory AS r
             WHERE r.destination_database_name = d.name) AS rh
WHERE d.database_id = DB_ID()
"""

# Documented columns of sys.indexes and sys.dm_db_index_usage_stats (no row: never used since
# start-up); used_page_count from sys.dm_db_partition_stats is 8 KB pages. Run in each catalog.
# New tables and indexes look unused: as sp_BlitzIndex does, tables created in the last 7 days or
# modified in the last 2 (CREATE/ALTER INDEX changes the table's sys.objects.modify_date) are left out.
MSSQL_UNUSED = """
SELECT DB_NAME() AS database_name, s.name AS schema_name, o.name AS table_name, i.name AS index_name,
       i.index_id, i.type_desc, i.is_unique, i.is_primary_key, i.is_unique_constraint,
       us.user_seeks, us.user_scans, us.user_lookups, us.user_updates, us.last_user_update,
       ps.used_page_count
FROM sys.indexes AS i
JOIN sys.objects AS o ON o.object_id = i.object_id
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
LEFT JOIN sys.dm_db_index_usage_stats AS us
       ON us.database_id = DB_ID() AND us.object_id = i.object_id AND us.index_id = i.index_id
OUTER APPLY (SELECT SUM(p.used_page_count) AS used_page_count
             FROM sys.dm_db_partition_stats AS p
             WHERE p.object_id = i.object_id AND p.index_id = i.index_id) AS ps
WHERE o.type = 'U' AND o.is_ms_shipped = 0
  AND i.type_desc = N'NONCLUSTERED' AND i.is_disabled = 0 AND i.is_hypothetical = 0
  AND i.is_primary_key = 0 AND i.is_unique_constraint = 0 AND i.is_unique = 0
  AND COALESCE(us.user_seeks, 0) + COALESCE(us.user_scans, 0) + COALESCE(us.user_lookups, 0) = 0
  AND COALESCE(ps.used_page_count, 0) * 8192 >= ?
  AND o.create_date < DATEADD(DAY, -7, GETDATE())
  AND o.modify_date < DATEADD(DAY, -2, GETDATE())
ORDER BY COALESCE(us.user_updates, 0) DESC
"""

MYSQL_STATS_AGE = """
SELECT VARIABLE_VALUE AS stats_age_seconds
FROM information_schema.GLOBAL_STATUS
WHERE VARIABLE_NAME = 'UPTIME'
"""

# Indexes of tables opened since start-up that no statement has read through (COUNT_STAR 0).
MYSQL_UNUSED = """
SELECT OBJECT_SCHEMA AS catalog_name, OBJECT_NAME AS table_name, INDEX_NAME AS index_name,
       COUNT_STAR AS count_star
FROM performance_schema.table_io_waits_summary_by_index_usage
WHERE OBJECT_TYPE = 'TABLE' AND INDEX_NAME IS NOT NULL AND INDEX_NAME <> 'PRIMARY' AND COUNT_STAR = 0
  AND OBJECT_SCHEMA NOT IN ('mysql', 'performance_schema', 'sys')
ORDER BY OBJECT_SCHEMA, OBJECT_NAME, INDEX_NAME
"""

def _definitions(catalog: Catalog, schema: str) -> tuple[dict[tuple[str, str], dict[str, Any]], set[tuple[str, str]]]:
    """(table, index) -> non_unique and first column; (table, first column of a foreign key):
    from the shared catalog read (visible with REFERENCES on the schema, README: "Database grants")."""
    definitions: dict[tuple[str, str], dict[str, Any]] = {}
    fk_columns: set[tuple[str, str]] = set()
    for table in catalog.tables:
        if table.catalog != schema:
            continue
        for index in table.indexes:
            first = index.key_columns[0] if index.key_columns else None
            definitions[(table.name, index.name)] = {
                "non_unique": int(not index.unique),
                "first_column": re.sub(r"\(\d+\)$", "", first) if first else first}  # v(10): a prefix of v
        fk_columns.update((table.name, fk.columns[0]) for fk in table.foreign_keys if fk.columns)
    return definitions, fk_columns


class UnusedIndex(Check):
    id = "perf.unused_index"
    engines = frozenset({"mssql", "postgresql", "mysql"})
    title = "indexes never read since the usage statistics began (only once those are old enough)"
    catalog_statements = frozenset({"unused", "stats_age"})
    queries = {
        "postgresql": {"stats_age": POSTGRESQL_STATS_AGE, "unused": POSTGRESQL_UNUSED},
        "mssql": {"catalog_state": MSSQL_CATALOG_STATE, "stats_age": MSSQL_STATS_AGE, "unused": MSSQL_UNUSED},
        "mysql": {"stats_age": MYSQL_STATS_AGE, "unused": MYSQL_UNUSED},
    }
    defaults = {
        "min_stats_age": "7d",  # usage statistics younger than this prove nothing
        "min_index_bytes": 1_048_576,  # smaller indexes are not worth the finding (postgresql, mssql)
        "top_n": 50,  # indexes reported per catalog at most
    }
    max_rows = 500

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        min_age = seconds_option(self, ctx, "min_stats_age")
        top_n = max(1, min(500, int(ctx.options["top_n"])))
        if ctx.engine == "mysql":
            yield from self._mysql(ctx, min_age, top_n)
            return
        names, states = readable_catalogs(ctx, self)
        for catalog in names:
            if truthy(states.get(catalog or "", {}).get("is_secondary")):
                ctx.not_examined(self.id, f"catalog {catalog} skipped: an availability-group secondary, whose usage "
                                          "statistics count only its own reads (judge on the primary)", catalog=catalog)
                continue
            yield from isolated(ctx, self, catalog, lambda c=catalog: self._catalog(ctx, c, min_age, top_n))

    def _catalog(self, ctx: CheckContext, catalog: str | None, min_age: float, top_n: int) -> Iterator[Finding]:
        stats = ctx.query(self, "stats_age", catalog=catalog)
        if ctx.engine == "mssql" and stats and truthy(stats[0].get("is_auto_close_on")):
            ctx.not_examined(self.id, "AUTO_CLOSE is on: index usage statistics vanish at every close",
                             catalog=catalog)
            return
        stats_age = number(stats[0]["stats_age_seconds"], 0.0) if stats else 0.0
        if stats_age < min_age:
            ctx.not_examined(self.id, f"usage statistics are {age(stats_age)} old, less than min_stats_age "
                                      f"({age(min_age)}): too young to call an index unused", catalog=catalog)
            return
        params = [int(ctx.options["min_index_bytes"])] + ([top_n] if ctx.engine == "postgresql" else [])
        rows = ctx.query(self, "unused", params, catalog=catalog)[:top_n]
        for row in rows:
            yield self._finding(ctx, row, stats_age, stats[0])

    def _finding(self, ctx: CheckContext, row: dict[str, Any], stats_age: float, stats: dict[str, Any]) -> Finding:
        since = {"stats_age_seconds": round(stats_age), "stats_since": age(stats_age) + " ago"}
        if ctx.engine == "postgresql":
            index = f"{ctx.db.quote(row['schemaname'])}.{ctx.db.quote(row['indexrelname'])}"
            size = number(row["index_bytes"])
            return self.finding(
                ctx, "info", qualified(row["catalog_name"], row["schemaname"], row["relname"], row["indexrelname"]),
                f"index never used in {age(stats_age)} of statistics ({size / 1048576:,.1f} MiB, slows every write)",
                f"check replicas and monthly/yearly jobs do not need it, then: DROP INDEX CONCURRENTLY {index};",
                idx_scan=row["idx_scan"], index_bytes=row["index_bytes"], definition=row["definition"],
                stats_reset=stats.get("stats_reset"), server_started=stats.get("server_started"), **since,
            )
        index = ctx.db.quote(row["index_name"])
        table = f"{ctx.db.quote(row['schema_name'])}.{ctx.db.quote(row['table_name'])}"
        size = number(row["used_page_count"]) * 8192
        return self.finding(
            ctx, "info", qualified(row["database_name"], row["schema_name"], row["table_name"], row["index_name"]),
            f"index never read in {age(stats_age)} of usage statistics, but updated "
            f"{number(row['user_updates']):,.0f} times ({size / 1048576:,.1f} MiB)",
            f"check secondaries and monthly/yearly jobs do not need it, then: DROP INDEX {index} ON {table};",
            user_seeks=row["user_seeks"], user_scans=row["user_scans"], user_lookups=row["user_lookups"],
            user_updates=row["user_updates"], used_page_count=row["used_page_count"],
            sqlserver_start_time=stats.get("sqlserver_start_time"), database_create_date=stats.get("create_date"),
            last_restore_date=stats.get("last_restore_date"), **since,
        )

    def _mysql(self, ctx: CheckContext, min_age: float, top_n: int) -> Iterator[Finding]:
        stats = ctx.query(self, "stats_age")
        stats_age = number(stats[0]["stats_age_seconds"]) if stats else 0.0
        if stats_age < min_age:
            return
        by_schema: dict[str, list[dict[str, Any]]] = {}
        for row in ctx.query(self, "unused"):
            if in_scope(ctx, row["catalog_name"]):
                by_schema.setdefault(row["catalog_name"], []).append(row)
        # Index definitions and foreign keys from the run's shared catalog read (InnoDB's
        # dictionary on MariaDB): information_schema.STATISTICS would open every table of the
        # schema again, 8 s at 20,000 tables.
        catalog = read_catalog(ctx, sorted(by_schema)) if by_schema else None
        for schema, candidates in by_schema.items():
            definitions, fk_columns = _definitions(catalog, schema)
            invisible = []
            reported = 0
            for row in candidates:
                definition = definitions.get((row["table_name"], row["index_name"]))
                if definition is None:
                    invisible.append(f"{row['table_name']}.{row['index_name']}")
                    continue
                if not truthy(definition["non_unique"]) or (row["table_name"], definition["first_column"]) in fk_columns:
                    continue
                if reported >= top_n:
                    break
                reported += 1
                table = f"{ctx.db.quote(schema)}.{ctx.db.quote(row['table_name'])}"
                yield self.finding(
                    ctx, "info", qualified(schema, row["table_name"], row["index_name"]),
                    f"index never read in {age(stats_age)} since the server started",
                    f"check replicas and monthly/yearly jobs do not need it, then: ALTER TABLE {table} DROP INDEX "
                    f"{ctx.db.quote(row['index_name'])};",
                    count_star=row["count_star"], first_column=definition["first_column"],
                    stats_age_seconds=round(stats_age), stats_since=age(stats_age) + " ago",
                )
            if invisible:
                yield self.finding(
                    ctx, "info", schema,
                    f"cannot judge {len(invisible)} index(es) that were never read: the monitor user cannot see "
                    "their definitions (unique or not, foreign keys)",
                    f"GRANT REFERENCES ON {ctx.db.quote(schema)}.* TO the monitor user (it reads no rows)",
                    indexes=invisible,
                )
