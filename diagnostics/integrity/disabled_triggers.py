"""integrity.disabled_triggers: triggers (and foreign keys) switched off and left so.

PostgreSQL: a disabled user trigger (business rules, audit) and ``DISABLE TRIGGER ALL``, which
also switches off the internal triggers that enforce foreign keys: orphan rows then go in
unchecked. SQL Server: disabled DML triggers, and foreign keys that are disabled or not trusted
(WITH NOCHECK). One finding per table. MariaDB has no disabled-trigger state, so it is not run
there.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import MSSQL_CATALOG_STATE, each_catalog, qualified, truthy

POSTGRESQL_TRIGGERS = """
SELECT n.nspname AS schema_name, c.relname AS table_name, t.tgname AS trigger_name, t.tgisinternal AS internal,
       t.tgconstraint <> 0 AS enforces_constraint
FROM pg_trigger AS t
JOIN pg_class AS c ON c.oid = t.tgrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE t.tgenabled = 'D'
ORDER BY 1, 2, 3
"""

POSTGRESQL_COUNT = "SELECT count(*) AS triggers FROM pg_trigger"

MSSQL_TRIGGERS = """
SELECT OBJECT_SCHEMA_NAME(tr.parent_id) AS schema_name, OBJECT_NAME(tr.parent_id) AS table_name,
       tr.name AS trigger_name, 0 AS internal, 0 AS enforces_constraint
FROM sys.triggers AS tr
WHERE tr.is_disabled = 1 AND tr.parent_class = 1 AND tr.is_ms_shipped = 0
UNION ALL
SELECT OBJECT_SCHEMA_NAME(fk.parent_object_id) AS schema_name, OBJECT_NAME(fk.parent_object_id) AS table_name,
       fk.name AS trigger_name, 1 AS internal, 1 AS enforces_constraint
FROM sys.foreign_keys AS fk
WHERE (fk.is_disabled = 1 OR fk.is_not_trusted = 1) AND fk.is_ms_shipped = 0
"""

MSSQL_COUNT = """
SELECT (SELECT COUNT(*) FROM sys.triggers WHERE parent_class = 1)
     + (SELECT COUNT(*) FROM sys.foreign_keys) AS triggers
"""


class DisabledTriggers(Check):
    id = "integrity.disabled_triggers"
    engines = frozenset({"postgresql", "mssql"})
    title = "Triggers or foreign-key enforcement disabled"
    queries = {"postgresql": {"disabled": POSTGRESQL_TRIGGERS, "count": POSTGRESQL_COUNT},
               "mssql": {"catalog_state": MSSQL_CATALOG_STATE, "disabled": MSSQL_TRIGGERS, "count": MSSQL_COUNT}}
    catalog_statements = frozenset({"disabled", "count"})
    defaults = {}
    max_rows = 5000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        yield from each_catalog(self, ctx, lambda catalog: self._catalog(ctx, catalog))

    def _catalog(self, ctx: CheckContext, catalog: str | None) -> Iterator[Finding]:
        counted = ctx.query(self, "count", catalog=catalog)
        ctx.examined("triggers", int(number(counted[0]["triggers"])) if counted else 0, catalog=catalog)
        tables: dict[tuple[str, str], dict[str, list[str]]] = {}
        for row in ctx.query(self, "disabled", catalog=catalog):
            kind = "constraints" if truthy(row["enforces_constraint"]) else "triggers"
            tables.setdefault((row["schema_name"], row["table_name"]), {"triggers": [], "constraints": []})[
                kind].append(str(row["trigger_name"]))
        for (schema, table), off in tables.items():
            parts = []
            if off["triggers"]:
                parts.append(f"trigger(s) {', '.join(off['triggers'])} disabled")
            if off["constraints"]:
                parts.append("foreign-key enforcement off" + (
                    f" ({', '.join(off['constraints'])})" if ctx.engine == "mssql" else
                    f" ({len(off['constraints'])} internal trigger(s): DISABLE TRIGGER ALL)"))
            fix = (f"ALTER TABLE {schema}.{table} ENABLE TRIGGER ALL (after checking the rows written meanwhile "
                   "against the foreign keys)" if ctx.engine == "postgresql" else
                   f"ALTER TABLE [{schema}].[{table}] ENABLE TRIGGER ALL; ALTER TABLE [{schema}].[{table}] WITH "
                   "CHECK CHECK CONSTRAINT ALL")
            yield self.finding(
                ctx, "critical" if off["constraints"] else "warning", qualified(catalog, schema, table),
                "; ".join(parts), fix, triggers=off["triggers"], constraints=off["constraints"],
            )
