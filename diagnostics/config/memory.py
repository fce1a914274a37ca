"""config.memory: the database's memory settings against the data and the machine.

MariaDB: innodb_buffer_pool_size below a share of the InnoDB data + index size (every query then
reads from disk). PostgreSQL: shared_buffers and effective_cache_size left tiny against the
machine's RAM (only judged when the agent runs on the database host: it reads RAM locally).
SQL Server: max server memory left at its default (2147483647 MB: the buffer pool takes the
whole machine and starves the OS), against the RAM the server reports.
"""

from __future__ import annotations

from collections.abc import Iterator

import psutil

from l4agent.core.units import format_bytes
from l4agent.dbaccess.connection import dsn_value
from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.signalkit import read

MYSQL_MEMORY = """
SELECT @@innodb_buffer_pool_size AS buffer_pool_bytes,
       (SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES
        WHERE ENGINE = 'InnoDB'
          AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')) AS innodb_bytes,
       (SELECT COUNT(*) FROM information_schema.TABLES
        WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')) AS tables
"""

POSTGRESQL_MEMORY = """
SELECT pg_size_bytes(current_setting('shared_buffers')) AS shared_buffers_bytes,
       pg_size_bytes(current_setting('effective_cache_size')) AS effective_cache_size_bytes,
       (SELECT sum(pg_database_size(oid)) FROM pg_database) AS data_bytes
"""

MSSQL_MEMORY = """
SELECT CAST(c.value_in_use AS bigint) AS max_server_memory_mb,
       (SELECT si.physical_memory_kb FROM sys.dm_os_sys_info AS si) AS physical_memory_kb
FROM sys.configurations AS c
WHERE c.name = N'max server memory (MB)'
"""

MSSQL_DEFAULT_MAX_MEMORY_MB = 2147483647
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class Memory(Check):
    id = "config.memory"
    engines = frozenset({"mysql", "postgresql", "mssql"})
    title = "Memory settings against the data size and the machine's RAM"
    queries = {"mysql": {"memory": MYSQL_MEMORY}, "postgresql": {"memory": POSTGRESQL_MEMORY},
               "mssql": {"memory": MSSQL_MEMORY}}
    #: MariaDB: buffer pool below this share of the InnoDB data; PostgreSQL: shared_buffers below
    #: this share of RAM (and effective_cache_size below half the RAM)
    defaults = {"min_buffer_pool_share_of_data": 0.5, "min_shared_buffers_share_of_ram": 0.05}
    max_rows = 1

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        yield from getattr(self, f"_{ctx.engine}")(ctx)

    def _mysql(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = read(self, ctx, "memory", "SHOW VIEW on the ERP schemas (table sizes)")
        if not rows:
            return
        row = rows[0]
        tables = int(number(row["tables"]))
        if not tables:
            ctx.not_examined(self.id, "no table visible: the catalogs hold none yet, or the account lacks the grant (GRANT SHOW VIEW ON *.*)")
            return
        ctx.examined("tables", tables)
        pool, data = number(row["buffer_pool_bytes"]), number(row["innodb_bytes"])
        share = ctx.options["min_buffer_pool_share_of_data"]
        if data <= 0 or pool >= share * data:
            return
        yield self.finding(
            ctx, "warning", "innodb_buffer_pool_size",
            f"innodb_buffer_pool_size {format_bytes(pool)} holds {pool / data:.0%} of the "
            f"{format_bytes(data)} of InnoDB data and indexes",
            f"raise innodb_buffer_pool_size towards the data size (at least {format_bytes(share * data)}), "
            "within ~70 % of the RAM of a dedicated database host; it is dynamic (SET GLOBAL) since 10.2",
            buffer_pool_bytes=int(pool), innodb_bytes=int(data), tables=tables,
        )

    def _postgresql(self, ctx: CheckContext) -> Iterator[Finding]:
        host = (dsn_value(ctx.target.dsn, "SERVER") or dsn_value(ctx.target.dsn, "HOST") or "").lower()
        if host not in LOCAL_HOSTS and not host.startswith("/"):
            ctx.not_examined(self.id, f"the server's RAM is unknown: the agent does not run on {host or 'it'}")
            return
        rows = ctx.query(self, "memory")
        if not rows:
            return
        row = rows[0]
        ram = psutil.virtual_memory().total
        ctx.examined("settings", 2)
        shared, cache = number(row["shared_buffers_bytes"]), number(row["effective_cache_size_bytes"])
        share = ctx.options["min_shared_buffers_share_of_ram"]
        if shared >= share * ram or number(row["data_bytes"]) <= shared:
            return  # big enough, or all the data fits anyway
        yield self.finding(
            ctx, "warning", "shared_buffers",
            f"shared_buffers {format_bytes(shared)} is {shared / ram:.1%} of the host's {format_bytes(ram)} RAM "
            f"(effective_cache_size {format_bytes(cache)}) for {format_bytes(number(row['data_bytes']))} of data",
            "set shared_buffers to about 25 % of the RAM of a dedicated host (restart) and effective_cache_size "
            "to about 50-75 % (reload), so the planner knows the OS cache exists",
            shared_buffers_bytes=int(shared), effective_cache_size_bytes=int(cache), ram_bytes=ram,
            data_bytes=int(number(row["data_bytes"])),
        )

    def _mssql(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = ctx.query(self, "memory")
        if not rows:
            return
        row = rows[0]
        ctx.examined("settings", 1)
        if int(number(row["max_server_memory_mb"])) != MSSQL_DEFAULT_MAX_MEMORY_MB:
            return
        ram = number(row["physical_memory_kb"]) * 1024
        yield self.finding(
            ctx, "warning", "max server memory (MB)",
            f"max server memory is left at its default (unlimited) on a host with {format_bytes(ram)} RAM",
            "EXEC sp_configure 'max server memory (MB)', <RAM minus 4 GB or 10-20 %>; RECONFIGURE; so the "
            "buffer pool cannot starve the OS and the other services (SSRS, the ERP application)",
            max_server_memory_mb=MSSQL_DEFAULT_MAX_MEMORY_MB, physical_memory_bytes=int(ram),
        )
