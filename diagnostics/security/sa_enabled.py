"""security.sa_enabled (SQL Server): the built-in ``sa`` login (sid 0x01) is enabled or still
carries its well-known name.

``sa`` is the first login every password-guessing tool tries. Enabled under its own name:
critical (warning when the server accepts Windows logins only, where SQL logins cannot log in
until someone switches the mode). Enabled under another name: warning (sid 0x01 is still
sysadmin). Disabled but not renamed: info.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.engines import quote_mssql
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.security.securitykit import truthy

SA_LOGIN = """
SELECT sp.name, sp.sid, sp.is_disabled,
       CAST(SERVERPROPERTY('IsIntegratedSecurityOnly') AS int) AS integrated_security_only
FROM sys.server_principals AS sp
WHERE sp.sid = 0x01
"""


class SaEnabled(Check):
    id = "security.sa_enabled"
    engines = frozenset({"mssql"})
    title = "the built-in sa login (sid 0x01) is enabled or not renamed"
    queries = {"mssql": {"sa_login": SA_LOGIN}}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        for row in ctx.query(self, "sa_login"):
            name = row["name"]
            login = quote_mssql(name)
            renamed = name.lower() != "sa"
            windows_only = truthy(row.get("integrated_security_only"))
            evidence = {"sid": "0x01", "is_disabled": truthy(row["is_disabled"]),
                        "integrated_security_only": windows_only}
            if not truthy(row["is_disabled"]):
                if renamed:
                    severity = "warning"
                    summary = f"the built-in sa login (sid 0x01, renamed to {name}) is enabled"
                else:
                    severity = "warning" if windows_only else "critical"
                    summary = "the sa login is enabled"
                    if windows_only:
                        summary += " (the server accepts Windows logins only, for now)"
                yield self.finding(
                    ctx, severity, name, summary,
                    f"disable it: `ALTER LOGIN {login} DISABLE;` (administer through named logins "
                    "that belong to sysadmin instead)", **evidence)
            elif not renamed:
                yield self.finding(
                    ctx, "info", name, "the sa login is disabled but keeps its well-known name",
                    f"rename it: `ALTER LOGIN {login} WITH NAME = {quote_mssql('sa_disabled')};`", **evidence)
