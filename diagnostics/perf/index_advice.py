"""Index advisor (perf.missing_index, perf.top_query): the exact CREATE INDEX, derived from the
statements, proven by the planner where the server can (PostgreSQL + hypopg). See
docs/index-advisor.md.

Entry points take a :class:`Meter`: the target's connection on ONE catalog for PostgreSQL, on the
server for MariaDB (every statement goes through ``Connection.query``):

- ``advice_for(db, engine, catalog, options, scope)``: the report, computed once per connection;
- ``advise_postgresql(meter, **options)`` / ``advise_mysql(meter, **options) -> Report``;
- ``explain_one(...)``: the costly nodes of one statement's plan (plan summarizer);
- ``explain_top_postgresql(meter, n)`` / ``explain_top_mysql(meter, n)``: the same for the top n.

Method (both engines):
1. Candidate tables by the WORK their scans do, not by scan counts: rows read by sequential /
   full scans (pg_stat_user_tables.seq_tup_read; performance_schema
   table_io_waits_summary_by_index_usage rows with INDEX_NAME IS NULL) and the share of all
   statement time (pg_stat_statements.total_exec_time; digests' SUM_TIMER_WAIT) of the
   statements that touch the table. Index lookups on the same table do not hide it.
2. For the heaviest statements touching a candidate: parse (diagnostics/sqlparse.py), take the equality
   columns ordered most selective first, then one range column (the most selective); a statement
   with no filter on the table but a join column gets the join column (foreign-key side).
   Selectivity: PostgreSQL pg_stats.n_distinct (negative = fraction of reltuples); MariaDB
   mysql.column_stats.avg_frequency when ANALYZE ... PERSISTENT filled it, else the CARDINALITY
   of an index led by the column (information_schema.STATISTICS), else COUNT(DISTINCT) over the
   first ``sample_rows`` rows (bounded read, option; 0 = keep the statement's order).
3. Skip what an existing b-tree index serves: the proposed equality columns (any order) and then
   the range column form a left prefix of it, or a unique index's columns are all fixed by the
   statement's equalities.
4. PostgreSQL with hypopg in the catalog: EXPLAIN (FORMAT JSON) each served statement (generic
   plan, see ``pg_explain``), hypopg_create_index, EXPLAIN again, hypopg_relation_size,
   hypopg_reset; recommend only when the calls-weighted cost drops by ``min_cost_drop`` and the
   hypothetical index is in a plan. Without hypopg: recommend from the parse, say so.
   MariaDB: EXPLAIN FORMAT=JSON of a recent sample of the digest (events_statements_history_long)
   as evidence (access type, rows examined), plus the column cardinalities.

The advisor only reads: its session is READ ONLY with a statement and lock timeout; EXPLAIN never
runs ANALYZE; only SELECT/UPDATE/DELETE/INSERT ... SELECT texts are ever planned.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from l4agent.diagnostics.sqlparse import (
    ParseFailure,
    TableUse,
    placeholder_count,
    statement_kind,
    table_uses,
)

__all__ = ["Advice", "Meter", "Report", "advise_mysql", "advise_postgresql", "explain_top_mysql",
           "explain_top_postgresql", "pg_explain", "summarize_mysql_plan", "summarize_pg_plan"]

SYSTEM_SCHEMAS = {"mysql", "performance_schema", "information_schema", "sys", "pg_catalog"}


# ---------------------------------------------------------------------------------------------
# plumbing
# ---------------------------------------------------------------------------------------------

class Meter:
    """The target's connection on one catalog, counting the statements the advisor sends and
    their round-trip time (an upper bound of the server's time). Every statement goes through
    ``Connection.query`` (read-only session, statement and lock timeouts); statement texts read
    from the server are sent with no parameters, so no ``?`` in them is taken as a marker."""

    def __init__(self, db: Any, catalog: str | None = None):
        self.db = db
        self.catalog = catalog
        self.statements = 0
        self.seconds = 0.0

    def rows(self, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
        started = time.perf_counter()
        try:
            return self.db.query(sql, tuple(params), catalog=self.catalog, max_rows=10_000)
        finally:
            self.statements += 1
            self.seconds += time.perf_counter() - started

    def value(self, sql: str, params: tuple | list = ()) -> Any:
        rows = self.rows(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def cost(self) -> dict[str, Any]:
        return {"statements": self.statements, "round_trip_ms": round(self.seconds * 1000, 1)}


@dataclass
class Advice:
    engine: str
    table: str  # catalog-qualified display name
    columns: list[str]
    statement: str  # the exact CREATE INDEX / ALTER TABLE, or "" when not recommended
    recommended: bool
    proven: bool | None  # True: planner cost drops; False: it does not; None: not checked
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    advice: list[Advice]
    candidates: list[dict[str, Any]]
    notes: list[str]
    cost: dict[str, Any]
    #: tables that were candidates but whose columns/indexes this account cannot read
    blind: list[str] = field(default_factory=list)
    #: what was looked at: {"tables": n, "statements": n}
    examined: dict[str, int] = field(default_factory=dict)

    @property
    def recommended(self) -> list[Advice]:
        return [a for a in self.advice if a.recommended]


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true", "y", "yes", "on")
    return bool(value)


def _num(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


# -- quoting: only where needed ---------------------------------------------------------------

_PG_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")
_MY_PLAIN = re.compile(r"[A-Za-z0-9_$]*[A-Za-z_$][A-Za-z0-9_$]*")


def quote_pg(name: str) -> str:
    from pglast import keywords

    reserved = keywords.RESERVED_KEYWORDS | keywords.TYPE_FUNC_NAME_KEYWORDS | keywords.COL_NAME_KEYWORDS
    if _PG_PLAIN.fullmatch(name) and name not in reserved:
        return name
    return '"' + name.replace('"', '""') + '"'


def quote_my(name: str) -> str:
    from sqlglot.dialects.mysql import MySQL

    if _MY_PLAIN.fullmatch(name) and name.lower() not in MySQL.Generator.RESERVED_KEYWORDS:
        return name
    return "`" + name.replace("`", "``") + "`"


def index_name(table: str, columns: list[str], taken: set[str], limit: int) -> str:
    """ix_<table>_<columns>, within the identifier length limit, not taken."""
    name = "_".join(["ix", table, *[re.sub(r"\W", "", c) for c in columns]])[:limit]
    base, suffix = name, 2
    while name.lower() in taken:
        name = f"{base[:limit - 4]}_{suffix}"
        suffix += 1
    return name


# -- shared derivation ------------------------------------------------------------------------

def propose(use: TableUse, distinct: dict[str, float], max_equality: int = 3) -> tuple[list[str], str]:
    """Index columns for one statement's use of a table, and how they were chosen."""
    lower = {c.lower(): c for c in distinct}

    def selectivity(col: str) -> float:
        return distinct.get(lower.get(col.lower(), col), -1.0)

    equality = sorted(use.equality, key=lambda c: -selectivity(c))[:max_equality]
    ranges = [c for c in use.range if c.lower() not in {e.lower() for e in equality}]
    if equality or ranges:
        columns = equality + sorted(ranges, key=lambda c: -selectivity(c))[:1]
        return columns, "equality columns (most selective first), then one range column"
    if use.join:
        return [sorted(use.join, key=lambda c: -selectivity(c))[0]], "join column (no filter on the table)"
    return [], "no filter, join or sort column on the table"


def served_by(columns: list[str], equality_count: int, indexes: list[dict[str, Any]]) -> str | None:
    """Name of an existing index that already serves ``columns`` (equality part in any order,
    then the range column, as a left prefix), or whose unique key the equalities fix; else None."""
    wanted = [c.lower() for c in columns]
    eq, rest = set(wanted[:equality_count]), wanted[equality_count:]
    for index in indexes:
        keys = [c.lower() for c in index["columns"]]
        if index.get("partial"):
            continue
        if len(keys) >= len(wanted) and set(keys[:len(eq)]) == eq and keys[len(eq):len(wanted)] == rest:
            return index["name"]
        if index.get("unique") and keys and set(keys) <= eq:
            return index["name"]
    return None


# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------

# The connection's session is already read-only with a statement and lock timeout.
PG_SESSION = ["SET plan_cache_mode = force_generic_plan"]
PG_RESET = ["RESET plan_cache_mode"]

PG_TABLES = """
SELECT t.relid, t.schemaname, t.relname, t.seq_scan, t.seq_tup_read,
       COALESCE(t.idx_scan, 0) AS idx_scan, t.n_live_tup, c.reltuples,
       pg_relation_size(t.relid) AS table_bytes, has_table_privilege(t.relid, 'SELECT') AS readable
FROM pg_stat_user_tables AS t JOIN pg_class AS c ON c.oid = t.relid
ORDER BY t.seq_tup_read DESC NULLS LAST
"""

# toplevel: nested statements (track = all) would count their time twice.
PG_STATEMENTS = """
SELECT s.queryid::text AS queryid, s.query, s.calls, s.total_exec_time AS total_ms, s.rows,
       sum(s.total_exec_time) OVER () AS all_ms
FROM pg_stat_statements AS s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.toplevel
ORDER BY s.total_exec_time DESC
LIMIT ?
"""

PG_INDEXES = """
SELECT i.indrelid AS relid, ic.relname AS name, am.amname, i.indisunique AS is_unique,
       i.indpred IS NOT NULL AS partial,
       array_to_string(ARRAY(
           SELECT COALESCE(a.attname, '(expression)')
           FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, n)
           LEFT JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
           ORDER BY k.n), ',') AS columns
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_am AS am ON am.oid = ic.relam
WHERE i.indrelid IN ({marks}) AND i.indisvalid
"""

PG_COLUMNS = """
SELECT a.attrelid AS relid, a.attname, s.n_distinct, s.null_frac
FROM pg_attribute AS a
LEFT JOIN pg_stats AS s ON s.schemaname = ? AND s.tablename = ? AND s.attname = a.attname
WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped
"""


def pg_explain(meter: Meter, sql: str, tag: str = "l4a_adv") -> dict[str, Any]:
    """The generic plan of ``sql`` as EXPLAIN (FORMAT JSON) gives it (top node dict).

    PostgreSQL 15 has no EXPLAIN (GENERIC_PLAN) (16+). A statement with $n placeholders is
    PREPAREd (the parser infers the parameter types from their context), and with
    plan_cache_mode = force_generic_plan (session setting) ``EXPLAIN EXECUTE p(NULL, ...)``
    shows the generic plan: the NULLs are never used for planning. The prepared statement is
    deallocated at once, so a later hypothetical index is planned afresh.
    """
    count = placeholder_count(sql)
    if count == 0:
        return json.loads(meter.value(f"EXPLAIN (FORMAT JSON) {sql}"))[0]
    meter.rows(f"PREPARE {tag} AS {sql}")
    try:
        text = meter.value(f"EXPLAIN (FORMAT JSON) EXECUTE {tag}({', '.join(['NULL'] * count)})")
    finally:
        meter.rows(f"DEALLOCATE {tag}")
    return json.loads(text)[0]


def _plan_nodes(node: dict[str, Any]):
    yield node
    for child in node.get("Plans") or ():
        yield from _plan_nodes(child)


def summarize_pg_plan(plan: dict[str, Any], table_rows: dict[str, float] | None = None,
                      work_mem_kb: float = 4096, large_rows: float = 10_000,
                      large_outer: float = 10_000) -> list[dict[str, Any]]:
    """The costly nodes of one PostgreSQL plan (EXPLAIN FORMAT JSON, ANALYZE or not):
    sequential scans of large tables, sorts that spill (or, estimated, would), nested loops over
    a large outer input, hash joins in batches. Ordered by the node's own share of the cost."""
    root = plan.get("Plan", plan)
    total = _num(root.get("Total Cost")) or 1.0
    table_rows = table_rows or {}
    found = []
    for node in _plan_nodes(root):
        kind = node.get("Node Type", "")
        own = _num(node.get("Total Cost")) - sum(_num(c.get("Total Cost")) for c in node.get("Plans") or ())
        item = None
        if kind == "Seq Scan":
            rel = node.get("Relation Name", "")
            rows = table_rows.get(f"{node.get('Schema', '')}.{rel}", table_rows.get(rel))
            rows = rows if rows is not None else _num(node.get("Actual Rows")) + _num(node.get("Rows Removed by Filter"))
            if rows >= large_rows:
                item = {"node": "Seq Scan", "relation": rel, "table_rows": rows, "filter": node.get("Filter"),
                        "problem": f"sequential scan of {rel} ({rows:,.0f} rows)"
                                   + (f" to find rows matching {node['Filter']}" if node.get("Filter") else "")}
        elif kind in ("Sort", "Incremental Sort"):
            method = node.get("Sort Method", "")
            estimate_kb = _num(node.get("Plan Rows")) * _num(node.get("Plan Width")) / 1024
            if "external" in method or node.get("Sort Space Type") == "Disk":
                item = {"node": kind, "problem": f"sort spilled to disk ({node.get('Sort Space Used')} kB, {method})"}
            elif not method and estimate_kb > work_mem_kb:
                item = {"node": kind, "problem": f"sort of about {estimate_kb:,.0f} kB exceeds work_mem "
                                                 f"({work_mem_kb:,.0f} kB): likely spills"}
        elif kind == "Nested Loop":
            children = node.get("Plans") or []
            outer = children[0] if children else {}
            rows = _num(outer.get("Actual Rows") or outer.get("Plan Rows"))
            if rows >= large_outer:
                inner = children[1].get("Node Type") if len(children) > 1 else "?"
                item = {"node": kind, "outer_rows": rows,
                        "problem": f"nested loop over a large outer input ({rows:,.0f} rows): the inner "
                                   f"{inner} runs once per row"}
        elif kind == "Hash" and _num(node.get("Hash Batches")) > 1:
            item = {"node": kind, "problem": f"hash in {node['Hash Batches']} batches: spilled past work_mem"}
        if item:
            item["own_cost_share"] = round(own / total, 3)
            found.append(item)
    return sorted(found, key=lambda i: -i["own_cost_share"])


def _pg_has_hypopg(meter: Meter) -> str | None:
    return meter.value("SELECT extversion FROM pg_extension WHERE extname = 'hypopg'")


def _pg_context(meter: Meter, top: int):
    tables = meter.rows(PG_TABLES)
    statements = meter.rows(PG_STATEMENTS, [top])
    by_name: dict[str, list[dict]] = {}
    for t in tables:
        by_name.setdefault(t["relname"].lower(), []).append(t)

    def resolve(use: TableUse) -> dict | None:
        rows = by_name.get(use.name.lower(), [])
        if use.schema:
            rows = [r for r in rows if r["schemaname"].lower() == use.schema.lower()]
        if len(rows) > 1:  # same name in several schemas: assume the default search_path
            rows = [r for r in rows if r["schemaname"] == "public"] or rows[:1]
        return rows[0] if rows else None

    parsed = []
    for s in statements:
        try:
            if statement_kind(s["query"], "postgresql") is None:
                continue  # utility statements (EXPLAIN, PREPARE, DDL) are never advised on
            uses = table_uses(s["query"], "postgresql")
        except ParseFailure:
            continue
        resolved = [(use, resolve(use)) for use in uses]
        parsed.append((s, [(u, t) for u, t in resolved if t is not None]))
    return tables, statements, parsed


def advise_postgresql(meter: Meter, **options: Any) -> Report:
    """Index advice for the catalog ``meter`` reads (see module docstring); the session's
    plan_cache_mode is set for the run and reset after it, whatever happens."""
    for setting in PG_SESSION:
        meter.rows(setting)
    try:
        return _advise_postgresql(meter, **options)
    finally:
        for setting in PG_RESET:
            meter.rows(setting)


def _advise_postgresql(meter: Meter, *, min_rows: int = 10_000, min_seq_tup_read: float = 1_000_000,
                      min_share: float = 0.05, top_statements: int = 200, per_table: int = 5,
                      min_cost_drop: float = 0.10, use_hypopg: bool = True) -> Report:
    notes: list[str] = []
    tables, statements, parsed = _pg_context(meter, top_statements)
    examined = {"tables": len(tables), "statements": len(parsed)}
    all_ms = _num(statements[0]["all_ms"]) if statements else 0.0
    hypopg = _pg_has_hypopg(meter) if use_hypopg else None
    if not hypopg:
        notes.append("hypopg is not installed in this catalog: advice comes from the statements alone, "
                     "not proven by the planner (CREATE EXTENSION hypopg; Debian postgresql-NN-hypopg)")

    # 1. candidates by work
    touching: dict[int, list[tuple[dict, TableUse]]] = {}
    for s, pairs in parsed:
        for use, t in pairs:
            touching.setdefault(t["relid"], []).append((s, use))
    candidates = []
    for t in tables:
        served = touching.get(t["relid"], [])
        share = sum(_num(s["total_ms"]) for s, _ in served) / all_ms if all_ms else 0.0
        rows = max(_num(t["n_live_tup"]), _num(t["reltuples"]))  # n_live_tup is 0 after pg_stat_reset()
        if rows >= min_rows and _num(t["seq_tup_read"]) >= min_seq_tup_read and share >= min_share:
            candidates.append({**t, "share_of_time": share})
    candidates.sort(key=lambda c: -_num(c["seq_tup_read"]) * c["share_of_time"])

    advice: list[Advice] = []
    # Without SELECT on a table, pg_stats hides its columns and EXPLAIN is refused: no guess.
    blind = [f"{c['schemaname']}.{c['relname']}" for c in candidates if not _truthy(c.get("readable", True))]
    candidates = [c for c in candidates if _truthy(c.get("readable", True))]
    if not candidates:
        return Report(advice, candidates, notes, meter.cost(), blind, examined)
    marks = ", ".join("?" for _ in candidates)
    indexes: dict[int, list[dict]] = {}
    for row in meter.rows(PG_INDEXES.format(marks=marks), [c["relid"] for c in candidates]):
        if row["amname"] == "btree":
            indexes.setdefault(row["relid"], []).append(
                {"name": row["name"], "columns": row["columns"].split(","), "unique": _truthy(row["is_unique"]),
                 "partial": _truthy(row["partial"])})
    plans_before: dict[str, dict] = {}

    def cost_of(sql: str, key: str | None = None) -> tuple[float | None, dict | None, str | None]:
        try:
            plan = pg_explain(meter, sql)
        except Exception as exc:  # noqa: BLE001 - a statement the server cannot plan is skipped
            return None, None, str(exc).split("\n")[0][:200]
        if key:
            plans_before[key] = plan
        return _num(plan["Plan"]["Total Cost"]), plan, None

    for cand in candidates:
        relid, reltuples = cand["relid"], max(_num(cand["reltuples"]), _num(cand["n_live_tup"]))
        distinct = {}
        for col in meter.rows(PG_COLUMNS, [cand["schemaname"], cand["relname"], relid]):
            nd = col["n_distinct"]
            if nd is not None:
                distinct[col["attname"]] = _num(nd) if _num(nd) > 0 else -_num(nd) * reltuples
        served = sorted(touching[relid], key=lambda p: -_num(p[0]["total_ms"]))[:per_table]
        proposals: dict[tuple[str, ...], dict] = {}
        for s, use in served:
            columns, how = propose(use, distinct)
            if not columns:
                continue
            eq_count = len([c for c in columns if c in use.equality]) or (1 if how.startswith("join") else 0)
            existing = served_by(columns, eq_count, indexes.get(relid, []))
            entry = proposals.setdefault(tuple(columns), {"statements": [], "existing": existing, "how": how})
            entry["statements"].append(s)
        table_display = f"{cand['schemaname']}.{cand['relname']}"
        for columns, entry in proposals.items():
            if entry["existing"]:
                advice.append(Advice("postgresql", table_display, list(columns), "", False, None,
                                     f"already served by index {entry['existing']}",
                                     {"statements": [s["query"] for s in entry["statements"]]}))
                continue
            advice.append(_pg_prove(meter, cand, list(columns), entry, indexes.get(relid, []), distinct,
                                    all_ms, hypopg, min_cost_drop, cost_of, plans_before))
    return Report(advice, candidates, notes, meter.cost(), blind, examined)


def _pg_prove(meter, cand, columns, entry, indexes, distinct, all_ms, hypopg, min_cost_drop, cost_of,
              plans_before) -> Advice:
    schema, table = cand["schemaname"], cand["relname"]
    taken = {i["name"].lower() for i in indexes}
    prefix = "_".join(["ix", table])[:40]
    taken |= {r["relname"].lower() for r in meter.rows(
        "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ? AND c.relname LIKE ?", [schema, prefix.replace("_", r"\_") + "%"])}
    name = index_name(table, columns, taken, 63)
    target = f"{quote_pg(schema)}.{quote_pg(table)} ({', '.join(quote_pg(c) for c in columns)})"
    statement = f"CREATE INDEX CONCURRENTLY {quote_pg(name)} ON {target};"
    stmts = entry["statements"]
    share = sum(_num(s["total_ms"]) for s in stmts) / all_ms if all_ms else 0.0
    evidence: dict[str, Any] = {
        "statements": [{"queryid": s["queryid"], "query": s["query"], "calls": s["calls"],
                        "total_ms": round(_num(s["total_ms"]), 1)} for s in stmts],
        "share_of_time": round(share, 4), "seq_tup_read": cand["seq_tup_read"], "seq_scan": cand["seq_scan"],
        "idx_scan": cand["idx_scan"], "n_live_tup": cand["n_live_tup"],
        "column_n_distinct": {c: distinct.get(c) for c in columns}, "derived_from": entry["how"],
    }
    display = f"{schema}.{table}"
    explainable = [s for s in stmts if statement_kind(s["query"], "postgresql") in ("select", "update", "delete", "insert")]
    before = {}
    for s in explainable:
        cost, _plan, error = cost_of(s["query"], s["queryid"])
        if cost is None:
            evidence.setdefault("not_explained", []).append({"queryid": s["queryid"], "error": error})
        else:
            before[s["queryid"]] = cost
    if not hypopg:
        evidence["planner"] = "hypopg not installed: not proven"
        evidence["cost_before"] = before
        return Advice("postgresql", display, columns, statement, True, None,
                      "derived from the statements (hypopg not installed: not proven by the planner)", evidence)
    if not before:
        evidence["planner"] = "no served statement could be planned"
        return Advice("postgresql", display, columns, statement, True, None,
                      "derived from the statements; the planner could not check it", evidence)
    create = f"CREATE INDEX ON {target}"
    row = meter.rows("SELECT indexrelid, indexname FROM hypopg_create_index(?)", [create])[0]
    try:
        after, used = {}, False
        for s in explainable:
            if s["queryid"] not in before:
                continue
            cost, plan, _error = cost_of(s["query"])
            if cost is not None:
                after[s["queryid"]] = cost
                used |= any(n.get("Index Name") == row["indexname"] for n in _plan_nodes(plan["Plan"]))
        size = meter.value("SELECT hypopg_relation_size(?)", [row["indexrelid"]])
    finally:
        meter.rows("SELECT hypopg_reset()")
    calls = {s["queryid"]: _num(s["calls"]) for s in stmts}
    weighted_before = sum(before[q] * calls[q] for q in after)
    weighted_after = sum(after[q] * calls[q] for q in after)
    drop = 1 - weighted_after / weighted_before if weighted_before else 0.0
    evidence.update(planner="hypopg " + hypopg, cost_before=before, cost_after=after,
                    cost_drop=round(drop, 4), hypothetical_index_used=used, index_bytes=size)
    if used and drop >= min_cost_drop:
        first = next(iter(after))
        return Advice("postgresql", display, columns, statement, True, True,
                      f"the planner's cost drops from {before[first]:,.0f} to {after[first]:,.0f} "
                      f"({drop:.0%} weighted by calls) with this index", evidence)
    return Advice("postgresql", display, columns, "", False, False,
                  f"the planner would not use it or the cost drops only {drop:.0%}", evidence)


def explain_top_postgresql(meter: Meter, n: int = 5, advice: Report | None = None) -> list[dict[str, Any]]:
    """For the n statements with the most total time: the costly nodes of their generic plan,
    and the advice (if any) that serves them."""
    for setting in PG_SESSION:
        meter.rows(setting)
    try:
        return _explain_top_postgresql(meter, n, advice)
    finally:
        for setting in PG_RESET:
            meter.rows(setting)


def _explain_top_postgresql(meter: Meter, n: int, advice: Report | None) -> list[dict[str, Any]]:
    """For the n statements with the most total time: the costly nodes of their generic plan,
    and the advice (if any) that serves them."""
    work_mem_kb = _num(meter.value("SELECT setting FROM pg_settings WHERE name = 'work_mem'"))
    tables, statements, parsed = _pg_context(meter, n)
    table_rows = {f"{t['schemaname']}.{t['relname']}": max(_num(t["reltuples"]), _num(t["n_live_tup"]))
                  for t in tables}
    table_rows.update({t["relname"]: max(_num(t["reltuples"]), _num(t["n_live_tup"])) for t in tables})
    out = []
    for s, _pairs in parsed:
        item: dict[str, Any] = {"queryid": s["queryid"], "query": s["query"], "total_ms": round(_num(s["total_ms"]), 1),
                                "share_of_time": round(_num(s["total_ms"]) / _num(s["all_ms"]), 4) if _num(s["all_ms"]) else 0}
        if statement_kind(s["query"], "postgresql") is None:
            continue
        try:
            plan = pg_explain(meter, s["query"], "l4a_top")
        except Exception as exc:  # noqa: BLE001
            item["error"] = str(exc).split("\n")[0][:200]
        else:
            item["total_cost"] = _num(plan["Plan"]["Total Cost"])
            item["costly_nodes"] = summarize_pg_plan(plan, table_rows, work_mem_kb)
        if advice:
            item["fixed_by"] = [a.statement for a in advice.recommended
                                if any(x.get("queryid") == s["queryid"] for x in a.evidence.get("statements", []))]
        out.append(item)
    return out


# ---------------------------------------------------------------------------------------------
# MariaDB / MySQL
# ---------------------------------------------------------------------------------------------

MY_TABLES = """
SELECT OBJECT_SCHEMA AS catalog_name, OBJECT_NAME AS table_name,
       SUM(CASE WHEN INDEX_NAME IS NULL THEN COUNT_READ ELSE 0 END) AS full_scan_rows,
       SUM(CASE WHEN INDEX_NAME IS NOT NULL THEN COUNT_READ ELSE 0 END) AS index_rows
FROM performance_schema.table_io_waits_summary_by_index_usage
WHERE OBJECT_TYPE = 'TABLE' AND OBJECT_SCHEMA NOT IN ('mysql', 'performance_schema', 'sys')
GROUP BY OBJECT_SCHEMA, OBJECT_NAME
HAVING SUM(CASE WHEN INDEX_NAME IS NULL THEN COUNT_READ ELSE 0 END) >= ?
"""

# Timers are picoseconds.
MY_STATEMENTS = """
SELECT SCHEMA_NAME AS schema_name, DIGEST AS digest, DIGEST_TEXT AS query, COUNT_STAR AS calls,
       SUM_TIMER_WAIT / 1000000000 AS total_ms, SUM_ROWS_EXAMINED AS rows_examined,
       SUM_NO_INDEX_USED AS no_index_used, SUM(SUM_TIMER_WAIT) OVER () / 1000000000 AS all_ms
FROM performance_schema.events_statements_summary_by_digest
WHERE DIGEST_TEXT IS NOT NULL
ORDER BY SUM_TIMER_WAIT DESC
LIMIT ?
"""

MY_SAMPLE = """
SELECT SQL_TEXT AS sql_text FROM performance_schema.events_statements_history_long
WHERE DIGEST = ? AND SQL_TEXT IS NOT NULL ORDER BY EVENT_ID DESC LIMIT 1
"""


_LITERAL = re.compile(r"'(?:[^'\\]|\\.|'')*'|(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")


def mask_literals(text: str | None) -> str | None:
    """A plan condition with its string and number literals replaced by ``?`` (the EXPLAINed
    sample holds real values, which may be customer data)."""
    return _LITERAL.sub("?", text) if text else text


def summarize_mysql_plan(plan: dict[str, Any], large_rows: float = 10_000) -> list[dict[str, Any]]:
    """Costly parts of a MariaDB EXPLAIN FORMAT=JSON plan: full scans of large tables, filesort
    and temporary tables, block-nested-loop joins over many rows."""
    found = []

    def walk(node, key=None):
        if isinstance(node, dict):
            if key == "table" and "table_name" in node:
                rows = _num(node.get("rows"))
                if node.get("access_type") in ("ALL", "index") and rows >= large_rows:
                    found.append({"table": node["table_name"], "access_type": node["access_type"], "rows": rows,
                                  "filtered": node.get("filtered"), "condition": mask_literals(node.get("attached_condition")),
                                  "problem": f"full {'index' if node['access_type'] == 'index' else 'table'} scan "
                                             f"of {node['table_name']} (~{rows:,.0f} rows examined)"})
            if key == "block-nl-join" and _num(node.get("table", {}).get("rows")) >= large_rows:
                found.append({"problem": "block nested loop join over a large table (join buffer)",
                              "table": node.get("table", {}).get("table_name")})
            if key == "filesort":
                found.append({"problem": "filesort" + (" with a temporary table" if node.get("temporary_table") else "")})
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)

    walk(plan)
    return found


