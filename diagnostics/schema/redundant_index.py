"""schema.redundant_index: an index whose key columns are the leading columns of another.

Why it matters: a B-tree on (a, b) answers every search an index on (a) answers; the narrower
index only costs writes, memory and maintenance.

Logic: B-tree indexes of the same access method family, neither partial nor on expressions; the
redundant one's keys (with direction) are a strict left prefix of the other's, its INCLUDE
columns are carried by the other, and it is not unique (a unique index enforces a rule the wider
one does not), not the primary key and not SQL Server's clustered index (the table itself).
Identical key lists are schema.duplicate_index's business.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import CheckContext, Finding
from l4agent.diagnostics.schema.catalog import Catalog, Index, SchemaCheck, drop_index_sql
from l4agent.diagnostics.schema.duplicate_index import method_family


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


class RedundantIndex(SchemaCheck):
    id = "schema.redundant_index"
    title = "Indexes whose key columns lead another index (left prefix)"

    def findings(self, ctx: CheckContext, catalog: Catalog) -> Iterator[Finding]:
        for table in catalog.tables:
            for index in table.indexes:
                if not index.plain or not index.btree or index.unique or index.primary or index.method == "CLUSTERED":
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
