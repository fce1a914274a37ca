"""Which columns a statement filters, joins and sorts on, per table.

``table_uses(sql, engine)`` parses one statement as the server's statistics hold it and returns,
for every base table it reads, the columns it compares with a value (equality, range), the
columns it joins on and the columns it sorts by, aliases resolved and tables qualified.

- PostgreSQL (``engine="postgresql"``): pglast, the server's own parser; ``$1`` placeholders of
  pg_stat_statements are ParamRef nodes and count as values.
- MariaDB/MySQL (``"mysql"``): sqlglot, dialect ``mysql``; the ``?`` of performance_schema digest
  texts are placeholders, the digest's ``IN (...)`` lists and a truncated tail (``...``) are
  repaired before parsing. ``catalog.table`` names keep their catalog (schema) per table.
- SQL Server (``"mssql"``): sqlglot, dialect ``tsql``; a leading ``(@P1 int, ...)`` parameter
  declaration of a parameterised plan-cache text is dropped; ``db.schema.table`` is kept.

A column without a table prefix belongs to the only table of its FROM list; with several tables
it is given to the table whose known columns hold it (``columns`` argument) or dropped. OR
branches and NOT are left out: one b-tree index does not serve them (conservative).
Nothing here talks to a server.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import pglast.enums as _enums

__all__ = ["TableUse", "table_uses", "placeholder_count", "statement_kind", "ParseFailure"]


class ParseFailure(ValueError):
    """The statement could not be parsed (truncated text, dialect the parser does not know)."""


@dataclass(eq=False)
class TableUse:
    """One base table of a statement and the columns the statement uses it by."""

    name: str
    schema: str | None = None  # PostgreSQL/SQL Server schema; MariaDB: the catalog (database)
    catalog: str | None = None  # SQL Server database of a three-part name; PostgreSQL database
    equality: list[str] = field(default_factory=list)  # col = value, col IN (...), col IS NULL
    range: list[str] = field(default_factory=list)  # <, >, <=, >=, BETWEEN, LIKE 'prefix%'
    join: list[str] = field(default_factory=list)  # col = other_table.col
    order_by: list[str] = field(default_factory=list)  # ORDER BY (ascending/descending alike)
    aliases: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str | None, str]:
        return (self.catalog, self.schema, self.name)

    def qualified(self) -> str:
        return ".".join(p for p in (self.catalog, self.schema, self.name) if p)

    def add(self, kind: str, column: str) -> None:
        bucket = getattr(self, kind)
        if column not in bucket:
            bucket.append(column)

    def as_dict(self) -> dict[str, Any]:
        return {"catalog": self.catalog, "schema": self.schema, "table": self.name, "equality": self.equality,
                "range": self.range, "join": self.join, "order_by": self.order_by}


class _Scope:
    """The FROM list of one query level: alias/name -> TableUse (None for a derived table)."""

    def __init__(self, parent: _Scope | None = None):
        self.parent = parent
        self.names: dict[str, TableUse | None] = {}

    def add(self, alias: str | None, name: str, use: TableUse | None) -> None:
        if alias:
            self.names[alias.lower()] = use
        else:
            self.names.setdefault(name.lower(), use)

    def lookup(self, qualifier: str) -> TableUse | None:
        scope: _Scope | None = self
        while scope is not None:
            if qualifier.lower() in scope.names:
                return scope.names[qualifier.lower()]
            scope = scope.parent
        return None

    def only_table(self, column: str, columns: dict[str, set[str]] | None) -> TableUse | None:
        """The table an unprefixed column belongs to, when that is unambiguous."""
        uses = [u for u in dict.fromkeys(self.names.values())]
        if len(uses) == 1:
            return uses[0]
        if columns:
            owners = [u for u in uses if u is not None and column.lower() in columns.get(u.name.lower(), set())]
            if len(owners) == 1:
                return owners[0]
        return None


class _Collector:
    def __init__(self, columns: dict[str, set[str]] | None):
        self.columns = {k.lower(): {c.lower() for c in v} for k, v in (columns or {}).items()}
        self.uses: dict[tuple, TableUse] = {}

    def table(self, name: str, schema: str | None, catalog: str | None) -> TableUse:
        key = (catalog, schema, name)
        if key not in self.uses:
            self.uses[key] = TableUse(name=name, schema=schema, catalog=catalog)
        return self.uses[key]

    def resolve(self, scope: _Scope, qualifier: str | None, column: str) -> TableUse | None:
        if qualifier:
            return scope.lookup(qualifier)
        return scope.only_table(column, self.columns)


# ---------------------------------------------------------------------------------------------
# PostgreSQL: pglast
# ---------------------------------------------------------------------------------------------

_RANGE_OPS = {"<", ">", "<=", ">="}


def _pg_unwrap(node):
    import pglast.ast as a

    while isinstance(node, a.TypeCast | a.CollateClause):
        node = node.arg
    return node


def _pg_has_column(node) -> bool:
    import pglast.ast as a

    found = False

    def walk(n):
        nonlocal found
        if found or n is None:
            return
        if isinstance(n, a.ColumnRef):
            found = True
        elif isinstance(n, a.SubLink | a.SelectStmt):
            return  # a subquery is a value for this level
        elif isinstance(n, list | tuple):
            for x in n:
                walk(x)
        elif isinstance(n, a.Node):
            for name in type(n).__slots__:
                walk(getattr(n, name, None))

    walk(node)
    return found


def _pg_column(node) -> tuple[str | None, str] | None:
    """(qualifier, column) of a plain column reference, else None."""
    import pglast.ast as a

    node = _pg_unwrap(node)
    if not isinstance(node, a.ColumnRef):
        return None
    parts = [f.sval for f in node.fields if isinstance(f, a.String)]
    if len(parts) != len(node.fields) or not parts:
        return None  # t.* and the like
    return (parts[-2] if len(parts) >= 2 else None, parts[-1])


class _PgWalker(_Collector):
    def statement(self, stmt, parent: _Scope | None = None) -> None:
        import pglast.ast as a

        if isinstance(stmt, a.ExplainStmt):
            return self.statement(stmt.query, parent)
        if isinstance(stmt, a.SelectStmt):
            return self.select(stmt, parent)
        if isinstance(stmt, a.UpdateStmt | a.DeleteStmt):
            self.ctes(stmt.withClause, parent)
            scope = _Scope(parent)
            self.range_var(stmt.relation, scope)
            for item in (stmt.fromClause if isinstance(stmt, a.UpdateStmt) else stmt.usingClause) or ():
                self.from_item(item, scope)
            self.predicate(stmt.whereClause, scope)
            return None
        if isinstance(stmt, a.InsertStmt):
            self.ctes(stmt.withClause, parent)
            if stmt.selectStmt is not None:
                self.statement(stmt.selectStmt, parent)
        return None

    def ctes(self, with_clause, scope: _Scope | None) -> None:
        for cte in (with_clause.ctes if with_clause else None) or ():
            self.statement(cte.ctequery, scope)

    def select(self, stmt, parent: _Scope | None) -> None:
        if stmt.larg is not None or stmt.rarg is not None:  # UNION / INTERSECT / EXCEPT
            self.ctes(stmt.withClause, parent)
            for side in (stmt.larg, stmt.rarg):
                if side is not None:
                    self.select(side, parent)
            return
        self.ctes(stmt.withClause, parent)
        scope = _Scope(parent)
        cte_names = {c.ctename.lower() for c in ((stmt.withClause.ctes or ()) if stmt.withClause else ())}
        for item in stmt.fromClause or ():
            self.from_item(item, scope, cte_names)
        self.predicate(stmt.whereClause, scope)
        for sort in stmt.sortClause or ():
            ref = _pg_column(sort.node)
            if ref:
                use = self.resolve(scope, *ref)
                if use is not None:
                    use.add("order_by", ref[1])
        for target in stmt.targetList or ():  # subqueries in the select list
            self.sublinks(target, scope)

    def range_var(self, rv, scope: _Scope, cte_names: set[str] = frozenset()) -> None:
        alias = rv.alias.aliasname if rv.alias else None
        if rv.schemaname is None and rv.relname.lower() in cte_names:
            scope.add(alias, rv.relname, None)
            return
        use = self.table(rv.relname, rv.schemaname, rv.catalogname)
        if alias:
            use.aliases.add(alias)
        scope.add(alias, rv.relname, use)

    def from_item(self, item, scope: _Scope, cte_names: set[str] = frozenset()) -> None:
        import pglast.ast as a

        if isinstance(item, a.RangeVar):
            self.range_var(item, scope, cte_names)
        elif isinstance(item, a.JoinExpr):
            self.from_item(item.larg, scope, cte_names)
            self.from_item(item.rarg, scope, cte_names)
            self.predicate(item.quals, scope)
            for name in item.usingClause or ():  # USING (col): a join column of both sides
                for side in (item.larg, item.rarg):
                    if isinstance(side, a.RangeVar):
                        use = scope.lookup(side.alias.aliasname if side.alias else side.relname)
                        if use is not None:
                            use.add("join", name.sval)
        elif isinstance(item, a.RangeSubselect):
            self.statement(item.subquery, scope if item.lateral else scope.parent)
            scope.add(item.alias.aliasname if item.alias else None, "?subquery", None)

    def sublinks(self, node, scope: _Scope) -> None:
        import pglast.ast as a

        if node is None:
            return
        if isinstance(node, a.SubLink):
            self.statement(node.subselect, scope)
            if node.testexpr is not None:  # col IN (SELECT ...): an equality on col
                ref = _pg_column(node.testexpr)
                if ref and node.subLinkType == _enums.SubLinkType.ANY_SUBLINK:
                    use = self.resolve(scope, *ref)
                    if use is not None:
                        use.add("equality", ref[1])
            return
        if isinstance(node, list | tuple):
            for x in node:
                self.sublinks(x, scope)
        elif isinstance(node, a.Node):
            for name in type(node).__slots__:
                self.sublinks(getattr(node, name, None), scope)

    def mark(self, scope: _Scope, node, kind: str) -> None:
        ref = _pg_column(node)
        if ref:
            use = self.resolve(scope, *ref)
            if use is not None:
                use.add(kind, ref[1])

    def predicate(self, node, scope: _Scope) -> None:
        import pglast.ast as a

        if node is None:
            return
        if isinstance(node, a.BoolExpr):
            if node.boolop == _enums.BoolExprType.AND_EXPR:
                for arg in node.args:
                    self.predicate(arg, scope)
            else:
                self.sublinks(node, scope)  # OR / NOT: only look for subqueries inside
            return
        if isinstance(node, a.NullTest):
            if node.nulltesttype == _enums.NullTestType.IS_NULL:
                self.mark(scope, node.arg, "equality")
            return
        if isinstance(node, a.A_Expr):
            op = node.name[-1].sval if node.name else None
            left, right = node.lexpr, node.rexpr
            if node.kind == _enums.A_Expr_Kind.AEXPR_OP and op in ({"="} | _RANGE_OPS):
                lref, rref = _pg_column(left), _pg_column(right)
                if lref and rref and op == "=":
                    luse, ruse = self.resolve(scope, *lref), self.resolve(scope, *rref)
                    if luse is not None and ruse is not None and luse is not ruse:
                        luse.add("join", lref[1])
                        ruse.add("join", rref[1])
                    elif ruse is None and luse is not None and rref[0] and scope.lookup(rref[0]) is None:
                        luse.add("equality", lref[1])  # correlated to an outer query: a value here
                    elif luse is None and ruse is not None and lref[0] and scope.lookup(lref[0]) is None:
                        ruse.add("equality", rref[1])
                elif lref and not _pg_has_column(right):
                    self.mark(scope, left, "equality" if op == "=" else "range")
                elif rref and not _pg_has_column(left):
                    self.mark(scope, right, "equality" if op == "=" else "range")
                elif lref and rref:
                    pass  # col < other.col: a join filter, not indexable as a range here
            elif node.kind == _enums.A_Expr_Kind.AEXPR_IN and op == "=" and not _pg_has_column(right):
                self.mark(scope, left, "equality")
            elif node.kind == _enums.A_Expr_Kind.AEXPR_OP_ANY and op == "=" and not _pg_has_column(right):
                self.mark(scope, left, "equality")  # col = ANY($1)
            elif node.kind in (_enums.A_Expr_Kind.AEXPR_BETWEEN, _enums.A_Expr_Kind.AEXPR_BETWEEN_SYM) \
                    and not _pg_has_column(right):
                self.mark(scope, left, "range")
            elif node.kind == _enums.A_Expr_Kind.AEXPR_LIKE and op == "~~" and _like_prefix(right):
                self.mark(scope, left, "range")
            self.sublinks(node, scope)
            return
        self.sublinks(node, scope)


def _like_prefix(node) -> bool:
    """A LIKE pattern that is a constant not starting with a wildcard. A placeholder is not:
    its pattern is unknown, and ``'%text%'`` searches (which no b-tree serves) are common."""
    import pglast.ast as a

    node = _pg_unwrap(node)
    if isinstance(node, a.A_Const) and isinstance(node.val, a.String):
        return not node.val.sval.startswith(("%", "_"))
    return False


def _pg_parse(sql: str) -> list:
    import pglast

    try:
        return [raw.stmt for raw in pglast.parse_sql(sql)]
    except pglast.parser.ParseError as exc:
        raise ParseFailure(str(exc)) from None


# ---------------------------------------------------------------------------------------------
# MariaDB / MySQL / SQL Server: sqlglot
# ---------------------------------------------------------------------------------------------

_DIGEST_LIST = re.compile(r"\(\s*\.\.\.\s*\)")  # IN (...) of a digest
_TSQL_PARAMS = re.compile(r"^\s*\((?:@\w+\s+[^,()]+(?:\(\s*\w+(?:\s*,\s*\d+)?\s*\))?\s*(?:output\s*)?,?\s*)+\)",
                          re.IGNORECASE)


def _sg_prepare(sql: str, engine: str) -> str:
    sql = sql.strip().rstrip(";")
    if engine == "mysql":
        sql = _DIGEST_LIST.sub("(?)", sql)
        if sql.endswith("..."):  # digest text cut at performance_schema_max_digest_length
            raise ParseFailure("digest text truncated")
    else:
        sql = _TSQL_PARAMS.sub("", sql, count=1)
    return sql


def _sg_column(node) -> tuple[str | None, str] | None:
    from sqlglot import exp

    while isinstance(node, exp.Cast | exp.Paren | exp.Collate):
        node = node.this
    if isinstance(node, exp.Column) and isinstance(node.this, exp.Identifier):
        return (node.table or None, node.name)
    return None


def _sg_has_column(node) -> bool:
    from sqlglot import exp

    if node is None:
        return False
    for n in node.walk(prune=lambda x: isinstance(x, exp.Subquery | exp.Select) and x is not node):
        if isinstance(n, exp.Column):
            return True
    return False


class _SgWalker(_Collector):
    def __init__(self, columns, engine: str):
        super().__init__(columns)
        self.engine = engine

    def statement(self, stmt, parent: _Scope | None = None) -> None:
        from sqlglot import exp

        if isinstance(stmt, exp.Union | exp.Intersect | exp.Except):
            self.ctes(stmt, parent)
            self.statement(stmt.left, parent)
            self.statement(stmt.right, parent)
        elif isinstance(stmt, exp.Subquery):
            self.statement(stmt.this, parent)
        elif isinstance(stmt, exp.Select):
            self.select(stmt, parent)
        elif isinstance(stmt, exp.Update | exp.Delete):
            self.ctes(stmt, parent)
            scope = _Scope(parent)
            target = stmt.this
            if isinstance(target, exp.Table):
                self.table_ref(target, scope)
            elif target is not None:  # multi-table UPDATE a JOIN b ON ...
                self.from_item(target, scope)
            for key in ("from", "from_"):
                if stmt.args.get(key) is not None:
                    self.from_item(stmt.args[key].this, scope)
            for join in stmt.args.get("joins") or ():
                self.from_item(join.this, scope)
                self.predicate(join.args.get("on"), scope)
            for table in stmt.args.get("tables") or ():  # DELETE t FROM t JOIN ...
                if isinstance(table, exp.Table) and scope.lookup(table.name) is None:
                    self.table_ref(table, scope)
            using = stmt.args.get("using")
            for item in using or ():
                self.from_item(item, scope)
            where = stmt.args.get("where")
            self.predicate(where.this if where is not None else None, scope)
        elif isinstance(stmt, exp.Insert):
            if isinstance(stmt.expression, exp.Select | exp.Union):
                self.statement(stmt.expression, parent)

    def ctes(self, stmt, scope) -> set[str]:
        names = set()
        with_ = stmt.args.get("with") or stmt.args.get("with_")
        for cte in (with_.expressions if with_ is not None else ()):
            self.statement(cte.this, scope)
            names.add(cte.alias_or_name.lower())
        return names

    def select(self, stmt, parent: _Scope | None) -> None:

        cte_names = self.ctes(stmt, parent)
        scope = _Scope(parent)
        from_ = stmt.args.get("from") or stmt.args.get("from_")
        if from_ is not None:
            self.from_item(from_.this, scope, cte_names)
        for join in stmt.args.get("joins") or ():
            self.from_item(join.this, scope, cte_names)
            self.predicate(join.args.get("on"), scope)
            for ident in join.args.get("using") or ():
                name = ident.name
                for use in {u for u in scope.names.values() if u is not None}:
                    if not self.columns or name.lower() in self.columns.get(use.name.lower(), set()):
                        use.add("join", name)
        where = stmt.args.get("where")
        self.predicate(where.this if where is not None else None, scope)
        order = stmt.args.get("order")
        for ordered in (order.expressions if order is not None else ()):
            ref = _sg_column(ordered.this)
            if ref:
                use = self.resolve(scope, *ref)
                if use is not None:
                    use.add("order_by", ref[1])
        for projection in stmt.expressions:
            self.sublinks(projection, scope)

    def table_ref(self, table, scope: _Scope, cte_names: set[str] = frozenset()) -> None:
        alias = table.alias or None
        if not table.db and table.name.lower() in cte_names:
            scope.add(alias, table.name, None)
            return
        if self.engine == "mysql":
            use = self.table(table.name, table.db or None, None)
        else:
            use = self.table(table.name, table.db or None, table.catalog or None)
        if alias:
            use.aliases.add(alias)
        scope.add(alias, table.name, use)

    def from_item(self, item, scope: _Scope, cte_names: set[str] = frozenset()) -> None:
        from sqlglot import exp

        if isinstance(item, exp.Table):
            if isinstance(item.this, exp.Identifier):
                self.table_ref(item, scope, cte_names)
        elif isinstance(item, exp.Subquery):
            self.statement(item.this, scope.parent)
            scope.add(item.alias or None, "?subquery", None)
        elif isinstance(item, exp.Join):
            self.from_item(item.this, scope, cte_names)
            self.predicate(item.args.get("on"), scope)

    def sublinks(self, node, scope: _Scope) -> None:
        from sqlglot import exp

        if node is None:
            return
        for sub in _outermost(node, exp.Select):
            self.statement(sub, scope)

    def mark(self, scope: _Scope, node, kind: str) -> None:
        ref = _sg_column(node)
        if ref:
            use = self.resolve(scope, *ref)
            if use is not None:
                use.add(kind, ref[1])

    def predicate(self, node, scope: _Scope) -> None:
        from sqlglot import exp

        if node is None:
            return
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.And):
            self.predicate(node.left, scope)
            self.predicate(node.right, scope)
            return
        if isinstance(node, exp.Or | exp.Not):
            self.sublinks(node, scope)
            return
        comparisons = {exp.EQ: "=", exp.NullSafeEQ: "=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
        op = comparisons.get(type(node))
        if op:
            left, right = node.left, node.right
            lref, rref = _sg_column(left), _sg_column(right)
            if lref and rref:
                luse, ruse = self.resolve(scope, *lref), self.resolve(scope, *rref)
                if op == "=" and luse is not None and ruse is not None and luse is not ruse:
                    luse.add("join", lref[1])
                    ruse.add("join", rref[1])
                elif op == "=" and luse is not None and ruse is None and rref[0] and scope.lookup(rref[0]) is None:
                    luse.add("equality", lref[1])
                elif op == "=" and ruse is not None and luse is None and lref[0] and scope.lookup(lref[0]) is None:
                    ruse.add("equality", rref[1])
            elif lref and not _sg_has_column(right):
                self.mark(scope, left, "equality" if op == "=" else "range")
            elif rref and not _sg_has_column(left):
                self.mark(scope, right, "equality" if op == "=" else "range")
        elif isinstance(node, exp.In):
            query = node.args.get("query")
            if query is not None or not any(_sg_has_column(e) for e in node.expressions):
                self.mark(scope, node.this, "equality")
        elif isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
            self.mark(scope, node.this, "equality")
        elif isinstance(node, exp.Between):
            if not _sg_has_column(node.args.get("low")) and not _sg_has_column(node.args.get("high")):
                self.mark(scope, node.this, "range")
        elif isinstance(node, exp.Like):
            pattern = node.expression
            # A placeholder's pattern is unknown (a digest's ``?`` may be '%text%'): not a range.
            if isinstance(pattern, exp.Literal) and pattern.is_string and not pattern.this.startswith(("%", "_")):
                self.mark(scope, node.this, "range")
        self.sublinks(node, scope)


def _outermost(node, kind):
    """The nodes of type ``kind`` under ``node`` that are not nested inside another one."""
    stack = [node]
    while stack:
        n = stack.pop()
        for child in n.iter_expressions():
            if isinstance(child, kind):
                yield child
            else:
                stack.append(child)


class _NoFallbackNotice(logging.Filter):
    """sqlglot logs a warning with the statement text whenever it keeps a statement it does not
    model (GRANT, SET ...) as a plain command: expected here, and not for the agent's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "contains unsupported syntax" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_NoFallbackNotice())


