"""perf.missing_index: indexes the workload asks for.

SQL Server records them itself: the missing-index DMVs, ranked by seeks x cost x impact, folded
when they differ only in INCLUDE columns, dropped when an existing index already leads with their
key columns, each turned into the exact ``CREATE INDEX``. PostgreSQL and MariaDB record no such
thing: the index advisor (:mod:`index_advice`) picks tables by the work their full scans do,
derives the index from the statements that scan them, and on PostgreSQL with hypopg proves it
with the planner's cost before and after. See docs/index-advisor.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from l4agent.dbaccess.connection import DatabaseError, dsn_value
from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import each_catalog, in_scope, qualified, truthy
from l4agent.diagnostics.coverage import NotExamined
from l4agent.diagnostics.perf import index_advice
from l4agent.diagnostics.perf.index_advice import advice_for, served_by

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

def mssql_score(row: dict[str, Any]) -> float:
    """SQL Server's own estimate of the gain: seeks x average cost x average impact (%)."""
    return number(row["user_seeks"]) * number(row["avg_total_user_cost"]) * number(row["avg_user_impact"])


# Existing row-store indexes of the tables the missing-index DMVs name, in the current database
# (the check switches to each database in turn): key columns in order, then included columns.
MSSQL_INDEXES = """
SELECT i.object_id, i.name AS index_name, i.is_unique, i.has_filter,
       ic.key_ordinal, ic.is_included_column, c.name AS column_name
FROM sys.indexes AS i
JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
WHERE i.type IN (1, 2) AND i.is_disabled = 0 AND i.is_hypothetical = 0
  AND i.object_id IN (SELECT d.object_id FROM sys.dm_db_missing_index_details AS d WHERE d.database_id = DB_ID())
ORDER BY i.object_id, i.index_id, ic.is_included_column, ic.key_ordinal
"""

# EngineEdition 3: Enterprise, Developer, Evaluation; 5: Azure SQL Database; 8: Managed Instance.
MSSQL_EDITION = """
SELECT CONVERT(int, SERVERPROPERTY('EngineEdition')) AS engine_edition,
       CONVERT(nvarchar(128), SERVERPROPERTY('Edition')) AS edition
"""
ONLINE_EDITIONS = frozenset({3, 5, 8})

_BRACKETED = re.compile(r"\[((?:[^\]]|\]\])+)\]")


def bracketed_names(text: str | None) -> list[str]:
    """Column names of a DMV column list ("[A], [B]]x]") without their brackets."""
    return [m.replace("]]", "]") for m in _BRACKETED.findall(text or "")]


def mssql_create_index(row: dict[str, Any], quote, online: bool = False) -> str:
    """The CREATE INDEX for one (folded) missing-index row: equality columns first, then
    inequality, then INCLUDE; ONLINE = ON where the edition builds indexes online."""
    keys = [*bracketed_names(row.get("equality_columns")), *bracketed_names(row.get("inequality_columns"))]
    included = bracketed_names(row.get("included_columns"))
    table = str(row["statement"]).rsplit(".", 1)[-1].strip("[]")
    name = re.sub(r"\W+", "_", "_".join(["IX", table, *keys]))[:120]
    statement = f"CREATE NONCLUSTERED INDEX {quote(name)} ON {row['statement']} ({', '.join(quote(c) for c in keys)})"
    if included:
        statement += f" INCLUDE ({', '.join(quote(c) for c in included)})"
    if online:
        statement += " WITH (ONLINE = ON)"
    return statement + ";"


