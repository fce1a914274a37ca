"""T-SQL checks for the schema and capacity statements (SQL Server cannot run here).

- :func:`projection`: a SELECT's output column names, lower-case, as the connection keys rows;
- :func:`catalog_columns`: every (catalog view, column) a statement reads, resolved through
  table aliases, derived tables and CROSS APPLY of a DMF;
- :data:`DOCUMENTED`: the columns of those views from tests/data/mssql/documented_schema.json;
- :class:`RowsConnection`: stands in for a SQL Server connection, answering each named statement
  with rows that must carry exactly that statement's output columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from l4agent.dbaccess.engines import quote_mssql
from tests.support.tsql_resolve import Schema

# The documented-schema contract (tests/data/mssql/documented_schema.json): every column of every
# system object the T-SQL reads, with the first version that has it.
DOCUMENTED: dict[str, set[str]] = {name: set(obj["columns"]) for name, obj in Schema().objects.items()}


def parse(sql: str) -> exp.Expression:
    """The one statement in ``sql`` parsed as T-SQL (sqlglot.ParseError when it is not T-SQL)."""
    statements = [s for s in sqlglot.parse(sql, read="tsql") if s is not None]
    assert len(statements) == 1, f"expected one statement, got {len(statements)}"
    return statements[0]


def projection(sql: str) -> list[str]:
    select = parse(sql)
    assert isinstance(select, exp.Select), f"not a SELECT: {sql[:80]}"
    names = [e.alias_or_name.lower() for e in select.expressions]
    assert all(names), f"an output column without a name in {sql[:80]}"
    return names


def _source_name(source: Any) -> str | None:
    if isinstance(source, exp.Table):
        return f"{source.db}.{source.name}".lower()
    if isinstance(source, Scope):  # CROSS APPLY sys.dm_os_volume_stats(...) AS vs
        call = source.expression.find(exp.Anonymous)
        if call is not None and isinstance(source.expression, exp.Table | exp.Lateral):
            return f"sys.{call.name}".lower()
        call = source.expression if isinstance(source.expression, exp.Anonymous) else None
        return f"sys.{call.name}".lower() if call is not None else None
    return None


def catalog_columns(sql: str) -> set[tuple[str, str]]:
    """(view, column) for every column read from a sys.* view or DMF, in every scope."""
    found = set()
    for scope in traverse_scope(parse(sql)):
        tables = {alias: _source_name(source) for alias, source in scope.sources.items()}
        for column in scope.columns:
            view = tables.get(column.table) if column.table else (
                next(iter(tables.values())) if len(tables) == 1 else None)
            if view is not None and view.startswith("sys."):
                found.add((view, column.name.lower()))
    return found


def undocumented(sql: str) -> list[tuple[str, str]]:
    return sorted((view, column) for view, column in catalog_columns(sql)
                  if column not in DOCUMENTED.get(view, set()))


class RowsConnection:
    """Answers named statements with catalog-view-shaped rows; ``calls`` records (name, catalog).
    Every row must carry exactly the statement's output columns, in order."""

    def __init__(self, statements: Mapping[str, str], rows: Mapping[str, Any],
                 scalars: Mapping[str, Any] | None = None):
        self.by_sql = {sql: name for name, sql in statements.items()}
        self.rows = rows
        self.scalars = scalars or {}
        self.calls: list[tuple[str, str | None]] = []

    def query(self, sql: str, params=(), catalog: str | None = None, max_rows: int | None = None):
        name = self.by_sql[sql]
        self.calls.append((name, catalog))
        rows: list[dict] | Callable = self.rows[name]
        rows = rows(catalog) if callable(rows) else rows
        columns = projection(sql)
        for row in rows:
            assert list(row) == columns, f"{name}: row keys {list(row)} != statement columns {columns}"
        return [dict(r) for r in (rows[:max_rows] if max_rows else rows)]

    def scalar(self, sql: str, params=(), catalog: str | None = None):
        rows = self.query(sql, params, catalog=catalog, max_rows=1)
        return next(iter(rows[0].values())) if rows else None

    def quote(self, identifier: str) -> str:
        return quote_mssql(identifier)

    def close(self) -> None:
        pass
