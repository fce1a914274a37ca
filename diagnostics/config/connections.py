"""config.connections: connections used against the server's limit.

MariaDB: Max_used_connections (the high-water mark since start-up) against max_connections.
PostgreSQL: client connections now against max_connections minus the superuser reserve.
SQL Server: connections now against 'user connections' (0 = 32767). At the limit new logins
fail: the ERP's users get errors while the server itself is idle.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import level

MYSQL_CONNECTIONS = """
SELECT @@max_connections AS max_connections,
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'MAX_USED_CONNECTIONS')
           AS used,
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED')
           AS connected
"""

POSTGRESQL_CONNECTIONS = """
SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
           AS max_connections,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS used,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS connected
"""

MSSQL_CONNECTIONS = """
SELECT CASE WHEN c.value_in_use = 0 THEN @@MAX_CONNECTIONS ELSE CAST(c.value_in_use AS int) END AS max_connections,
       (SELECT COUNT(*) FROM sys.dm_exec_connections) AS used,
       (SELECT COUNT(*) FROM sys.dm_exec_connections) AS connected
FROM sys.configurations AS c
WHERE c.name = N'user connections'
"""


class Connections(Check):
    id = "config.connections"
    engines = frozenset({"mysql", "postgresql", "mssql"})
    title = "Connections used close to the server's limit"
    queries = {"mysql": {"connections": MYSQL_CONNECTIONS}, "postgresql": {"connections": POSTGRESQL_CONNECTIONS},
               "mssql": {"connections": MSSQL_CONNECTIONS}}
    defaults = {"warning_ratio": 0.8, "critical_ratio": 0.95}
    max_rows = 1

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = ctx.query(self, "connections")
        if not rows:
            return
        row = rows[0]
        limit, used = number(row["max_connections"]), number(row["used"])
        ctx.examined("settings", 1)
        if limit <= 0:
            return
        ratio = used / limit
        severity = level(ratio, ctx.options["warning_ratio"], ctx.options["critical_ratio"])
        if severity is None:
            return
        peak = "at the peak since start-up" if ctx.engine == "mysql" else "now"
        yield self.finding(
            ctx, severity, "max_connections" if ctx.engine != "mssql" else "user connections",
            f"{int(used)} of {int(limit)} connections used {peak} ({ratio:.0%})",
            "find who holds the connections (a pool sized too large, leaked connections, sleeping sessions) and "
            "put a pooler in front or raise the limit with the memory it costs per connection",
            max_connections=int(limit), used=int(used), connected=int(number(row["connected"])),
            ratio=round(ratio, 4),
        )
