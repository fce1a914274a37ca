"""security.superusers (PostgreSQL): roles with SUPERUSER beyond the configured allowed list.

A superuser bypasses every permission check and can run programs as the server's OS account
(COPY ... PROGRAM). A login role not in ``allowed_superusers``: warning. A NOLOGIN superuser
role: info (its members can still SET ROLE to it).
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.engines import quote_postgresql
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.security.securitykit import matches_any, truthy

SUPERUSERS = """
SELECT r.rolname, r.rolcanlogin, r.rolvaliduntil
FROM pg_catalog.pg_roles AS r
WHERE r.rolsuper
ORDER BY r.rolname
"""


class Superusers(Check):
    id = "security.superusers"
    engines = frozenset({"postgresql"})
    title = "superuser roles beyond the allowed list"
    queries = {"postgresql": {"superusers": SUPERUSERS}}
    defaults = {"allowed_superusers": ["postgres"]}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        allowed = ctx.options["allowed_superusers"]
        rows = ctx.query(self, "superusers")
        for row in rows:
            name = row["rolname"]
            if matches_any(name, allowed):
                continue
            can_login = truthy(row["rolcanlogin"])
            yield self.finding(
                ctx, "warning" if can_login else "info", name,
                f"{'login' if can_login else 'NOLOGIN'} role {name} is a superuser and not in the allowed list",
                f"`ALTER ROLE {quote_postgresql(name)} NOSUPERUSER;` and grant only what it needs (e.g. "
                "pg_monitor, pg_read_all_data); or, if it must stay, add it to allowed_superusers under "
                "[diagnostics.security]",
                rolcanlogin=can_login, rolvaliduntil=row["rolvaliduntil"],
                superusers=[r["rolname"] for r in rows], allowed_superusers=list(allowed))
