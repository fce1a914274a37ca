"""security.root_remote (MariaDB/MySQL): ``root`` accounts that accept logins from other hosts.

root can do everything; from ``%`` every host that reaches the port can try its password:
critical. From a named host or network: warning. Hosts in ``allowed_root_hosts`` are accepted.
Locked accounts are not flagged. One finding for root (object ``'root'``), every remote host in
its evidence.
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
        remote = [a for a in accounts if a.user == "root" and not a.locked
                  and not a.local_only(server_hostname) and a.host not in allowed]
        if not remote:
            return
        # One finding for root, every remote host in it ('%' first: it decides the severity).
        remote.sort(key=lambda a: (a.host != "%", a.host))
        any_host = remote[0].host == "%"
        hosts = ["any host" if a.host == "%" else a.host for a in remote]
        if len(remote) == 1:
            summary = f"root accepts logins from {hosts[0]}"
        else:
            summary = f"root accepts logins from {len(remote)} remote hosts: {', '.join(hosts)}"
        drops = " ".join(f"`DROP USER {a.name};`" for a in remote)
        yield self.finding(
            ctx, "critical" if any_host else "warning", sql_string("root"), summary,
            f"{drops} (or `RENAME USER {remote[0].name} TO 'root'@'localhost';` when no "
            "local root exists) and administer remotely through a named account limited to the admin "
            f"hosts; or add the hosts that must stay to allowed_root_hosts under [diagnostics.security]",
            hosts=[a.host for a in remote], accounts=[a.name for a in remote])
