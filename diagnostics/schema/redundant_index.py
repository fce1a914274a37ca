"""schema.redundant_index: an index whose key columns are the leading columns of another.

Why it matters: a B-tree on (a, b) answers every search an index on (a) answers; the narrower
index only costs writes, memory and maintenance.

Logic: B-tree indexes of the same access method family, neither partial nor on expressions; the
redundant one's keys (with direction) are a strict left prefix of the other's, its INCLUDE
columns are carried by the other, and it is not unique (a unique index enforces a rule the wider
one does not), not the primary key and not SQL Server's clustered index (the table itself).
Identical key lists are schema.duplicate_index's business: an index it reports (as a copy, or
as the kept index its copy's finding drops too) is not reported again here.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import CheckContext, Finding
from l4agent.diagnostics.schema.catalog import Catalog, IndexCheck, Table, drop_index_sql
from l4agent.diagnostics.schema.duplicate_index import covering_index, duplicates, prefix_droppable


class RedundantIndex(IndexCheck):
    id = "schema.redundant_index"
    title = "Indexes whose key columns lead another index (left prefix)"

    def suspect(self, ctx: CheckContext, catalog: Catalog, table: Table) -> bool:
        # a coarse duplicate hides its indexes from this check; the exact ones may not be duplicates
        return bool(duplicates(table)) or super().suspect(ctx, catalog, table)

    def table_findings(self, ctx: CheckContext, catalog: Catalog, table: Table) -> Iterator[Finding]:
        # An index is reported once: a duplicate (and a kept index whose duplicate's finding
        # already drops it) is schema.duplicate_index's.
        taken = set()
        for dup in duplicates(table):
            taken.add(id(dup.index))
            if dup.wider is not None:
                taken.add(id(dup.kept))
        for index in table.indexes:
            if not prefix_droppable(index) or id(index) in taken:
                continue
            wider = covering_index(index, table.indexes)
            if wider is None:
                continue
            yield self.finding(
                ctx, "info", f"{table.qualified}.{index.name}",
                f"index is a left prefix of {wider.name}",
                f"drop it, {wider.name} serves the same searches: "
                f"{drop_index_sql(catalog, table, index)}{catalog.run_in(table)}",
                index=index.describe(), covered_by=wider.describe(), rows=table.rows)
