"""security.sysadmin_members (SQL Server): members of the sysadmin server role beyond the
configured allowed list.

Every sysadmin can read and change everything and run operating-system commands. Members not
in ``allowed_sysadmins`` (shell-style patterns, case-insensitive): warning, info when the login
is disabled. The built-in sa login (sid 0x01) is left to security.sa_enabled.

Seeing every member needs VIEW ANY DEFINITION (metadata visibility); without it the catalog
shows only the monitoring login's own memberships.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.engines import quote_mssql
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.security.securitykit import matches_any, truthy

SYSADMIN_MEMBERS = """
SELECT m.name, m.sid, m.type_desc, m.is_disabled
FROM sys.server_role_members AS srm
JOIN sys.server_principals AS r ON r.principal_id = srm.role_principal_id
JOIN sys.server_principals AS m ON m.principal_id = srm.member_principal_id
WHERE r.name = N'sysadmin'
ORDER BY m.name
"""

BUILTIN_SA_SID = b"\x01"


class SysadminMembers(Check):
    id = "security.sysadmin_members"
    engines = frozenset({"mssql"})
    title = "sysadmin role members beyond the allowed list"
    queries = {"mssql": {"sysadmin_members": SYSADMIN_MEMBERS}}
    # The service SIDs and SYSTEM are sysadmin on every default install.
    defaults = {"allowed_sysadmins": ["sa", "NT SERVICE\\*", "NT AUTHORITY\\SYSTEM"]}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        allowed = ctx.options["allowed_sysadmins"]
        rows = ctx.query(self, "sysadmin_members")
        for row in rows:
            name = row["name"]
            if bytes(row["sid"] or b"") == BUILTIN_SA_SID or matches_any(name, allowed):
                continue
            disabled = truthy(row["is_disabled"])
            yield self.finding(
                ctx, "info" if disabled else "warning", name,
                f"{'disabled ' if disabled else ''}{row['type_desc'].lower().replace('_', ' ')} {name} "
                "is a member of sysadmin and not in the allowed list",
                f"remove it: `ALTER SERVER ROLE [sysadmin] DROP MEMBER {quote_mssql(name)};` and grant only "
                "what it needs; or, if it must stay, add it to allowed_sysadmins under [diagnostics.security]",
                type_desc=row["type_desc"], is_disabled=disabled, sysadmin_members=[r["name"] for r in rows],
                allowed_sysadmins=list(allowed))
