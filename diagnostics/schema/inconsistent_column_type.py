"""schema.inconsistent_column_type: the same column name with different types across tables
(COMPANY_ID int in one table, nvarchar(20) in another).

Why it matters: joins and comparisons on such columns convert implicitly, which can turn an
index seek into a scan (SQL Server converts the varchar side to nvarchar, MariaDB compares
numbers to strings as doubles), and values fit in one table but not in the other.

Logic: over every table of the target's catalogs, group columns by name (case-insensitive,
minus the generic names in ``ignore_names``) and compare their types, without length/precision
when ``ignore_length`` (the default). A name with two or more types is reported once, with each
type, how many tables use it and examples. Warning when the types are of different kinds
(number vs text, date vs text ...), else info.

Advice: converge on the primary key's type when one table has the name as its primary key,
else on the majority type; a tie is said as such with no statement to run. Key columns
(primary key, unique or foreign key) are never re-typed by the advice.

MariaDB's dictionary read leaves some types as placeholders (``decimal(?5b)``, see the catalog
module). Names whose comparison a placeholder could change, and every name reported, get their
tables' exact types first (``resolve_types``: those tables' .frm only), so a placeholder never
decides a finding and never reaches the evidence or an ALTER ... MODIFY.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from l4agent.diagnostics.base import CheckContext, Finding
from l4agent.diagnostics.schema.catalog import Catalog, Column, SchemaCheck, Table, base_type, resolve_types

#: names so generic that different types across tables are expected
GENERIC_NAMES = [
    "id", "name", "title", "description", "code", "type", "kind", "status", "state", "value", "note", "notes",
    "comment", "comments", "detail", "details", "key", "label", "data", "text", "version", "date",
    "created", "updated", "created_at", "updated_at", "modified", "deleted", "active", "sort", "position",
]

_KINDS = {
    "integer": ("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "int2", "int4", "int8", "serial",
                "bigserial", "smallserial", "year"),
    "decimal": ("decimal", "numeric", "money", "smallmoney", "number"),
    "float": ("real", "float", "double", "double precision", "float4", "float8"),
    "text": ("char", "varchar", "nchar", "nvarchar", "text", "ntext", "tinytext", "mediumtext", "longtext",
             "character", "character varying", "bpchar", "citext", "enum", "set", "sysname", "xml", "json",
             "jsonb"),
    "datetime": ("date", "datetime", "datetime2", "smalldatetime", "datetimeoffset", "time", "timestamp",
                 "timestamp without time zone", "timestamp with time zone", "time without time zone",
                 "time with time zone", "timestamptz", "interval"),
    "boolean": ("bit", "boolean", "bool"),
    "binary": ("binary", "varbinary", "image", "bytea", "blob", "tinyblob", "mediumblob", "longblob"),
    "uuid": ("uuid", "uniqueidentifier"),
}
_KIND_OF = {name: kind for kind, names in _KINDS.items() for name in names}


def type_kind(data_type: str) -> str:
    """integer, decimal, float, text, datetime, boolean, binary, uuid, or the base type itself."""
    base = base_type(data_type)
    for word in (base, base.replace(" unsigned", "").replace(" zerofill", "")):
        if word in _KIND_OF:
            return _KIND_OF[word]
    return base


class InconsistentColumnType(SchemaCheck):
    id = "schema.inconsistent_column_type"
    title = "The same column name with different types across tables"
    defaults = {"ignore_names": GENERIC_NAMES, "ignore_length": True}

    def findings(self, ctx: CheckContext, catalog: Catalog) -> Iterator[Finding]:
        ignored = {name.lower() for name in ctx.options["ignore_names"]}
        type_of = base_type if ctx.options["ignore_length"] else (lambda t: t.lower())
        exact_lengths = not ctx.options["ignore_length"]
        by_name: dict[str, list[tuple[Table, Column]]] = {}
        for table in catalog.tables:
            for column in table.columns:
                if column.name.lower() not in ignored:
                    by_name.setdefault(column.name.lower(), []).append((table, column))
        unsure = [name for name, uses in by_name.items() if _unsure(uses, type_of, exact_lengths)]
        if unsure:
            resolve_types(ctx.db, {id(t): t for name in unsure for t, _ in by_name[name]}.values())
            for name in unsure:  # the same tables, now with their exact columns
                by_name[name] = [(t, c) for t, _ in by_name[name] for c in t.columns if c.name.lower() == name]
        for uses in by_name.values():
            variants = Counter(type_of(column.data_type) for _, column in uses)
            if len(variants) < 2:
                continue
            yield self._finding(ctx, catalog, uses, variants, type_of)

    def _finding(self, ctx, catalog: Catalog, uses, variants: Counter, type_of) -> Finding:
        name = uses[0][1].name
        kinds = {type_kind(c.data_type) for _, c in uses}
        catalogs = {t.catalog for t, _ in uses}
        scope = next(iter(catalogs)) if len(catalogs) == 1 else "*"
        obj = ".".join([scope, *(["*"] if catalog.engine != "mysql" else []), "*", name])
        examples = {variant: [f"{t.qualified} ({c.data_type})" for t, c in uses if type_of(c.data_type) == variant][:5]
                    for variant in variants}
        summary = (f"column {name} has {len(variants)} types across {len(uses)} tables: "
                   + ", ".join(f"{v} ({n})" for v, n in variants.most_common()))
        evidence = {"variants": dict(variants.most_common()), "kinds": sorted(kinds), "tables": len(uses),
                    "examples": examples}
        severity = "warning" if len(kinds) > 1 else "info"
        chosen, why = converge_on(uses, variants, type_of)
        if chosen is None:
            return self.finding(
                ctx, severity, obj, summary,
                f"use one type for {name} everywhere; {why}: decide which type {name} should have "
                f"(the type of the key it refers to) and change the other tables by hand", **evidence)
        # the exact type to converge on: the most common full spelling within the chosen variant
        target = Counter(c.data_type for _, c in uses if type_of(c.data_type) == chosen).most_common(1)[0][0]
        minority = [(t, c) for t, c in uses if type_of(c.data_type) != chosen]
        # Never re-type a key: a primary key, unique or foreign key column changes only together
        # with what references it (and a key is never narrowed to the others' type).
        keyed = [(t, c) for t, c in minority if is_key_column(t, c)]
        plain = [(t, c) for t, c in minority if not is_key_column(t, c)]
        if not all(c.exact for _, c in uses):  # resolve_types could not read them (dropped since)
            target = base_type(target)
        statements = [f"{alter_type_sql(catalog, t, c, target)}{catalog.run_in(t)}" for t, c in plain[:3]
                      if "?" not in target]
        more = f" (and {len(plain) - 3} more tables)" if len(plain) > 3 else ""
        advice = f"use one type for {name} everywhere ({target}, {why})"
        advice += (": " + " ".join(statements) + more) if statements else ""
        if keyed:
            advice += (f"; key columns left as they are: {', '.join(t.qualified for t, _ in keyed[:3])}"
                       f"{' …' if len(keyed) > 3 else ''} (change a key only together with the keys that "
                       f"reference it)")
            evidence["key_columns_not_altered"] = [f"{t.qualified} ({c.data_type})" for t, c in keyed]
        return self.finding(ctx, severity, obj, summary, advice, **evidence)


def is_key_column(table: Table, column: Column) -> bool:
    """``column`` is in ``table``'s primary key, a unique index, or a foreign key."""
    name = column.name.lower()
    if any(name in {k.lower() for k in key.columns} for key in table.foreign_keys):
        return True
    return any((i.primary or i.unique) and name in {(k or "").lower() for k in i.key_columns}
               for i in table.indexes)