def _my_qualified(sql: str, schema: str | None) -> str:
    """``sql`` with its unqualified tables qualified by the digest's default schema (the
    advisor's session has no default database)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="mysql")
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    if schema:
        for table in tree.find_all(exp.Table):
            if not table.db and isinstance(table.this, exp.Identifier) and table.name.lower() not in ctes:
                table.set("db", exp.to_identifier(schema))
    return tree.sql(dialect="mysql")


def _my_explain(meter: Meter, digest: str, query: str, schema: str | None = None) -> dict[str, Any]:
    """EXPLAIN FORMAT=JSON of a recent literal sample of the digest (a digest's ``?`` cannot be
    planned); the sample text itself is not returned (it may hold customer data)."""
    kind = statement_kind(query, "mysql")
    if kind not in ("select", "update", "delete"):
        return {"plan": None, "why": f"not explained ({kind or 'not a plannable statement'})"}
    sample = meter.value(MY_SAMPLE, [digest])
    if not sample:
        return {"plan": None, "why": "no recent sample in events_statements_history_long"}
    try:
        text = meter.value(f"EXPLAIN FORMAT=JSON {_my_qualified(sample, schema)}")
    except Exception as exc:  # noqa: BLE001
        return {"plan": None, "why": str(exc).split("\n")[0][:200]}
    return {"plan": json.loads(text), "why": None}


def advise_mysql(meter: Meter, *, min_full_scan_rows: float = 1_000_000, min_share: float = 0.05,
                 top_statements: int = 200, per_table: int = 5, sample_rows: int = 10_000,
                 explain: bool = True, scope: Any = None) -> Report:
    """Index advice for a MariaDB/MySQL server (see module docstring): tables of every catalog
    ``scope(catalog)`` accepts (None: every non-system catalog)."""
    notes: list[str] = []
    scanned = meter.rows(MY_TABLES, [min_full_scan_rows])
    statements = meter.rows(MY_STATEMENTS, [top_statements])
    examined = {"tables with full scans": len(scanned), "statements": len(statements)}
    all_ms = _num(statements[0]["all_ms"]) if statements else 0.0
    keyed = {(r["catalog_name"].lower(), r["table_name"].lower()): r for r in scanned}
    touching: dict[tuple, list[tuple[dict, TableUse]]] = {}
    for s in statements:
        if (s["schema_name"] or "").lower() in SYSTEM_SCHEMAS:
            continue
        try:
            if statement_kind(s["query"], "mysql") is None:
                continue
            uses = table_uses(s["query"], "mysql", default_schema=s["schema_name"])
        except ParseFailure:
            continue
        for use in uses:
            if use.schema:
                touching.setdefault((use.schema.lower(), use.name.lower()), []).append((s, use))
    candidates = []
    for key, row in keyed.items():
        if scope is not None and not scope(row["catalog_name"]):
            continue
        served = touching.get(key, [])
        share = sum(_num(s["total_ms"]) for s, _ in served) / all_ms if all_ms else 0.0
        if share >= min_share:
            candidates.append({**row, "share_of_time": share})
    candidates.sort(key=lambda c: -_num(c["full_scan_rows"]) * c["share_of_time"])
    advice: list[Advice] = []
    blind: list[str] = []
    if not candidates:
        return Report(advice, candidates, notes, meter.cost(), [], examined)

    pairs = [(c["catalog_name"], c["table_name"]) for c in candidates]
    where = " OR ".join("(TABLE_SCHEMA = ? AND TABLE_NAME = ?)" for _ in pairs)
    flat = [v for p in pairs for v in p]
    stats = meter.rows("SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, INDEX_NAME AS i, SEQ_IN_INDEX AS n, COLUMN_NAME AS c, "  # noqa: S608 # nosec B608 - placeholders or quoted identifiers only
                       "CARDINALITY AS card, NON_UNIQUE AS nu, SUB_PART AS sp FROM information_schema.STATISTICS "
                       f"WHERE {where} ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX", flat)
    sizes = {(r["s"].lower(), r["t"].lower()): _num(r["n"]) for r in meter.rows(
        f"SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, TABLE_ROWS AS n FROM information_schema.TABLES WHERE {where}", flat)}  # noqa: S608 # nosec B608 - placeholders or quoted identifiers only
    # Digest texts print identifiers that are also keywords in upper case, unquoted (`ID`,
    # `STATUS`): map every parsed column to its real name (MariaDB column names ignore case).
    real_names: dict[tuple, dict[str, str]] = {}
    for r in meter.rows(f"SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS "  # noqa: S608 # nosec B608 - placeholders or quoted identifiers only
                        f"WHERE {where}", flat):
        real_names.setdefault((r["s"].lower(), r["t"].lower()), {})[r["c"].lower()] = r["c"]
    try:
        column_stats = meter.rows("SELECT db_name AS s, table_name AS t, column_name AS c, avg_frequency AS f "  # noqa: S608 # nosec B608 - placeholders or quoted identifiers only
                                  f"FROM mysql.column_stats WHERE {where.replace('TABLE_SCHEMA', 'db_name').replace('TABLE_NAME', 'table_name')}",
                                  flat)
    except Exception:  # noqa: BLE001 - no privilege on mysql.*: fall back to index cardinality
        column_stats = []
        notes.append("mysql.column_stats not readable: selectivity from index cardinality or a bounded sample")
    for cand in candidates:
        key = (cand["catalog_name"].lower(), cand["table_name"].lower())
        display = f"{cand['catalog_name']}.{cand['table_name']}"
        if key not in real_names:  # information_schema shows only tables we hold a privilege on
            blind.append(display)  # its indexes are unknown: any advice could duplicate one
            continue
        rows_total = sizes.get(key, 0.0)
        indexes: dict[str, dict] = {}
        distinct: dict[str, float] = {}
        source: dict[str, str] = {}
        for r in stats:
            if (r["s"].lower(), r["t"].lower()) != key:
                continue
            index = indexes.setdefault(r["i"], {"name": r["i"], "columns": [], "unique": not int(r["nu"]),
                                                "partial": False})
            index["columns"].append(r["c"])
            index["partial"] |= r["sp"] is not None  # a prefix (SUB_PART) index is not a full key
            if int(r["n"]) == 1 and r["card"] is not None:
                distinct[r["c"]] = _num(r["card"])
                source[r["c"]] = "index cardinality"
        for r in column_stats:
            if (r["s"].lower(), r["t"].lower()) == key and r["f"]:
                distinct[r["c"]] = rows_total / _num(r["f"]) if _num(r["f"]) else 0.0
                source[r["c"]] = "mysql.column_stats"
        served = sorted(touching[key], key=lambda p: -_num(p[0]["total_ms"]))[:per_table]
        proposals: dict[tuple[str, ...], dict] = {}
        names = real_names.get(key, {})
        for s, use in served:
            for kind in ("equality", "range", "join", "order_by"):
                setattr(use, kind, [names.get(c.lower(), c) for c in getattr(use, kind)])
            missing = [c for c in use.equality + use.range if c not in distinct]
            if sample_rows and len(use.equality) + min(1, len(use.range)) > 1 and missing:
                for col in missing:  # bounded: reads at most sample_rows rows
                    distinct[col] = _num(meter.value(
                        f"SELECT COUNT(DISTINCT {quote_my(col)}) FROM (SELECT {quote_my(col)} FROM "  # noqa: S608 # nosec B608 - placeholders or quoted identifiers only
                        f"{quote_my(cand['catalog_name'])}.{quote_my(cand['table_name'])} LIMIT {int(sample_rows)}) AS s"))
                    source[col] = f"COUNT(DISTINCT) over {sample_rows} rows"
            columns, how = propose(use, distinct)
            if not columns:
                continue
            eq_count = len([c for c in columns if c in use.equality]) or (1 if how.startswith("join") else 0)
            existing = served_by(columns, eq_count, list(indexes.values()))
            entry = proposals.setdefault(tuple(columns), {"statements": [], "existing": existing, "how": how})
            entry["statements"].append(s)
        for columns, entry in proposals.items():
            texts = [s["query"] for s in entry["statements"]]
            if entry["existing"]:
                advice.append(Advice("mysql", display, list(columns), "", False, None,
                                     f"already served by index {entry['existing']}", {"statements": texts}))
                continue
            name = index_name(cand["table_name"], list(columns), {n.lower() for n in indexes}, 64)
            statement = (f"ALTER TABLE {quote_my(cand['catalog_name'])}.{quote_my(cand['table_name'])} "
                         f"ADD INDEX {quote_my(name)} ({', '.join(quote_my(c) for c in columns)});")
            stmts = entry["statements"]
            share = sum(_num(s["total_ms"]) for s in stmts) / all_ms if all_ms else 0.0
            evidence: dict[str, Any] = {
                "statements": [{"digest": s["digest"], "query": s["query"], "calls": s["calls"],
                                "total_ms": round(_num(s["total_ms"]), 1), "rows_examined": s["rows_examined"],
                                "no_index_used": s["no_index_used"]} for s in stmts],
                "share_of_time": round(share, 4), "full_scan_rows": cand["full_scan_rows"],
                "index_rows": cand["index_rows"], "table_rows": rows_total,
                "column_distinct": {c: distinct.get(c) for c in columns},
                "distinct_source": {c: source.get(c) for c in columns}, "derived_from": entry["how"],
                "planner": "MariaDB has no hypothetical indexes: current plan as evidence",
            }
            if explain:
                result = _my_explain(meter, stmts[0]["digest"], stmts[0]["query"], stmts[0]["schema_name"])
                if result["plan"] is not None:
                    evidence["current_plan"] = summarize_mysql_plan(result["plan"])
                else:
                    evidence["current_plan"] = result["why"]
            advice.append(Advice("mysql", display, list(columns), statement, True, None,
                                 "derived from the statements; current plan in evidence", evidence))
    return Report(advice, candidates, notes, meter.cost(), blind, examined)


def explain_top_mysql(meter: Meter, n: int = 5, advice: Report | None = None) -> list[dict[str, Any]]:
    """For the n digests with the most total time: costly parts of a recent sample's plan."""
    out = []
    for s in meter.rows(MY_STATEMENTS, [n]):
        if (s["schema_name"] or "").lower() in SYSTEM_SCHEMAS or s["schema_name"] is None:
            continue
        item: dict[str, Any] = {"digest": s["digest"], "query": s["query"], "total_ms": round(_num(s["total_ms"]), 1)}
        try:
            result = _my_explain(meter, s["digest"], s["query"], s["schema_name"])
        except ParseFailure as exc:
            result = {"plan": None, "why": f"not parsed: {exc}"}
        item["costly_nodes"] = summarize_mysql_plan(result["plan"]) if result["plan"] else result["why"]
        if advice:
            item["fixed_by"] = [a.statement for a in advice.recommended
                                if any(x.get("digest") == s["digest"] for x in a.evidence.get("statements", []))]
        out.append(item)
    return out


