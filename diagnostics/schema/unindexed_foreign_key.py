"""schema.unindexed_foreign_key: foreign keys with no index whose leading columns cover them.

Why it matters: deleting or updating a parent row searches the child table by the key; without
an index that is a scan of the child under lock, and joins from parent to child scan too.

Logic: a foreign key on columns F (any count) is covered by a whole-table B-tree (or, for a
single column, hash) index whose first len(F) key columns are F in any order. Otherwise it is
reported with the CREATE INDEX that covers it. Child tables with fewer than ``min_rows``
estimated rows are left out (unknown counts are kept). MariaDB creates such an index itself,
but it can be dropped with foreign_key_checks=0, so the check runs there too.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import CheckContext, Finding
from l4agent.diagnostics.schema.catalog import Catalog, ForeignKey, Index, SchemaCheck, create_index_sql


def covers(index: Index, key: ForeignKey) -> bool:
    width = len(key.columns)
    if index.partial or len(index.key_columns) < width:
        return False
    if not (index.btree or (width == 1 and index.method.lower() == "hash")):
        return False
    return set(index.key_columns[:width]) == set(key.columns)


class UnindexedForeignKey(SchemaCheck):
    id = "schema.unindexed_foreign_key"
    title = "Foreign keys without an index on their columns"
    defaults = {"min_rows": 0}

    def findings(self, ctx: CheckContext, catalog: Catalog) -> Iterator[Finding]:
        for table in catalog.tables:
            if table.rows is not None and table.rows < ctx.options["min_rows"]:
                continue
            for key in table.foreign_keys:
                if any(covers(index, key) for index in table.indexes):
                    continue
                referenced = ".".join(p for p in (key.referenced_schema, key.referenced_table) if p)
                yield self.finding(
                    ctx, "warning", f"{table.qualified}.{key.name}",
                    f"foreign key ({', '.join(key.columns)}) -> {referenced} has no index on its columns",
                    f"index the key columns: {create_index_sql(catalog, table, key.columns)}{catalog.run_in(table)}",
                    columns=list(key.columns), references=referenced, rows=table.rows,
                    indexes=[i.describe() for i in table.indexes])
