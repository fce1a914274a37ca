"""schema.no_primary_key: tables without a primary key.

Why it matters: rows cannot be addressed one by one (updates and deletes scan, duplicates creep
in, replication and ORMs stumble); on SQL Server a table without a clustered index is a heap,
which also fragments through forwarded records.

Logic: a table none of whose indexes is the primary key. Warning; info when a unique index on
NOT NULL columns already exists (a key in all but name). Tables with fewer than ``min_rows``
estimated rows are left out (unknown counts are kept). One finding per catalog ("N tables
without a primary key", object = the catalog), the tables and each one's statement in evidence
(grouping.py); the finding is a warning when any table has no candidate key.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import CheckContext, Finding
from l4agent.diagnostics.checkkit import plural
from l4agent.diagnostics.schema.catalog import Catalog, Index, SchemaCheck, Table
from l4agent.diagnostics.schema.grouping import Member, by_catalog


class NoPrimaryKey(SchemaCheck):
    id = "schema.no_primary_key"
    title = "Tables without a primary key (heaps)"
    defaults = {"min_rows": 0}

    def findings(self, ctx: CheckContext, catalog: Catalog) -> Iterator[Finding]:
        members = []
        for table in catalog.tables:
            if table.primary_key is not None:
                continue
            if table.rows is not None and table.rows < ctx.options["min_rows"]:
                continue
            key = natural_key(table)
            heap = catalog.engine == "mssql" and not any(i.method == "CLUSTERED" for i in table.indexes)
            evidence = {"rows": table.rows, "columns": len(table.columns),
                        "unique_indexes": [i.describe() for i in table.indexes if i.unique]}
            if catalog.engine == "mssql":
                evidence["heap"] = heap
            members.append(Member(table, "info" if key else "warning", table.qualified, table.name,
                                  recommendation(catalog, table, key, heap), evidence))
        # One finding per catalog: the tables share the cause and the advice (grouping.py).
        for group in by_catalog(members):
            heaps = sum(1 for m in group.members if m.evidence.get("heap"))
            keyed = sum(1 for m in group.members if m.severity == "info")
            summary = f"{plural(len(group.members), 'table')} without a primary key"
            if heaps:
                summary += f" ({plural(heaps, 'heap')}: no clustered index)"
            summary += f": {group.names()}"
            if len(group.members) == 1:
                advice = group.members[0].fix
            else:
                advice = ("give each table a primary key; evidence lists each table's statement (tables[].fix), "
                          "largest first")
                if keyed:
                    advice += (f"; {plural(keyed, 'table has', 'tables have')} a unique NOT NULL index "
                               f"that can be promoted as is")
                advice += f". First: {group.members[0].fix}"
            yield self.finding(ctx, group.severity, group.catalog, summary, advice,
                               **group.evidence(), with_unique_not_null_index=keyed, heaps=heaps)


def natural_key(table: Table) -> Index | None:
    """A unique, whole-table index on NOT NULL columns: it can become the primary key as is."""
    not_null = {c.name for c in table.columns if not c.nullable}
    for index in table.indexes:
        if index.unique and index.plain and set(index.key_columns) <= not_null:
            return index
    return None


def _id_column(table: Table) -> str | None:
    """A column named id, <table>_id or <table>id: probably meant to be the key."""
    wanted = {"id", f"{table.name}_id".lower(), f"{table.name}id".lower()}
    return next((c.name for c in table.columns if c.name.lower() in wanted), None)


def _add_primary_key(catalog: Catalog, table: Table, columns: tuple[str, ...], heap: bool) -> str:
    if catalog.engine == "mssql":
        kind = "CLUSTERED" if heap else "NONCLUSTERED"
        return (f"ALTER TABLE {catalog.sql_name(table)} ADD CONSTRAINT {catalog.quote('PK_' + table.name)} "
                f"PRIMARY KEY {kind} ({catalog.column_list(columns)});")
    return f"ALTER TABLE {catalog.sql_name(table)} ADD PRIMARY KEY ({catalog.column_list(columns)});"


def _add_surrogate_key(catalog: Catalog, table: Table) -> str:
    name = catalog.sql_name(table)
    if catalog.engine == "postgresql":
        return f"ALTER TABLE {name} ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;"
    if catalog.engine == "mssql":
        return (f"ALTER TABLE {name} ADD {catalog.quote('ID')} bigint IDENTITY(1,1) NOT NULL "
                f"CONSTRAINT {catalog.quote('PK_' + table.name)} PRIMARY KEY CLUSTERED;")
    return f"ALTER TABLE {name} ADD COLUMN id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST;"


def recommendation(catalog: Catalog, table: Table, key: Index | None, heap: bool) -> str:
    where = catalog.run_in(table)
    if key is not None:
        return (f"promote unique index {key.name} to the primary key: "
                f"{_add_primary_key(catalog, table, tuple(key.key_columns), heap)}{where}")
    column = _id_column(table)
    if column is not None:
        return (f"if {column} is unique and NOT NULL, make it the primary key: "
                f"{_add_primary_key(catalog, table, (column,), heap)}{where}")
    return (f"add a primary key on the columns that identify a row, or a surrogate key: "
            f"{_add_surrogate_key(catalog, table)}{where}")