# ---------------------------------------------------------------------------------------------
# shared by perf.missing_index and perf.top_query: one advisor run per target and catalog
# ---------------------------------------------------------------------------------------------

ADVICE_OPTIONS = {
    "postgresql": ("min_rows", "min_seq_tup_read", "min_share", "top_statements", "per_table", "min_cost_drop"),
    "mysql": ("min_full_scan_rows", "min_share", "top_statements", "per_table", "sample_rows"),
}


def advice_for(db: Any, engine: str, catalog: str | None, options: dict[str, Any], scope: Any = None) -> Report:
    """The advisor's report for ``catalog`` (PostgreSQL) or the server (MariaDB, catalog None;
    ``scope(catalog)`` says which catalogs to advise on), computed once per connection:
    perf.top_query and perf.missing_index share it."""
    cache = db.__dict__.setdefault("_l4agent_index_advice", {})
    key = (engine, catalog)
    if key not in cache:
        meter = Meter(db, catalog)
        kwargs = {name: options[name] for name in ADVICE_OPTIONS[engine] if name in options}
        cache[key] = (advise_postgresql(meter, **kwargs) if engine == "postgresql"
                      else advise_mysql(meter, scope=scope, **kwargs))
    return cache[key]


def fixed_by(report: Report | None, query_id: str) -> list[str]:
    """The recommended statements of ``report`` that serve statement ``query_id``."""
    if report is None:
        return []
    return [a.statement for a in report.recommended
            if any(str(x.get("queryid") or x.get("digest")) == str(query_id) for x in a.evidence.get("statements", []))]