def _sg_parse(sql: str, engine: str) -> list:
    import sqlglot
    from sqlglot.errors import SqlglotError

    dialect = "mysql" if engine == "mysql" else "tsql"
    try:
        return [s for s in sqlglot.parse(_sg_prepare(sql, engine), read=dialect) if s is not None]
    except SqlglotError as exc:
        raise ParseFailure(str(exc).splitlines()[0]) from None


# ---------------------------------------------------------------------------------------------
# public
# ---------------------------------------------------------------------------------------------

def table_uses(sql: str, engine: str, *, default_schema: str | None = None,
               columns: dict[str, set[str]] | None = None) -> list[TableUse]:
    """Per base table of ``sql``: equality, range, join and ORDER BY columns.

    ``default_schema`` fills in the schema of unqualified tables (MariaDB: the digest's
    SCHEMA_NAME; PostgreSQL: leave None and resolve against the catalog). ``columns``
    (table name -> column names) resolves unprefixed columns in multi-table statements.
    Raises ParseFailure when the text does not parse.
    """
    if engine == "postgresql":
        walker: _Collector = _PgWalker(columns)
        for stmt in _pg_parse(sql):
            walker.statement(stmt)
    elif engine in ("mysql", "mssql"):
        walker = _SgWalker(columns, engine)
        for stmt in _sg_parse(sql, engine):
            walker.statement(stmt)
    else:
        raise ValueError(f"unknown engine {engine!r}")
    uses = list(walker.uses.values())
    if default_schema:
        merged: dict[tuple, TableUse] = {}
        for use in uses:
            if use.schema is None:
                use.schema = default_schema
            if use.key in merged:  # orders and erp.orders in one statement: the same table
                other = merged[use.key]
                for kind in ("equality", "range", "join", "order_by"):
                    for col in getattr(use, kind):
                        other.add(kind, col)
                other.aliases |= use.aliases
            else:
                merged[use.key] = use
        uses = list(merged.values())
    return uses


