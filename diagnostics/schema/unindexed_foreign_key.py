"""schema.unindexed_foreign_key: foreign keys with no index whose leading columns cover them.

Why it matters: deleting or updating a parent row searches the child table by the key; without
an index that is a scan of the child under lock, and joins from parent to child scan too.

Logic: a foreign key on columns F (any count) is covered by a whole-table B-tree (or, for a
single column, hash) index whose first len(F) key columns are F in any order. Otherwise it is
reported with the CREATE INDEX that covers it. Child tables with fewer than ``min_rows``
estimated rows are left out (unknown counts are kept). MariaDB creates such an index itself,
but it can be dropped with foreign_key_checks=0, so the check runs there too. On PostgreSQL a
partial index whose predicate is ``col IS NOT NULL`` on key columns serves every lookup and
counts as covering. One finding per catalog (object = the catalog), each key and its CREATE
INDEX in evidence (grouping.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from l4agent.diagnostics.base import CheckContext, Finding
from l4agent.diagnostics.checkkit import plural
from l4agent.diagnostics.schema.catalog import Catalog, ForeignKey, Index, SchemaCheck, create_index_sql
from l4agent.diagnostics.schema.grouping import Member, by_catalog


def covers(index: Index, key: ForeignKey, engine: str = "postgresql") -> bool:
    width = len(key.columns)
    if len(index.key_columns) < width:
        return False
    if index.partial and not (engine == "postgresql" and serves_every_lookup(index.predicate, key)):
        return False
    if not (index.btree or (width == 1 and index.method.lower() == "hash")):
        return False
    return set(index.key_columns[:width]) == set(key.columns)


_NOT_NULL = re.compile(r'^\(*\s*("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s+IS\s+NOT\s+NULL\s*\)*$', re.IGNORECASE)


def serves_every_lookup(predicate: str | None, key: ForeignKey) -> bool:
    """A partial index whose predicate is ``col IS NOT NULL`` (or an AND of such, on key columns)
    holds every row a foreign-key lookup can find: the lookup is ``col = value``, which a NULL
    never matches. PostgreSQL's planner proves that implication and uses the index."""
    if not predicate:
        return False
    columns = {c.lower() for c in key.columns}
    parts = re.split(r"\s+AND\s+", predicate.strip(), flags=re.IGNORECASE)
    for part in parts:
        match = _NOT_NULL.match(part.strip())
        if not match:
            return False
        name = match[1]
        name = name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()
        if name.lower() not in columns:
            return False
    return True


class UnindexedForeignKey(SchemaCheck):
    id = "schema.unindexed_foreign_key"
    title = "Foreign keys without an index on their columns"
    defaults = {"min_rows": 0}

    def findings(self, ctx: CheckContext, catalog: Catalog) -> Iterator[Finding]:
        members = []
        for table in catalog.tables:
            if table.rows is not None and table.rows < ctx.options["min_rows"]:
                continue
            for key in table.foreign_keys:
                if any(covers(index, key, catalog.engine) for index in table.indexes):
                    continue
                referenced = ".".join(p for p in (key.referenced_schema, key.referenced_table) if p)
                members.append(Member(
                    table, "warning", f"{table.qualified}.{key.name}", f"{table.name}.{key.name}",
                    f"{create_index_sql(catalog, table, key.columns)}{catalog.run_in(table)}",
                    {"columns": list(key.columns), "references": referenced, "rows": table.rows,
                     "indexes": [i.describe() for i in table.indexes]}))
        # One finding per catalog (grouping.py): the cause and the advice are the same for every
        # key; each key's CREATE INDEX is in evidence, largest child tables first.
        for group in by_catalog(members):
            summary = (f"{plural(len(group.members), 'foreign key')} without an index on "
                       f"{'its' if len(group.members) == 1 else 'their'} columns: {group.names()}")
            first = group.members[0]
            advice = f"index the key columns: {first.fix}"
            if len(group.members) > 1:
                advice = (f"index the key columns of each foreign key in evidence (foreign_keys[].fix), "
                          f"largest tables first. First: {first.fix}")
            yield self.finding(ctx, group.severity, group.catalog, summary, advice,
                               **group.evidence("foreign_keys"))
