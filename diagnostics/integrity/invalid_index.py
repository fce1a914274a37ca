"""integrity.invalid_index (PostgreSQL): an index left invalid by a failed CONCURRENTLY build.

CREATE [UNIQUE] INDEX CONCURRENTLY or REINDEX CONCURRENTLY that fails (duplicate keys, a
deadlock, a cancel) leaves the index behind marked invalid: never used by queries, yet still
updated by every write (and, for UNIQUE, still enforcing). One finding per index.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import each_catalog, qualified, truthy

INVALID = """
SELECT n.nspname AS schema_name, ic.relname AS index_name, t.relname AS table_name,
       i.indisready, i.indislive, pg_relation_size(i.indexrelid) AS index_bytes,
       pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_class AS t ON t.oid = i.indrelid
JOIN pg_namespace AS n ON n.oid = ic.relnamespace
WHERE NOT i.indisvalid
ORDER BY 1, 2
"""

COUNT = "SELECT count(*) AS indexes FROM pg_index"


class InvalidIndex(Check):
    id = "integrity.invalid_index"
    engines = frozenset({"postgresql"})
    title = "Index left invalid by a failed CONCURRENTLY build"
    queries = {"postgresql": {"invalid": INVALID, "count": COUNT}}
    catalog_statements = frozenset({"invalid", "count"})
    defaults = {}
    max_rows = 1000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        yield from each_catalog(self, ctx, lambda catalog: self._catalog(ctx, catalog))

    def _catalog(self, ctx: CheckContext, catalog: str | None) -> Iterator[Finding]:
        counted = ctx.query(self, "count", catalog=catalog)
        ctx.examined("indexes", int(number(counted[0]["indexes"])) if counted else 0, catalog=catalog)
        for row in ctx.query(self, "invalid", catalog=catalog):
            index = f"{row['schema_name']}.{row['index_name']}"
            yield self.finding(
                ctx, "warning", qualified(catalog, row["schema_name"], row["table_name"], row["index_name"]),
                f"index {index} on {row['table_name']} is invalid (a failed CONCURRENTLY build): never used by "
                "queries, still maintained on every write",
                f"DROP INDEX CONCURRENTLY {index}; then fix the cause (e.g. duplicate keys for a UNIQUE index) "
                f"and build it again, or REINDEX INDEX CONCURRENTLY {index}",
                definition=row["definition"], ready=truthy(row["indisready"]), live=truthy(row["indislive"]),
                index_bytes=row["index_bytes"],
            )
