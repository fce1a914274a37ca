"""security.unencrypted_connections (SQL Server): TCP sessions from other hosts that are not
encrypted (``sys.dm_exec_connections.encrypt_option = 'FALSE'``).

Logins and query results of these sessions cross the network in clear text. One warning per
login and client address (the busiest ``max_rows`` groups); loopback clients are not counted,
and client addresses in ``allowed_unencrypted_clients`` are accepted. Needs VIEW SERVER STATE.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.security.securitykit import matches_any

UNENCRYPTED_CONNECTIONS = """
SELECT TOP (50) s.login_name, c.client_net_address, s.program_name, COUNT(*) AS connections
FROM sys.dm_exec_connections AS c
JOIN sys.dm_exec_sessions AS s ON s.session_id = c.session_id
WHERE c.encrypt_option = 'FALSE' AND c.net_transport = 'TCP'
  AND c.client_net_address NOT IN ('127.0.0.1', '::1', '<local machine>')
GROUP BY s.login_name, c.client_net_address, s.program_name
ORDER BY COUNT(*) DESC, s.login_name
"""


class UnencryptedConnections(Check):
    id = "security.unencrypted_connections"
    engines = frozenset({"mssql"})
    title = "unencrypted TCP connections from other hosts (sys.dm_exec_connections)"
    queries = {"mssql": {"unencrypted_connections": UNENCRYPTED_CONNECTIONS}}
    defaults = {"allowed_unencrypted_clients": []}
    max_rows = 50

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        allowed = ctx.options["allowed_unencrypted_clients"]
        groups: dict[tuple[str, str], dict] = {}
        for row in ctx.query(self, "unencrypted_connections"):
            address = row["client_net_address"]
            if matches_any(address, allowed):
                continue
            group = groups.setdefault((row["login_name"], address), {"connections": 0, "programs": []})
            group["connections"] += int(row["connections"])
            group["programs"].append(row["program_name"] or "")
        for (login, address), group in groups.items():
            yield self.finding(
                ctx, "warning", f"{login}@{address}",
                f"{group['connections']} unencrypted connection(s) of login {login} from {address}",
                "add Encrypt=yes to the client's connection string, and set Force Encryption = Yes on the "
                "server (SQL Server Configuration Manager; on Linux: `mssql-conf set network.forceencryption 1`) "
                "with a trusted certificate",
                login_name=login, client_net_address=address, connections=group["connections"],
                program_names=sorted(set(group["programs"])))
