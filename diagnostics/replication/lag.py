"""replication.lag: a replica further behind its primary than the threshold.

MariaDB: Seconds_Behind_Master of each source (unknown while a thread is stopped: that is
replication.broken). PostgreSQL: on a primary, each standby's replay lag; on a standby, how long
ago the last replayed commit was while received WAL waits to be replayed. SQL Server: the commit
time distance of each secondary database of an availability group.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.collectors.database.mssql import AVAILABILITY_GROUP_LAG
from l4agent.collectors.database.postgresql import REPLICATION as POSTGRESQL_REPLICATION
from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import age, seconds_option
from l4agent.diagnostics.signalkit import MYSQL_REPLICA_QUERIES, mysql_replicas


class ReplicationLag(Check):
    id = "replication.lag"
    engines = frozenset({"mysql", "postgresql", "mssql"})
    title = "Replica behind its primary by more than the threshold"
    queries = {"mysql": MYSQL_REPLICA_QUERIES, "postgresql": {"replication": POSTGRESQL_REPLICATION},
               "mssql": {"ag_lag": AVAILABILITY_GROUP_LAG}}
    defaults = {"warning": "5m", "critical": "30m"}
    max_rows = 1000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        warning, critical = seconds_option(self, ctx, "warning"), seconds_option(self, ctx, "critical")
        for name, lag, evidence in self._lags(ctx):
            if lag is None or lag < warning:
                continue
            yield self.finding(
                ctx, "critical" if lag >= critical else "warning", name,
                f"replica is {age(lag)} behind its primary (threshold {age(warning)})",
                "find what slows the replica (long-running queries on it, I/O, a single-threaded apply of a big "
                "transaction, network); reads and backups from it return data that old",
                lag_seconds=round(lag, 3), **evidence,
            )

    def _lags(self, ctx: CheckContext):
        if ctx.engine == "mysql":
            rows = mysql_replicas(self, ctx)
            ctx.examined("replication sources", len(rows))
            for row in rows:
                name = str(row.get("connection_name") or row.get("channel_name") or "") or "default"
                yield (f"replication source {name}", number(row.get("seconds_behind_master"), None),
                       {"master_host": row.get("master_host")})
        elif ctx.engine == "postgresql":
            rows = ctx.query(self, "replication")
            ctx.examined("replicas", len(rows))
            for row in rows:
                yield (f"replica {row['replica']}", number(row["lag_seconds"], None),
                       {"lag_bytes": number(row["lag_bytes"], None)})
        else:
            rows = ctx.query(self, "ag_lag")
            ctx.examined("availability replica databases", len(rows))
            for row in rows:
                yield (f"{row['replica']}/{row['catalog']}", number(row["lag_seconds"], None),
                       {"lag_bytes": number(row["lag_bytes"], None)})
