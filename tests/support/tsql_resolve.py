"""Resolve every column reference of a T-SQL statement against documented_schema.json.

``check(sql)`` parses with sqlglot's ``tsql`` dialect, walks every scope (CTEs, derived tables,
correlated subqueries, CROSS/OUTER APPLY of a subquery or of a table-valued DMF such as
sys.dm_exec_sql_text / sys.dm_exec_query_plan / sys.dm_db_index_physical_stats), maps each alias
to a documented object or to the output columns of a derived source, and reports:

- ``unknown``: a column the documented object does not have, a column a CTE/derived table does
  not output, an unqualified column no source in scope has, or an alias nothing defines;
- ``newer``: a documented column whose ``since`` is later than the floor (2016), unless the
  statement is version-guarded (``guarded=True`` or a ``-- l4agent:version-guarded`` comment);
- ``undocumented_object``: a sys./msdb. object the schema file does not describe.

Standard library + sqlglot only; no project import.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

SCHEMA_PATH = Path(__file__).parents[1] / "data" / "mssql" / "documented_schema.json"
GUARD_MARK = re.compile(r"l4agent:\s*version-guarded", re.I)


@dataclass(frozen=True)
class Problem:
    kind: str  # unknown | newer | undocumented_object | ambiguous
    object: str  # documented object, "derived:<alias>", or "" for an unresolved unqualified column
    column: str
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.object}." if self.object else ""
        return f"{self.kind}: {where}{self.column}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Result:
    parsed: bool
    error: str = ""
    problems: list[Problem] = field(default_factory=list)
    objects: set[str] = field(default_factory=set)
    resolved: int = 0  # column references checked against a documented object

    @property
    def ok(self) -> bool:
        return self.parsed and not self.problems


class Schema:
    def __init__(self, path: Path = SCHEMA_PATH):
        data = json.loads(Path(path).read_text())
        self.floor = data["floor"]
        self.order = data["version_order"]
        self.objects = {name.lower(): obj for name, obj in data["objects"].items()}
        # msdb tables are also reached as msdb..backupset and msdb.dbo.backupset
        self.aliases = {}
        for name in self.objects:
            if name.startswith("msdb.dbo."):
                self.aliases[name.replace("msdb.dbo.", "msdb..")] = name

    def lookup(self, name: str) -> dict | None:
        name = self.aliases.get(name, name)
        if name.startswith("master.sys."):  # master.sys.server_resource_stats (MI) = sys.* read in master
            name = name.removeprefix("master.")
        return self.objects.get(name)

    def newer(self, since: str) -> bool:
        if since not in self.order:
            return True
        return self.order.index(since) > self.order.index(self.floor)


def _table_name(table: exp.Table) -> str:
    if isinstance(table.this, exp.Anonymous):  # FROM sys.dm_db_index_physical_stats(...) AS ps
        return ".".join(p for p in (table.catalog, table.db, table.this.name) if p).lower()
    return ".".join(p for p in (table.catalog, table.db, table.name) if p).lower()


def _is_system(name: str) -> bool:
    return name.startswith(("sys.", "msdb.")) or name.startswith("master.sys.")


def _outputs(expression: exp.Expression) -> set[str] | None:
    """Output column names of a derived source; None when it selects * (not checkable here)."""
    if isinstance(expression, exp.Subquery):
        expression = expression.this
    if isinstance(expression, exp.SetOperation):
        expression = expression.left
        while isinstance(expression, exp.SetOperation):
            expression = expression.left
    if isinstance(expression, exp.Select):
        names = set()
        for e in expression.expressions:
            if isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star)):
                return None
            names.add(e.alias_or_name.lower())
        return names
    return None


class Source:
    """What an alias stands for: a documented object, or a derived source with its outputs."""

    def __init__(self, kind: str, name: str, outputs: set[str] | None = None):
        self.kind, self.name, self.outputs = kind, name, outputs


def _source(schema: Schema, alias: str, source, result: Result) -> Source | None:
    if isinstance(source, exp.Table):
        name = _table_name(source)
        if _is_system(name):
            result.objects.add(name)
            return Source("object", name)
        return None  # a user table, a CTE reached as Table (sqlglot maps CTEs to Scope), or USE target
    if isinstance(source, Scope):
        node = source.expression
        if isinstance(node, exp.Lateral):
            inner = node.this
            call = inner.expression if isinstance(inner, exp.Dot) else inner
            if isinstance(call, exp.Anonymous):  # CROSS APPLY sys.dm_exec_sql_text(...) AS t
                prefix = inner.this.name.lower() + "." if isinstance(inner, exp.Dot) else "sys."
                name = prefix + call.name.lower()
                result.objects.add(name)
                return Source("object", name)
            outputs = _outputs(inner)
            return Source("derived", alias, outputs)
        outputs = _outputs(node)
        return Source("derived", alias, outputs)
    return None


def _resolve_alias(scope: Scope, alias: str):
    while scope is not None:
        if alias in scope.sources:
            return scope, scope.sources[alias]
        scope = scope.parent
    return None, None


def check(sql: str, schema: Schema | None = None, guarded: bool = False) -> Result:
    schema = schema or Schema()
    guarded = guarded or bool(GUARD_MARK.search(sql))
    try:
        trees = [t for t in sqlglot.parse(sql, read="tsql") if t is not None]
    except sqlglot.errors.ParseError as e:
        return Result(parsed=False, error=str(e).splitlines()[0])
    result = Result(parsed=True)
    seen: set[tuple] = set()
    for tree in trees:
        if not isinstance(tree, (exp.Query,)):
            continue  # SET / USE carry no column reference
        for scope in traverse_scope(tree):
            projections = set()
            if isinstance(scope.expression, exp.Select):
                projections = {e.alias.lower() for e in scope.expression.expressions if e.alias}
            for column in scope.columns:
                name = column.name.lower()
                qualifier = column.table.lower() if column.table else ""
                key = (id(scope), qualifier, name)
                if key in seen or isinstance(column.this, exp.Star):
                    continue
                seen.add(key)
                _check_column(schema, scope, qualifier, name, projections, result, guarded)
            # a documented object read in a FROM/JOIN with no column reference is still an object read
            for alias, source in scope.sources.items():
                _source(schema, alias, source, result)
    for name in sorted(result.objects):
        if schema.lookup(name) is None:
            result.problems.append(Problem("undocumented_object", name, "*", "not in documented_schema.json"))
    result.problems = sorted(set(result.problems), key=lambda p: (p.kind, p.object, p.column))
    return result


def _check_column(schema, scope, qualifier, name, projections, result, guarded):
    if qualifier:
        owner, raw = _resolve_alias(scope, qualifier)
        if raw is None:
            result.problems.append(Problem("unknown", qualifier, name, "alias defined nowhere in scope"))
            return
        src = _source(schema, qualifier, raw, result)
        if src is None:
            return  # user table: not this check's business
        _against(schema, src, name, result, guarded)
        return
    # unqualified: ORDER BY / GROUP BY may name a select-list alias
    if name in projections:
        return
    candidates = []
    probe = scope
    while probe is not None and not candidates:  # correlated references climb to the outer scope
        for alias, raw in probe.sources.items():
            src = _source(schema, alias, raw, result)
            if src is not None:
                candidates.append(src)
        if candidates:
            break
        probe = probe.parent
    if not candidates:
        return
    having = [s for s in candidates if _has(schema, s, name)]
    if not having:
        detail = "no source in scope has it: " + ", ".join(s.name for s in candidates)
        result.problems.append(Problem("unknown", "", name, detail))
    elif len(having) > 1 and all(s.kind == "object" for s in having):
        result.problems.append(Problem("ambiguous", "", name, "in " + ", ".join(s.name for s in having)))
    else:
        _against(schema, having[0], name, result, guarded)


def _has(schema, src: Source, name: str) -> bool:
    if src.kind == "object":
        obj = schema.lookup(src.name)
        return obj is None or name in obj["columns"]
    return src.outputs is None or name in src.outputs


def _against(schema, src: Source, name: str, result: Result, guarded: bool):
    if src.kind == "derived":
        if src.outputs is not None and name not in src.outputs:
            result.problems.append(Problem("unknown", f"derived:{src.name}", name,
                                           "not an output column of the CTE/derived table"))
        return
    obj = schema.lookup(src.name)
    if obj is None:
        return  # reported once as undocumented_object
    col = obj["columns"].get(name)
    if col is None:
        result.problems.append(Problem("unknown", src.name, name, "not a documented column"))
        return
    result.resolved += 1
    if not guarded and schema.newer(col["since"]):
        result.problems.append(Problem("newer", src.name, name, f"since {col['since']}, floor {schema.floor}"))