def placeholder_count(sql: str) -> int:
    """Highest ``$n`` of a PostgreSQL statement (0 when it has none)."""
    import pglast.ast as a

    highest = 0

    def walk(n):
        nonlocal highest
        if isinstance(n, a.ParamRef):
            highest = max(highest, n.number)
        elif isinstance(n, list | tuple):
            for x in n:
                walk(x)
        elif isinstance(n, a.Node):
            for name in type(n).__slots__:
                walk(getattr(n, name, None))

    for stmt in _pg_parse(sql):
        walk(stmt)
    return highest


def statement_kind(sql: str, engine: str) -> str | None:
    """'select', 'update', 'delete', 'insert' for one plannable statement; None for anything
    else (utility statements, several statements): only those are ever EXPLAINed."""
    if engine == "postgresql":
        import pglast.ast as a

        stmts = _pg_parse(sql)
        if len(stmts) != 1:
            return None
        kinds = {a.SelectStmt: "select", a.UpdateStmt: "update", a.DeleteStmt: "delete", a.InsertStmt: "insert"}
        stmt = stmts[0]
        if isinstance(stmt, a.SelectStmt) and stmt.intoClause is not None:
            return None  # SELECT INTO creates a table
        return kinds.get(type(stmt))
    from sqlglot import exp

    stmts = _sg_parse(sql, engine)
    if len(stmts) != 1:
        return None
    stmt = stmts[0]
    if isinstance(stmt, exp.Select | exp.Union | exp.Intersect | exp.Except):
        return None if stmt.args.get("into") else "select"
    return {exp.Update: "update", exp.Delete: "delete", exp.Insert: "insert"}.get(type(stmt))
