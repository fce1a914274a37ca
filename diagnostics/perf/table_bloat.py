"""perf.table_bloat: tables carrying much dead or free space.

PostgreSQL: dead tuples (``n_dead_tup``) against live ones, with when (auto)vacuum last ran and
whether autovacuum is switched off for the table. MariaDB/MySQL: ``DATA_FREE``, the space
allocated to a table but unused, against its size. (SQL Server reuses freed pages itself;
fragmentation is perf.index_fragmentation's business.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import age, each_catalog, in_scope, qualified

POSTGRESQL_DEAD_TUPLES = """
SELECT current_database() AS catalog_name, t.schemaname, t.relname, t.n_live_tup, t.n_dead_tup,
       t.last_vacuum, t.last_autovacuum, t.vacuum_count, t.autovacuum_count,
       EXTRACT(EPOCH FROM now() - GREATEST(t.last_vacuum, t.last_autovacuum)) AS vacuum_age_seconds,
       pg_relation_size(t.relid) AS table_bytes,
       COALESCE(array_to_string(c.reloptions, ','), '') AS reloptions
FROM pg_stat_user_tables AS t
JOIN pg_class AS c ON c.oid = t.relid
WHERE t.n_dead_tup >= ?
ORDER BY t.n_dead_tup DESC
LIMIT ?
"""

# information_schema.TABLES shows only tables the account holds some privilege on (see the
# README's "Database grants": REFERENCES on the schema is enough and reads no rows).
MYSQL_FREE_SPACE = """
SELECT TABLE_SCHEMA AS catalog_name, TABLE_NAME AS table_name, ENGINE AS engine_name,
       TABLE_ROWS AS table_rows, DATA_LENGTH AS data_length, INDEX_LENGTH AS index_length,
       DATA_FREE AS data_free, @@innodb_file_per_table AS file_per_table
FROM information_schema.TABLES
WHERE TABLE_TYPE = 'BASE TABLE'
  AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
  AND DATA_FREE >= ?