def explain_one(db: Any, engine: str, catalog: str | None, query_id: str, text: str,
                schema: str | None = None) -> dict[str, Any]:
    """The costly nodes of one statement's plan (PostgreSQL generic plan; MariaDB a recent literal
    sample of the digest), or why it was not explained; with the statements and time it cost."""
    meter = Meter(db, catalog)
    result: dict[str, Any] = {}
    try:
        if engine == "postgresql":
            if statement_kind(text, "postgresql") is None:
                return {"plan": "not explained (not a plannable statement)"}
            for setting in PG_SESSION:
                meter.rows(setting)
            try:
                tables = {f"{t['schemaname']}.{t['relname']}": max(_num(t["reltuples"]), _num(t["n_live_tup"]))
                          for t in meter.rows(PG_TABLES)}
                tables.update({k.split(".", 1)[1]: v for k, v in list(tables.items())})
                work_mem_kb = _num(meter.value("SELECT setting FROM pg_settings WHERE name = 'work_mem'"))
                plan = pg_explain(meter, text, "l4a_top")
            finally:
                for setting in PG_RESET:
                    meter.rows(setting)
            result = {"total_cost": _num(plan["Plan"]["Total Cost"]),
                      "costly_nodes": summarize_pg_plan(plan, tables, work_mem_kb)}
        else:
            explained = _my_explain(meter, query_id, text, schema)
            result = ({"costly_nodes": summarize_mysql_plan(explained["plan"])} if explained["plan"] is not None
                      else {"plan": explained["why"]})
    except ParseFailure as exc:
        result = {"plan": f"not explained (does not parse: {exc})"}
    except Exception as exc:  # noqa: BLE001 - a statement the server cannot plan is reported, not fatal
        result = {"plan": "not explained: " + str(exc).split("\n")[0][:200]}
    result["explain_cost"] = meter.cost()
    return result
