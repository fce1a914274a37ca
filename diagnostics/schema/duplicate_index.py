"""schema.duplicate_index: two indexes on the same table with the same key columns.

Why it matters: every insert, update and delete maintains both; the optimizer uses one.

Logic: whole-table indexes (no partial or expression indexes) of one access method family with
equal key columns in equal order and direction. The one kept is the primary key, else a
constraint, else a unique index, else the clustered one, else the widest INCLUDE list; an index
is reported only if the kept one also carries its INCLUDE columns, and a unique index is never
reported as the duplicate of a non-unique one (it enforces something). When the kept index is
itself a left prefix of a wider one, the first duplicate's finding says so and drops both:
two indexes, one finding (schema.redundant_index stays silent on both).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from l4agent.diagnostics.base import CheckContext, Finding
from l4agent.diagnostics.schema.catalog import Catalog, Index, IndexCheck, Table, drop_index_sql


def method_family(index: Index) -> str:
    """SQL Server's clustered and nonclustered rowstore indexes are both B-trees."""
    return "rowstore" if index.method in ("CLUSTERED", "NONCLUSTERED") else index.method


def keep_order(index: Index) -> tuple:
    """Sorts the index to keep first: primary key, constraint, unique, clustered, most INCLUDE
    columns, then the shortest name (ix_a before its copy ix_a_2), then alphabetical."""
    return (not index.primary, not index.constraint, not index.unique, index.method != "CLUSTERED",
            -len(index.included), len(index.name), index.name)


def covering_index(index: Index, others: list[Index]) -> Index | None:
    """The narrowest other index whose leading keys are ``index``'s keys, or None."""
    width = len(index.keys)
    candidates = [
        other for other in others
        if other is not index and other.plain and other.btree
        and method_family(other) == method_family(index)
        and len(other.keys) > width and other.keys[:width] == index.keys
        and index.included <= set(other.key_columns) | other.included
    ]
    return min(candidates, key=lambda o: (len(o.keys), o.name), default=None)


def prefix_droppable(index: Index) -> bool:
    """An index schema.redundant_index may report as a left prefix: a plain, non-unique B-tree
    that is neither the primary key nor SQL Server's clustered index (the table itself)."""
    return (index.plain and index.btree and not index.unique and not index.primary
            and index.method != "CLUSTERED")


@dataclass(frozen=True)
class Duplicate:
    index: Index  # the one to drop
    kept: Index
    #: set on the first duplicate of a group whose kept index is itself a left prefix of this
    #: wider index: that finding drops both, and schema.redundant_index stays silent on either
    wider: Index | None = None


def duplicates(table: Table) -> list[Duplicate]:
    """The duplicate indexes of ``table`` (see the module doc), in index order per group."""
    groups: dict[tuple, list[Index]] = {}
    for index in table.indexes:
        if index.plain:
            groups.setdefault((method_family(index), index.keys), []).append(index)
    found = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=keep_order)
        kept = members[0]
        carried = set(kept.key_columns) | kept.included
        dropped = [i for i in members[1:] if not (i.unique and not kept.unique) and i.included <= carried]
        wider = covering_index(kept, table.indexes) if prefix_droppable(kept) else None
        for position, index in enumerate(dropped):
            found.append(Duplicate(index, kept, wider if position == 0 else None))
    return found


class DuplicateIndex(IndexCheck):
    id = "schema.duplicate_index"
    title = "Indexes with the same key columns as another index on the table"

    def table_findings(self, ctx: CheckContext, catalog: Catalog, table: Table) -> Iterator[Finding]:
        for dup in duplicates(table):
            index, kept, wider = dup.index, dup.kept, dup.wider
            drop = f"{drop_index_sql(catalog, table, index)}{catalog.run_in(table)}"
            evidence = {"index": index.describe(), "duplicate_of": kept.describe(), "rows": table.rows}
            if wider is None:
                yield self.finding(
                    ctx, "warning", f"{table.qualified}.{index.name}",
                    f"index duplicates {kept.name} (same key columns)",
                    f"drop it, {kept.name} serves the same searches: {drop}", **evidence)
                continue
            # One finding for both: the copy and the index it copies lead a wider index.
            yield self.finding(
                ctx, "warning", f"{table.qualified}.{index.name}",
                f"index duplicates {kept.name} (same key columns), and both are a left prefix of {wider.name}",
                f"drop both, {wider.name} serves the same searches: {drop} "
                f"{drop_index_sql(catalog, table, kept)}{catalog.run_in(table)}",
                **evidence, covered_by=wider.describe())
