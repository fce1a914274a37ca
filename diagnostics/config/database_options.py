"""config.database_options (SQL Server): database and server options known to hurt.

Per database: AUTO_SHRINK on (fragmentation, log churn), AUTO_CLOSE on (every first login pays
a start-up), PAGE_VERIFY other than CHECKSUM (corruption goes unnoticed), percent autogrowth on a
file over 1 GB (ever bigger, slower growths). Server: MAXDOP 0 and cost threshold for
parallelism 5 (both defaults) on a machine with many cores; tempdb with one data file on a
multi-core machine (allocation contention). One finding per database, one per server setting.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.core.units import format_bytes
from l4agent.dbaccess.values import number, truthy
from l4agent.diagnostics.base import Check, CheckContext, Finding

DATABASES = """
SELECT d.name, d.is_auto_shrink_on, d.is_auto_close_on, d.page_verify_option_desc,
       (SELECT COUNT(*) FROM sys.master_files AS mf
        WHERE mf.database_id = d.database_id AND mf.is_percent_growth = 1 AND mf.size > 131072) AS percent_growth_files
FROM sys.databases AS d
WHERE d.state = 0
  AND d.database_id > 4
ORDER BY d.name
"""

SERVER = """
SELECT (SELECT cpu_count FROM sys.dm_os_sys_info) AS cpu_count,
       (SELECT CAST(value_in_use AS int) FROM sys.configurations WHERE name = N'max degree of parallelism') AS maxdop,
       (SELECT CAST(value_in_use AS int) FROM sys.configurations WHERE name = N'cost threshold for parallelism')
           AS cost_threshold,
       (SELECT COUNT(*) FROM sys.master_files WHERE database_id = 2 AND type = 0) AS tempdb_data_files
"""


class DatabaseOptions(Check):
    id = "config.database_options"
    engines = frozenset({"mssql"})
    title = "AUTO_SHRINK, AUTO_CLOSE, PAGE_VERIFY, percent growth, MAXDOP/cost threshold, tempdb files"
    queries = {"mssql": {"databases": DATABASES, "server": SERVER}}
    defaults = {"many_cores": 8}
    max_rows = 5000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = ctx.query(self, "databases")
        ctx.examined("databases", len(rows))
        for row in rows:
            problems = []
            if truthy(row["is_auto_shrink_on"]):
                problems.append(("AUTO_SHRINK is on", f"ALTER DATABASE [{row['name']}] SET AUTO_SHRINK OFF"))
            if truthy(row["is_auto_close_on"]):
                problems.append(("AUTO_CLOSE is on", f"ALTER DATABASE [{row['name']}] SET AUTO_CLOSE OFF"))
            if str(row["page_verify_option_desc"] or "").upper() != "CHECKSUM":
                problems.append((f"PAGE_VERIFY is {row['page_verify_option_desc']}",
                                 f"ALTER DATABASE [{row['name']}] SET PAGE_VERIFY CHECKSUM"))
            files = int(number(row["percent_growth_files"]))
            if files:
                problems.append((f"{files} file(s) over {format_bytes(1 << 30)} grow by percent",
                                 "ALTER DATABASE ... MODIFY FILE (NAME = ..., FILEGROWTH = 512MB)"))
            if problems:
                yield self.finding(
                    ctx, "warning", str(row["name"]), "; ".join(p for p, _ in problems),
                    "; ".join(fix for _, fix in problems),
                    auto_shrink=truthy(row["is_auto_shrink_on"]), auto_close=truthy(row["is_auto_close_on"]),
                    page_verify=row["page_verify_option_desc"], percent_growth_files=files,
                )
        servers = ctx.query(self, "server")
        if not servers:
            return
        server = servers[0]
        cpus = int(number(server["cpu_count"]))
        if cpus >= ctx.options["many_cores"] and number(server["maxdop"]) == 0 and number(server["cost_threshold"]) == 5:
            yield self.finding(
                ctx, "warning", "max degree of parallelism",
                f"MAXDOP 0 and cost threshold for parallelism 5 (both defaults) on {cpus} logical CPUs",
                "set MAXDOP to the cores of one NUMA node (at most 8) and the cost threshold to 50 as a start "
                "(sp_configure; RECONFIGURE), then tune from the plan cache",
                cpu_count=cpus, maxdop=server["maxdop"], cost_threshold=server["cost_threshold"],
            )
        files = int(number(server["tempdb_data_files"]))
        if cpus >= 4 and files < min(4, cpus):
            yield self.finding(
                ctx, "warning", "tempdb",
                f"tempdb has {files} data file(s) on {cpus} logical CPUs",
                f"add tempdb data files of equal size up to {min(8, cpus)} (one per core up to 8) to avoid "
                "allocation-page contention",
                tempdb_data_files=files, cpu_count=cpus,
            )
