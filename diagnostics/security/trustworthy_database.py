"""security.trustworthy_database (SQL Server): user databases with TRUSTWORTHY on.

With TRUSTWORTHY on, code in the database that impersonates its owner acts at server level:
a db_owner of a database owned by a sysadmin becomes sysadmin. Owner is sysadmin: critical;
otherwise warning. msdb ships with TRUSTWORTHY on and is skipped; ``allowed_trustworthy`` lists
databases where it is deliberate.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.engines import quote_mssql
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.security.securitykit import truthy

TRUSTWORTHY_DATABASES = """
SELECT d.name, d.is_trustworthy_on, SUSER_SNAME(d.owner_sid) AS owner_name,
       CAST(IS_SRVROLEMEMBER(N'sysadmin', SUSER_SNAME(d.owner_sid)) AS int) AS owner_is_sysadmin
FROM sys.databases AS d
WHERE d.is_trustworthy_on = 1 AND d.name <> N'msdb'
ORDER BY d.name
"""


class TrustworthyDatabase(Check):
    id = "security.trustworthy_database"
    engines = frozenset({"mssql"})
    title = "databases with TRUSTWORTHY on (msdb excepted)"
    queries = {"mssql": {"trustworthy_databases": TRUSTWORTHY_DATABASES}}
    defaults = {"allowed_trustworthy": []}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        allowed = {name.lower() for name in ctx.options["allowed_trustworthy"]}
        for row in ctx.query(self, "trustworthy_databases"):
            name = row["name"]
            if name.lower() in allowed:
                continue
            owner_is_sysadmin = row["owner_is_sysadmin"] is not None and truthy(row["owner_is_sysadmin"])
            owner = row["owner_name"] or "(unknown owner)"
            summary = "TRUSTWORTHY is on"
            if owner_is_sysadmin:
                summary += f" and the owner {owner} is sysadmin: any db_owner can become sysadmin"
            yield self.finding(
                ctx, "critical" if owner_is_sysadmin else "warning", name, summary,
                f"`ALTER DATABASE {quote_mssql(name)} SET TRUSTWORTHY OFF;` (sign the modules that need "
                "server-level access with a certificate instead)",
                owner=owner, owner_is_sysadmin=row["owner_is_sysadmin"])
