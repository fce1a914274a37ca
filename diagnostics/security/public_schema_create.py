"""security.public_schema_create (PostgreSQL): schemas where PUBLIC (every role) may CREATE.

Any login can then plant functions or tables that other roles' unqualified names resolve to
(CVE-2018-1058); PostgreSQL 15 stopped granting it on ``public`` by default. Warning per
database and schema. The databases walked are the target's ``databases`` list, else every
database that allows connections (templates excepted), at most ``max_databases``.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.connection import DatabaseError
from l4agent.dbaccess.engines import quote_postgresql
from l4agent.diagnostics.base import Check, CheckContext, Finding

DATABASES = """
SELECT d.datname
FROM pg_catalog.pg_database AS d
WHERE d.datallowconn AND NOT d.datistemplate AND has_database_privilege(d.datname, 'CONNECT')
ORDER BY d.datname
"""

# 'public' as the role name means the PUBLIC pseudo-role in has_schema_privilege().
PUBLIC_CREATE_SCHEMAS = """
SELECT n.nspname, pg_catalog.pg_get_userbyid(n.nspowner) AS owner
FROM pg_catalog.pg_namespace AS n
WHERE left(n.nspname, 3) <> 'pg_' AND n.nspname <> 'information_schema'
  AND has_schema_privilege('public', n.oid, 'CREATE')
ORDER BY n.nspname
"""


class PublicSchemaCreate(Check):
    id = "security.public_schema_create"
    engines = frozenset({"postgresql"})
    title = "schemas (public) where every role may CREATE"
    queries = {"postgresql": {"databases": DATABASES, "public_create_schemas": PUBLIC_CREATE_SCHEMAS}}
    defaults = {"max_databases": 50}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        limit = int(ctx.options["max_databases"])
        catalogs = list(ctx.target.databases) or [r["datname"] for r in ctx.query(self, "databases", max_rows=limit + 1)]
        unreadable: dict[str, str] = {}
        for catalog in catalogs[:limit]:
            try:
                rows = ctx.query(self, "public_create_schemas", catalog=catalog)
            except DatabaseError as exc:
                if exc.kind == "closed":
                    raise
                unreadable[catalog] = str(exc)
                continue
            for row in rows:
                schema = row["nspname"]
                yield self.finding(
                    ctx, "warning", f"{catalog}.{schema}",
                    f"every role may create objects in schema {schema} of {catalog}",
                    f"connected to {catalog}: `REVOKE CREATE ON SCHEMA {quote_postgresql(schema)} FROM PUBLIC;`",
                    owner=row["owner"])
        if unreadable or len(catalogs) > limit:
            more = f" and in the databases after the first {limit}" if len(catalogs) > limit else ""
            yield self.finding(
                ctx, "info", "pg_namespace",
                f"schema privileges not checked in {len(unreadable)} unreadable database(s){more}",
                "grant the monitoring role CONNECT on these databases, or list them in the target's "
                "`databases`, or raise max_databases under [diagnostics.security]",
                unreadable=unreadable, max_databases=limit)
