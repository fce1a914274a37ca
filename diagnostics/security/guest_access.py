"""security.guest_access (SQL Server): user databases where the guest user has CONNECT.

With guest enabled, every login of the server can enter the database and use whatever PUBLIC
may. master, tempdb and msdb need guest and are skipped. The databases walked are the target's
``databases`` list, else every online user database the monitoring login can enter, at most
``max_databases`` (one small query per database, in the catalog's own context).
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.connection import DatabaseError
from l4agent.dbaccess.engines import quote_mssql
from l4agent.diagnostics.base import Check, CheckContext, Finding

USER_DATABASES = """
SELECT d.name
FROM sys.databases AS d
WHERE d.database_id > 4 AND d.state = 0 AND HAS_DBACCESS(d.name) = 1
ORDER BY d.name
"""

GUEST_CONNECT = """
SELECT dp.permission_name, dp.state_desc
FROM sys.database_permissions AS dp
JOIN sys.database_principals AS pr ON pr.principal_id = dp.grantee_principal_id
WHERE pr.name = N'guest' AND dp.class = 0 AND dp.permission_name = N'CONNECT' AND dp.state IN ('G', 'W')
"""

SYSTEM_DATABASES = frozenset({"master", "tempdb", "msdb"})


class GuestAccess(Check):
    id = "security.guest_access"
    engines = frozenset({"mssql"})
    title = "guest has CONNECT in user databases"
    catalog_statements = frozenset({"guest_connect"})
    queries = {"mssql": {"user_databases": USER_DATABASES, "guest_connect": GUEST_CONNECT}}
    defaults = {"max_databases": 50}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        limit = int(ctx.options["max_databases"])
        if ctx.target.databases:
            catalogs = [name for name in ctx.target.databases if name.lower() not in SYSTEM_DATABASES]
        else:
            catalogs = [row["name"] for row in ctx.query(self, "user_databases", max_rows=limit + 1)]
        truncated = len(catalogs) > limit
        unreadable: dict[str, str] = {}
        for catalog in catalogs[:limit]:
            try:
                grants = ctx.query(self, "guest_connect", catalog=catalog)
            except DatabaseError as exc:
                if exc.kind in ("unreachable", "closed"):
                    raise
                unreadable[catalog] = str(exc)
                continue
            if grants:
                yield self.finding(
                    ctx, "warning", f"{catalog}.guest",
                    f"guest has CONNECT in {catalog}: every login of the server can enter it",
                    f"`USE {quote_mssql(catalog)}; REVOKE CONNECT FROM guest;`",
                    state_desc=grants[0]["state_desc"])
        if unreadable or truncated:
            more = f" and in the databases after the first {limit}" if truncated else ""
            yield self.finding(
                ctx, "info", "sys.database_permissions",
                f"guest access not checked in {len(unreadable)} unreadable database(s){more}",
                "grant the monitoring login access to these databases, or list them in the target's "
                "`databases`, or raise max_databases under [diagnostics.security]",
                unreadable=unreadable, max_databases=limit)
