"""perf.missing_index: indexes the workload asks for.

SQL Server records them itself: the missing-index DMVs, ranked by seeks x cost x impact, each
turned into a ``CREATE INDEX`` statement. PostgreSQL and MariaDB record no such thing, so the
check reports what a missing index looks like from outside: a large table that is read mostly
by sequential (full) scans, with the heaviest statements that name it as evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from l4agent.dbaccess.connection import DatabaseError
from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import (
    PERFORMANCE_SCHEMA,
    each_catalog,
    first_line,
    in_scope,
    qualified,
    require_performance_schema,
)

# Documented columns of sys.dm_db_missing_index_details / _groups / _group_stats; the server
# already bracket-quotes `statement` and the column lists. database_id > 4: user databases.
MSSQL_SUGGESTIONS = """
SELECT TOP (?)
       d.database_id, DB_NAME(d.database_id) AS database_name, d.object_id, d.statement,
       d.equality_columns, d.inequality_columns, d.included_columns,
       gs.user_seeks, gs.user_scans, gs.avg_total_user_cost, gs.avg_user_impact,
       gs.last_user_seek, gs.unique_compiles
FROM sys.dm_db_missing_index_group_stats AS gs
JOIN sys.dm_db_missing_index_groups AS g ON g.index_group_handle = gs.group_handle
JOIN sys.dm_db_missing_index_details AS d ON d.index_handle = g.index_handle
WHERE d.database_id > 4
ORDER BY gs.user_seeks * gs.avg_total_user_cost * gs.avg_user_impact DESC
"""

# Per catalog: tables with enough rows and sequential scans to be worth a look.
POSTGRESQL_SCANNED_TABLES = """
SELECT current_database() AS catalog_name, t.schemaname, t.relname,
       t.seq_scan, t.seq_tup_read, COALESCE(t.idx_scan, 0) AS idx_scan,
       COALESCE(t.idx_tup_fetch, 0) AS idx_tup_fetch, t.n_live_tup,
       pg_relation_size(t.relid) AS table_bytes
FROM pg_stat_user_tables AS t
WHERE t.n_live_tup >= ? AND t.seq_scan >= ?
ORDER BY t.seq_tup_read DESC
LIMIT ?
"""

# The catalog's heaviest statements, matched to the tables above in Python (evidence only).
POSTGRESQL_STATEMENTS = """
SELECT left(s.query, 1000) AS query_text, s.calls, s.total_exec_time AS total_ms
FROM pg_stat_statements AS s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY s.total_exec_time DESC
LIMIT 200
"""

# Rows read without an index (INDEX_NAME IS NULL: full scans) against rows read through one.
MYSQL_SCANNED_TABLES = """
SELECT OBJECT_SCHEMA AS catalog_name, OBJECT_NAME AS table_name,
       SUM(CASE WHEN INDEX_NAME IS NULL THEN COUNT_READ ELSE 0 END) AS full_scan_rows,
       SUM(CASE WHEN INDEX_NAME IS NOT NULL THEN COUNT_READ ELSE 0 END) AS index_rows
FROM performance_schema.table_io_waits_summary_by_index_usage
WHERE OBJECT_TYPE = 'TABLE'
GROUP BY OBJECT_SCHEMA, OBJECT_NAME
HAVING SUM(CASE WHEN INDEX_NAME IS NULL THEN COUNT_READ ELSE 0 END) >= ?
ORDER BY full_scan_rows DESC
LIMIT ?
"""

MYSQL_STATEMENTS = """
SELECT LEFT(DIGEST_TEXT, 1000) AS query_text, COUNT_STAR AS calls, SUM_NO_INDEX_USED AS full_scans
FROM performance_schema.events_statements_summary_by_digest
WHERE SUM_NO_INDEX_USED > 0 AND DIGEST_TEXT IS NOT NULL
ORDER BY SUM_ROWS_EXAMINED DESC
LIMIT 200
"""


def mssql_score(row: dict[str, Any]) -> float:
    """SQL Server's own estimate of the gain: seeks x average cost x average impact (%)."""
    return number(row["user_seeks"]) * number(row["avg_total_user_cost"]) * number(row["avg_user_impact"])


