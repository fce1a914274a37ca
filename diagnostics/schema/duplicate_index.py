"""schema.duplicate_index: two indexes on the same table with the same key columns.

Why it matters: every insert, update and delete maintains both; the optimizer uses one.

Logic: whole-table indexes (no partial or expression indexes) of one access method family with
equal key columns in equal order and direction. The one kept is the primary key, else a
constraint, else a unique index, else the clustered one, else the widest INCLUDE list; an index
is reported only if the kept one also carries its INCLUDE columns, and a unique index is never
reported as the duplicate of a non-unique one (it enforces something).
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import CheckContext, Finding
from l4agent.diagnostics.schema.catalog import Catalog, Index, SchemaCheck, drop_index_sql


def method_family(index: Index) -> str:
    """SQL Server's clustered and nonclustered rowstore indexes are both B-trees."""
    return "rowstore" if index.method in ("CLUSTERED", "NONCLUSTERED") else index.method


def keep_order(index: Index) -> tuple:
    """Sorts the index to keep first: primary key, constraint, unique, clustered, most INCLUDE
    columns, then the shortest name (ix_a before its copy ix_a_2), then alphabetical."""
    return (not index.primary, not index.constraint, not index.unique, index.method != "CLUSTERED",
            -len(index.included), len(index.name), index.name)


class DuplicateIndex(SchemaCheck):
    id = "schema.duplicate_index"
    title = "Indexes with the same key columns as another index on the table"

    def findings(self, ctx: CheckContext, catalog: Catalog) -> Iterator[Finding]:
        for table in catalog.tables:
            groups: dict[tuple, list[Index]] = {}
            for index in table.indexes:
                if index.plain:
                    groups.setdefault((method_family(index), index.keys), []).append(index)
            for members in groups.values():
                if len(members) < 2:
                    continue
                members.sort(key=keep_order)
                kept = members[0]
                carried = set(kept.key_columns) | kept.included
                for index in members[1:]:
                    if index.unique and not kept.unique:
                        continue
                    if not index.included <= carried:
                        continue
                    yield self.finding(
                        ctx, "warning", f"{table.qualified}.{index.name}",
                        f"index duplicates {kept.name} (same key columns)",
                        f"drop it, {kept.name} serves the same searches: "
                        f"{drop_index_sql(catalog, table, index)}{catalog.run_in(table)}",
                        index=index.describe(), duplicate_of=kept.describe(), rows=table.rows)