ORDER BY DATA_FREE DESC
LIMIT ?
"""

# Schemas the account can see at all: without REFERENCES (or another privilege) there, its
# tables are simply missing from information_schema.TABLES.
MYSQL_VISIBLE_SCHEMAS = """
SELECT SCHEMA_NAME AS catalog_name
FROM information_schema.SCHEMATA
WHERE SCHEMA_NAME NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
"""

_AUTOVACUUM_OFF = re.compile(r"(?:^|,)autovacuum_enabled=(?:false|off|no|0)(?:,|$)", re.IGNORECASE)


class TableBloat(Check):
    id = "perf.table_bloat"
    engines = frozenset({"postgresql", "mysql"})
    title = "tables with many dead tuples (PostgreSQL) or much unused allocated space (MariaDB DATA_FREE)"
    queries = {
        "postgresql": {"dead_tuples": POSTGRESQL_DEAD_TUPLES},
        "mysql": {"free_space": MYSQL_FREE_SPACE, "visible_schemas": MYSQL_VISIBLE_SCHEMAS},
    }
    defaults = {
        "top_n": 20,  # findings per catalog at most
        "min_dead_rows": 10_000,  # postgresql: dead tuples worth reporting
        "dead_ratio": 0.2,  # postgresql: dead / (live + dead) that makes a warning
        "critical_ratio": 0.5,  # ... and a critical finding
        "min_free_bytes": 268_435_456,  # mysql: DATA_FREE worth reporting (256 MiB)
        "free_ratio": 0.2,  # mysql: DATA_FREE / (data + index + free)
    }
    max_rows = 200

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        top_n = max(1, min(200, int(ctx.options["top_n"])))
        if ctx.engine == "postgresql":
            yield from each_catalog(self, ctx, lambda catalog: self._postgresql(ctx, catalog, top_n))
        else:
            yield from self._mysql(ctx, top_n)

    def _postgresql(self, ctx: CheckContext, catalog: str | None, top_n: int) -> Iterator[Finding]:
        rows = ctx.query(self, "dead_tuples", [int(ctx.options["min_dead_rows"]), top_n * 3], catalog=catalog)
        reported = 0
        for row in rows:
            live, dead = number(row["n_live_tup"]), number(row["n_dead_tup"])
            ratio = dead / (live + dead) if live + dead else 0.0
            if ratio < number(ctx.options["dead_ratio"]) or reported >= top_n:
                continue
            reported += 1
            table = f"{ctx.db.quote(row['schemaname'])}.{ctx.db.quote(row['relname'])}"
            autovacuum_off = bool(_AUTOVACUUM_OFF.search(row["reloptions"] or ""))
            vacuum_age = row["vacuum_age_seconds"]
            last = "never vacuumed" if vacuum_age is None else f"last vacuumed {age(number(vacuum_age))} ago"
            recommendation = f"VACUUM (ANALYZE) {table};"
            if autovacuum_off:
                recommendation += f" then let autovacuum look after it again: ALTER TABLE {table} RESET (autovacuum_enabled);"
            else:
                recommendation += (" and if this recurs, make autovacuum visit it sooner: ALTER TABLE "
                                   f"{table} SET (autovacuum_vacuum_scale_factor = 0.05);")
            severity = "critical" if ratio >= number(ctx.options["critical_ratio"]) else "warning"
            yield self.finding(
                ctx, severity, qualified(row["catalog_name"], row["schemaname"], row["relname"]),
                f"{ratio:.0%} of the table's rows are dead ({dead:,.0f} dead, {live:,.0f} live), {last}"
                + ("; autovacuum is disabled on it" if autovacuum_off else ""),
                recommendation,
                n_dead_tup=row["n_dead_tup"], n_live_tup=row["n_live_tup"], dead_ratio=round(ratio, 3),
                last_vacuum=row["last_vacuum"], last_autovacuum=row["last_autovacuum"],
                vacuum_age_seconds=None if vacuum_age is None else round(number(vacuum_age)),
                autovacuum_count=row["autovacuum_count"], table_bytes=row["table_bytes"],
                autovacuum_disabled=autovacuum_off,
            )

    def _mysql(self, ctx: CheckContext, top_n: int) -> Iterator[Finding]:
        visible = {r["catalog_name"] for r in ctx.query(self, "visible_schemas", max_rows=100_000)}
        hidden = [d for d in ctx.target.databases if d not in visible]
        for schema in hidden:
            yield self.finding(
                ctx, "info", schema, "cannot judge table space: the monitor user cannot see this schema's tables",
                f"GRANT REFERENCES ON {ctx.db.quote(schema)}.* TO the monitor user (it reads no rows)",
            )
        if not ctx.target.databases and not visible:
            yield self.finding(
                ctx, "info", "information_schema.TABLES",
                "cannot judge table space: the monitor user cannot see any application schema's tables",
                "GRANT REFERENCES ON `<schema>`.* TO the monitor user for each schema to diagnose (it reads no "
                "rows), or list them in the target's databases",
            )
        rows = ctx.query(self, "free_space", [int(ctx.options["min_free_bytes"]), top_n * 3])
        reported = 0
        for row in rows:
            if not in_scope(ctx, row["catalog_name"]) or reported >= top_n:
                continue
            used = number(row["data_length"]) + number(row["index_length"])
            free = number(row["data_free"])
            ratio = free / (used + free) if used + free else 0.0
            if ratio < number(ctx.options["free_ratio"]):
                continue
            reported += 1
            table = f"{ctx.db.quote(row['catalog_name'])}.{ctx.db.quote(row['table_name'])}"
            yield self.finding(
                ctx, "warning", qualified(row["catalog_name"], row["table_name"]),
                f"{free / 1048576:,.0f} MiB allocated but unused ({ratio:.0%} of the table's space)",
                f"OPTIMIZE TABLE {table}; (rebuilds it and gives the space back; it copies the table, so run it "
                "outside business hours and check the free disk space first)",
                data_free=row["data_free"], data_length=row["data_length"], index_length=row["index_length"],
                table_rows=row["table_rows"], engine=row["engine_name"], free_ratio=round(ratio, 3),
                file_per_table=row["file_per_table"],
            )
