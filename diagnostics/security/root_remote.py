"""security.root_remote (MariaDB/MySQL): ``root`` accounts that accept logins from other hosts.

root can do everything; from ``%`` every host that reaches the port can try its password:
critical. From a named host or network: warning. Hosts in ``allowed_root_hosts`` are accepted.
Locked accounts are not flagged.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.security.mysql_accounts import QUERIES, read_accounts, sql_string


class RootRemote(Check):
    id = "security.root_remote"
    engines = frozenset({"mysql"})
    title = "root allowed from % or other hosts"
    queries = QUERIES
    defaults = {"allowed_root_hosts": []}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        allowed = ctx.options["allowed_root_hosts"]
        accounts, server_hostname = read_accounts(ctx, self)
        for account in accounts:
            if account.user != "root" or account.locked or account.local_only(server_hostname):
                continue
            if account.host in allowed:
                continue
            any_host = account.host == "%"
            yield self.finding(
                ctx, "critical" if any_host else "warning", account.name,
                f"root accepts logins from {'any host' if any_host else account.host}",
                f"`DROP USER {account.name};` (or `RENAME USER {account.name} TO 'root'@'localhost';` when no "
                "local root exists) and administer remotely through a named account limited to the admin "
                f"hosts; or add {sql_string(account.host)} to allowed_root_hosts under [diagnostics.security]",
                host=account.host)