def converge_on(uses, variants: Counter, type_of) -> tuple[str | None, str]:
    """The type variant every table should use, and why; (None, why) when there is no safe
    choice. The primary key's type wins (the other tables refer to it); else the majority; a
    tie is said as such, with no statement to run."""
    primary = {type_of(c.data_type) for t, c in uses
               if t.primary_key is not None and [k.lower() for k in t.primary_key.key_columns if k] == [c.name.lower()]}
    if len(primary) == 1:
        chosen = next(iter(primary))
        return chosen, "the type of the primary key " + next(
            f"{t.qualified}.{c.name}" for t, c in uses
            if type_of(c.data_type) == chosen and t.primary_key is not None
            and [k.lower() for k in t.primary_key.key_columns if k] == [c.name.lower()])
    ranked = variants.most_common()
    if len(primary) > 1 or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        tied = [v for v, n in ranked if n == ranked[0][1]]
        reason = ("primary keys of different types" if len(primary) > 1 else
                  "the tables split evenly between " + " and ".join(f"{v} ({variants[v]})" for v in tied))
        return None, reason
    return ranked[0][0], f"as in {ranked[0][1]} tables"


def _unsure(uses: list[tuple[Table, Column]], type_of, exact_lengths: bool) -> bool:
    """Could a placeholder type among ``uses`` hide or invent a difference, or be shown?"""
    estimated = [c for _, c in uses if not c.exact]
    if not estimated:
        return False
    if exact_lengths or any(not c.base_exact for c in estimated):
        return True
    return len({type_of(c.data_type) for _, c in uses}) > 1  # reported: show exact types


def alter_type_sql(catalog: Catalog, table: Table, column: Column, data_type: str) -> str:
    """The statement changing ``column`` of ``table`` to ``data_type``, keeping its nullability."""
    name, col = catalog.sql_name(table), catalog.quote(column.name)
    null = "NULL" if column.nullable else "NOT NULL"
    if catalog.engine == "postgresql":
        return f"ALTER TABLE {name} ALTER COLUMN {col} TYPE {data_type} USING {col}::{data_type};"
    if catalog.engine == "mssql":
        return f"ALTER TABLE {name} ALTER COLUMN {col} {data_type} {null};"
    # MODIFY restates the whole column: carry over its DEFAULT and COMMENT too
    return f"ALTER TABLE {name} MODIFY {col} {data_type} {null};"