def mssql_create_index(row: dict[str, Any], quote) -> str:
    """The CREATE INDEX for one missing-index row: equality columns first, then inequality."""
    keys = ", ".join(c for c in (row.get("equality_columns"), row.get("inequality_columns")) if c)
    table = str(row["statement"]).rsplit(".", 1)[-1].strip("[]")
    column_names = re.findall(r"\[((?:[^\]]|\]\])+)\]", keys)
    name = re.sub(r"\W+", "_", "_".join(["IX", table, *column_names]))[:120]
    statement = f"CREATE NONCLUSTERED INDEX {quote(name)} ON {row['statement']} ({keys})"
    if row.get("included_columns"):
        statement += f" INCLUDE ({row['included_columns']})"
    return statement + ";"


def statements_naming(table: str, statements: list[dict[str, Any]], limit: int = 3) -> list[str]:
    """Up to ``limit`` statement texts that name ``table`` as a whole word."""
    pattern = re.compile(rf"(?<![\w$]){re.escape(table)}(?![\w$])", re.IGNORECASE)
    return [first_line(s["query_text"], 400) for s in statements if pattern.search(str(s["query_text"] or ""))][:limit]


class MissingIndex(Check):
    id = "perf.missing_index"
    engines = frozenset({"mssql", "postgresql", "mysql"})
    title = "indexes the workload needs: SQL Server's missing-index DMVs; large tables read by full scans"
    queries = {
        "mssql": {"suggestions": MSSQL_SUGGESTIONS},
        "postgresql": {"scanned_tables": POSTGRESQL_SCANNED_TABLES, "statements": POSTGRESQL_STATEMENTS},
        "mysql": {"scanned_tables": MYSQL_SCANNED_TABLES, "statements": MYSQL_STATEMENTS,
                  "performance_schema": PERFORMANCE_SCHEMA},
    }
    defaults = {
        "top_n": 20,  # findings per target at most
        "min_score": 10_000.0,  # mssql: seeks x avg cost x avg impact (%) worth an index
        "warning_score": 1_000_000.0,  # mssql: score that makes it a warning
        "min_rows": 10_000,  # postgresql: live rows of a "large" table
        "min_seq_scans": 50,  # postgresql: sequential scans since the stats were reset
        "min_full_scan_rows": 1_000_000,  # mysql: rows read by full scans since start-up
        "min_scan_share": 0.5,  # share of reads done by scans rather than an index
    }
    max_rows = 200

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        top_n = max(1, min(200, int(ctx.options["top_n"])))
        if ctx.engine == "mssql":
            yield from self._mssql(ctx, top_n)
        elif ctx.engine == "postgresql":
            yield from each_catalog(self, ctx, lambda catalog: self._postgresql(ctx, catalog, top_n))
        else:
            yield from self._mysql(ctx, top_n)

    # -- SQL Server --------------------------------------------------------------------------

    def _mssql(self, ctx: CheckContext, top_n: int) -> Iterator[Finding]:
        rows = ctx.query(self, "suggestions", [top_n * 3])
        reported = 0
        for row in sorted(rows, key=mssql_score, reverse=True):
            score = mssql_score(row)
            if reported >= top_n or score < number(ctx.options["min_score"]):
                break
            if not in_scope(ctx, row.get("database_name")):
                continue
            reported += 1
            statement = mssql_create_index(row, ctx.db.quote)
            table = str(row["statement"]).replace("[", "").replace("]", "")
            severity = "warning" if score >= number(ctx.options["warning_score"]) else "info"
            yield self.finding(
                ctx, severity, table,
                f"SQL Server reports a missing index that would cut query cost by "
                f"{number(row['avg_user_impact']):.0f}% over {number(row['user_seeks']):,.0f} seeks",
                f"review and create it (check it against the table's existing indexes first): {statement}",
                score=round(score, 1), user_seeks=row["user_seeks"], user_scans=row["user_scans"],
                avg_total_user_cost=row["avg_total_user_cost"], avg_user_impact=row["avg_user_impact"],
                equality_columns=row.get("equality_columns"), inequality_columns=row.get("inequality_columns"),
                included_columns=row.get("included_columns"), last_user_seek=row.get("last_user_seek"),
                create_index=statement,
            )

    # -- PostgreSQL --------------------------------------------------------------------------

    def _postgresql(self, ctx: CheckContext, catalog: str | None, top_n: int) -> Iterator[Finding]:
        min_rows = int(ctx.options["min_rows"])
        rows = ctx.query(self, "scanned_tables", [min_rows, int(ctx.options["min_seq_scans"]), top_n * 3],
                         catalog=catalog)
        flagged = []
        for row in rows:
            seq_scan, idx_scan = number(row["seq_scan"]), number(row["idx_scan"])
            rows_per_scan = number(row["seq_tup_read"]) / seq_scan if seq_scan else 0.0
            share = seq_scan / (seq_scan + idx_scan) if seq_scan + idx_scan else 0.0
            # A scan that reads a large part of a large table, and scans outnumber index use.
            if share >= number(ctx.options["min_scan_share"]) and rows_per_scan >= min_rows / 2:
                flagged.append((row, share, rows_per_scan))
        if not flagged:
            return
        statements = self._statements(ctx, catalog)
        for row, share, rows_per_scan in flagged[:top_n]:
            table = f"{ctx.db.quote(row['schemaname'])}.{ctx.db.quote(row['relname'])}"
            yield self.finding(
                ctx, "warning", qualified(row["catalog_name"], row["schemaname"], row["relname"]),
                f"large table read mostly by sequential scans: {share:.0%} of {number(row['seq_scan']) + number(row['idx_scan']):,.0f} "
                f"scans, {rows_per_scan:,.0f} rows read per scan",
                f"find the statements that filter or join on {table} (see evidence, or perf.top_query) and index "
                f"those columns: CREATE INDEX CONCURRENTLY ON {table} (<column>, ...);",
                seq_scan=row["seq_scan"], seq_tup_read=row["seq_tup_read"], idx_scan=row["idx_scan"],
                n_live_tup=row["n_live_tup"], table_bytes=row["table_bytes"], scan_share=round(share, 3),
                statements=statements_naming(row["relname"], statements),
            )

    def _statements(self, ctx: CheckContext, catalog: str | None) -> list[dict[str, Any]]:
        try:
            return ctx.query(self, "statements", catalog=catalog)
        except DatabaseError:
            return []  # statement statistics are evidence only; pg_stat_statements may be absent

    # -- MariaDB / MySQL ---------------------------------------------------------------------

    def _mysql(self, ctx: CheckContext, top_n: int) -> Iterator[Finding]:
        require_performance_schema(self, ctx)
        rows = ctx.query(self, "scanned_tables", [int(ctx.options["min_full_scan_rows"]), top_n * 3])
        flagged = []
        for row in rows:
            if not in_scope(ctx, row["catalog_name"]):
                continue
            scanned, indexed = number(row["full_scan_rows"]), number(row["index_rows"])
            share = scanned / (scanned + indexed) if scanned + indexed else 0.0
            if share >= number(ctx.options["min_scan_share"]):
                flagged.append((row, share))
        if not flagged:
            return
        statements = self._statements(ctx, None)
        for row, share in flagged[:top_n]:
            table = f"{ctx.db.quote(row['catalog_name'])}.{ctx.db.quote(row['table_name'])}"
            yield self.finding(
                ctx, "warning", qualified(row["catalog_name"], row["table_name"]),
                f"table read mostly by full scans: {number(row['full_scan_rows']):,.0f} rows read without an index "
                f"({share:.0%} of its rows read) since start-up",
                f"find the statements that filter or join on {table} (see evidence, or perf.top_query) and index "
                f"those columns: ALTER TABLE {table} ADD INDEX (<column>, ...);",
                full_scan_rows=row["full_scan_rows"], index_rows=row["index_rows"], scan_share=round(share, 3),
                statements=statements_naming(row["table_name"], statements),
            )