def fold_suggestions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Suggestions for the same table and key columns that differ only in their INCLUDE columns
    become one (included columns united, seeks and scores added), as sp_BlitzIndex folds them."""
    folded: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = (row.get("database_name"), str(row["statement"]).lower(),
               tuple(c.lower() for c in bracketed_names(row.get("equality_columns"))),
               tuple(c.lower() for c in bracketed_names(row.get("inequality_columns"))))
        entry = folded.get(key)
        if entry is None:
            folded[key] = {**row, "score": mssql_score(row), "folded": 1,
                           "_included": bracketed_names(row.get("included_columns"))}
            continue
        entry["score"] += mssql_score(row)
        entry["folded"] += 1
        entry["user_seeks"] = number(entry["user_seeks"]) + number(row["user_seeks"])
        entry["user_scans"] = number(entry["user_scans"]) + number(row["user_scans"])
        entry["avg_user_impact"] = max(number(entry["avg_user_impact"]), number(row["avg_user_impact"]))
        known = {c.lower() for c in entry["_included"]}
        entry["_included"] += [c for c in bracketed_names(row.get("included_columns")) if c.lower() not in known]
    for entry in folded.values():
        entry["included_columns"] = ", ".join("[" + c.replace("]", "]]") + "]" for c in entry.pop("_included")) or None
    return sorted(folded.values(), key=lambda r: -r["score"])


def existing_indexes(rows: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    """sys.indexes rows grouped per object: [{name, columns (keys), unique, partial}]."""
    grouped: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        index = grouped.setdefault((row["object_id"], row["index_name"]), {
            "object_id": row["object_id"], "name": row["index_name"], "columns": [],
            "unique": truthy(row["is_unique"]), "partial": truthy(row["has_filter"])})
        if not truthy(row["is_included_column"]):
            index["columns"].append(row["column_name"])
    out: dict[Any, list[dict[str, Any]]] = {}
    for index in grouped.values():
        out.setdefault(index["object_id"], []).append(index)
    return out


class MissingIndex(Check):
    id = "perf.missing_index"
    engines = frozenset({"mssql", "postgresql", "mysql"})
    #: SQL Server: run in the catalog a suggestion is for (its existing indexes)
    catalog_statements = frozenset({"indexes"})
    title = "indexes the workload needs: SQL Server's missing-index DMVs; large tables read by full scans"
    queries = {
        "mssql": {"suggestions": MSSQL_SUGGESTIONS, "indexes": MSSQL_INDEXES, "edition": MSSQL_EDITION},
        # PostgreSQL and MariaDB: the advisor's main reads (index_advice.py, which also plans the
        # statements), sent through the target's connection, counted in evidence.advisor_cost.
        "postgresql": {"tables": index_advice.PG_TABLES, "statements": index_advice.PG_STATEMENTS,
                       "columns": index_advice.PG_COLUMNS},
        "mysql": {"tables": index_advice.MY_TABLES, "statements": index_advice.MY_STATEMENTS,
                  "sample": index_advice.MY_SAMPLE},
    }
    defaults = {
        "top_n": 20,  # findings per target at most
        "min_score": 10_000.0,  # mssql: seeks x avg cost x avg impact (%) worth an index
        "warning_score": 1_000_000.0,  # mssql: score that makes it a warning
        "min_rows": 10_000,  # postgresql: rows of a "large" table
        "min_seq_tup_read": 1_000_000,  # postgresql: rows read by sequential scans since the stats reset
        "min_full_scan_rows": 1_000_000,  # mysql: rows read by full scans since start-up
        "min_share": 0.05,  # share of all statement time taken by the statements touching the table
        "top_statements": 200,  # heaviest statements parsed per catalog
        "per_table": 5,  # heaviest statements per candidate table turned into index proposals
        "min_cost_drop": 0.10,  # postgresql + hypopg: calls-weighted planner cost drop to recommend
        "sample_rows": 10_000,  # mysql: rows sampled for COUNT(DISTINCT) when no statistics order the columns
    }
    max_rows = 200

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        top_n = max(1, min(200, int(ctx.options["top_n"])))
        if ctx.engine == "mssql":
            yield from self._mssql(ctx, top_n)
        elif ctx.engine == "postgresql":
            yield from each_catalog(self, ctx, lambda catalog: self._advised(ctx, catalog, top_n))
        else:
            yield from self._advised(ctx, None, top_n)

    # -- SQL Server --------------------------------------------------------------------------

    def _mssql(self, ctx: CheckContext, top_n: int) -> Iterator[Finding]:
        rows = [r for r in ctx.query(self, "suggestions", [top_n * 3]) if in_scope(ctx, r.get("database_name"))]
        suggestions = fold_suggestions(rows)
        wanted = [r for r in suggestions if r["score"] >= number(ctx.options["min_score"])]
        if not wanted:
            return
        edition = ctx.query(self, "edition")
        online = bool(edition) and int(number(edition[0]["engine_edition"])) in ONLINE_EDITIONS
        indexes: dict[str, dict[Any, list[dict[str, Any]]]] = {}
        reported = 0
        for row in wanted:
            if reported >= top_n:
                break
            database = row.get("database_name")
            if database not in indexes:
                indexes[database] = existing_indexes(ctx.query(self, "indexes", catalog=database))
                ctx.examined("missing-index suggestions", len([r for r in rows if r.get("database_name") == database]),
                             catalog=database)
            equality = bracketed_names(row.get("equality_columns"))
            keys = [*equality, *bracketed_names(row.get("inequality_columns"))]
            if served_by(keys, len(equality), indexes[database].get(row["object_id"], [])):
                continue  # an existing index already leads with these columns
            reported += 1
            yield self._mssql_finding(ctx, row, online, edition)

    def _mssql_finding(self, ctx: CheckContext, row: dict[str, Any], online: bool,
                       edition: list[dict[str, Any]]) -> Finding:
        score = row["score"]
        statement = mssql_create_index(row, ctx.db.quote, online)
        table = str(row["statement"]).replace("[", "").replace("]", "")
        severity = "warning" if score >= number(ctx.options["warning_score"]) else "info"
        folded = f" ({row['folded']} suggestions differing only in INCLUDE columns, folded)" if row["folded"] > 1 else ""
        how = ("ONLINE = ON: this edition builds it without blocking writes" if online
               else "this edition builds indexes offline (the table is locked while it builds): run it in a quiet hour")
        return self.finding(
            ctx, severity, table,
            f"SQL Server reports a missing index that would cut query cost by "
            f"{number(row['avg_user_impact']):.0f}% over {number(row['user_seeks']):,.0f} seeks{folded}",
            f"create it ({how}; no existing index leads with these columns): {statement}",
            score=round(score, 1), user_seeks=row["user_seeks"], user_scans=row["user_scans"],
            avg_total_user_cost=row["avg_total_user_cost"], avg_user_impact=row["avg_user_impact"],
            equality_columns=row.get("equality_columns"), inequality_columns=row.get("inequality_columns"),
            included_columns=row.get("included_columns"), last_user_seek=row.get("last_user_seek"),
            folded_suggestions=row["folded"], edition=edition[0]["edition"] if edition else None,
            create_index=statement,
        )

    # -- PostgreSQL and MariaDB: the index advisor ------------------------------------------

    def _advised(self, ctx: CheckContext, catalog: str | None, top_n: int) -> Iterator[Finding]:
        if ctx.engine == "mysql" and not truthy(ctx.db.scalar("SELECT @@performance_schema")):
            raise NotExamined("performance_schema is OFF: MariaDB records no scans or statements to derive indexes "
                              "from (set performance_schema = ON in the server's configuration and restart)")
        try:
            report = advice_for(ctx.db, ctx.engine, catalog, ctx.options, lambda c: in_scope(ctx, c))
        except DatabaseError as exc:
            if "pg_stat_statements" not in str(exc):
                raise
            ctx.not_examined(self.id, "pg_stat_statements is not installed in this catalog: no statements to derive "
                             "indexes from (add it to shared_preload_libraries, then CREATE EXTENSION "
                             "pg_stat_statements)", catalog=catalog)
            return
        for kind, count in report.examined.items():
            ctx.examined(kind, count, catalog=catalog)
        user = dsn_value(ctx.target.dsn, "UID") or "the monitoring account"
        for table in report.blind:
            grant = (f"GRANT pg_read_all_data TO {user} (PostgreSQL 14+) or GRANT SELECT ON {table} TO {user}"
                     if ctx.engine == "postgresql" else
                     f"GRANT SELECT ON {table.split('.', 1)[0]}.* TO {user}")
            ctx.not_examined(f"{self.id}: {table}",
                             f"the table is read by full scans, but this account cannot read its columns, "
                             f"statistics, indexes or plans, so no index is advised (it could duplicate one): {grant}",
                             catalog=catalog if ctx.engine == "postgresql" else table.split(".", 1)[0])
        for advice in report.recommended[:top_n]:
            if ctx.engine == "mysql" and not in_scope(ctx, advice.table.split(".", 1)[0]):
                continue
            yield self._advice_finding(ctx, catalog, advice, report)

    def _advice_finding(self, ctx: CheckContext, catalog: str | None, advice: Any, report: Any) -> Finding:
        evidence = dict(advice.evidence)
        share = number(evidence.get("share_of_time"))
        columns = ", ".join(advice.columns)
        calls = sum(number(s.get("calls")) for s in evidence.get("statements", []))
        if advice.proven:
            before, after = evidence["cost_before"], evidence["cost_after"]
            first = next(iter(after))
            proof = f"planner cost {number(before[first]):,.0f} -> {number(after[first]):,.1f} with it (hypopg)"
        elif ctx.engine == "postgresql":
            proof = ("not proven by the planner: hypopg is not installed in this catalog "
                     "(a superuser runs CREATE EXTENSION hypopg; Debian package postgresql-NN-hypopg)"
                     if "not installed" in str(evidence.get("planner", "")) else f"not proven: {evidence.get('planner')}")
        else:
            plan = evidence.get("current_plan")
            scans = [n["problem"] for n in plan if isinstance(n, dict) and n.get("problem")] if isinstance(plan, list) else []
            proof = (f"current plan: {scans[0]}" if scans else "current plan in evidence") + \
                " (MariaDB has no hypothetical indexes to prove the new one)"
        scanning = (f"{len(evidence.get('statements', []))} statement(s) filtering {advice.table} on ({columns}) "
                    f"scan it: {share:.0%} of statement time, {calls:,.0f} calls")
        summary = f"{proof}; {scanning}" if ctx.engine == "postgresql" else f"{scanning}; {proof}"
        online = ("CONCURRENTLY builds it without blocking writes" if ctx.engine == "postgresql"
                  else "InnoDB builds it online (ALGORITHM=INPLACE, LOCK=NONE)")
        recommendation = f"create the index ({online}; run it outside the busiest hours): {advice.statement}"
        evidence.update(create_index=advice.statement, index_columns=list(advice.columns), advisor_cost=report.cost)
        if report.notes:
            evidence["advisor_notes"] = report.notes
        obj = (qualified(catalog or ctx.db.scalar("SELECT current_database()"), advice.table)
               if ctx.engine == "postgresql" else advice.table)
        return self.finding(ctx, "warning", f"{obj}({columns})", summary, recommendation, **evidence)
