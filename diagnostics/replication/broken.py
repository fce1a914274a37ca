"""replication.broken: a replica that is not replicating.

MariaDB: a replication thread (IO or SQL) of a configured source is not running ("Connecting"
counts as not running), with its last error. PostgreSQL: a standby in recovery without a
streaming WAL receiver. SQL Server: an availability-group database replica that is suspended
or not synchronizing. One finding per source / standby / replica database.
MariaDB needs SLAVE MONITOR; without it the check is "not examined (grant)", never "not a replica".
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.core.redact import redact
from l4agent.dbaccess.values import number, truthy
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import age, first_line
from l4agent.diagnostics.signalkit import MYSQL_REPLICA_QUERIES, mysql_replicas

POSTGRESQL_STANDBY = """
SELECT pg_is_in_recovery() AS in_recovery,
       r.status, r.sender_host, r.sender_port, r.slot_name,
       extract(epoch FROM now() - r.last_msg_receipt_time)::float8 AS seconds_since_message,
       current_setting('primary_conninfo') <> '' AS primary_configured,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS seconds_since_replayed_commit
FROM (SELECT 1) AS one
LEFT JOIN pg_stat_wal_receiver AS r ON true
"""

MSSQL_AG_STATES = """
SELECT ag.name AS availability_group, ar.replica_server_name AS replica, DB_NAME(drs.database_id) AS catalog,
       drs.is_local, drs.is_primary_replica, drs.synchronization_state_desc, drs.synchronization_health_desc,
       drs.is_suspended, drs.suspend_reason_desc
FROM sys.dm_hadr_database_replica_states AS drs
JOIN sys.availability_replicas AS ar ON ar.replica_id = drs.replica_id
JOIN sys.availability_groups AS ag ON ag.group_id = drs.group_id
WHERE drs.is_primary_replica = 0
"""

THREADS = (("IO", "slave_io_running", "last_io_errno", "last_io_error"),
           ("SQL", "slave_sql_running", "last_sql_errno", "last_sql_error"))


class ReplicationBroken(Check):
    id = "replication.broken"
    engines = frozenset({"mysql", "postgresql", "mssql"})
    title = "Replica not replicating (thread stopped, standby not streaming, AG replica not synchronizing)"
    queries = {"mysql": MYSQL_REPLICA_QUERIES, "postgresql": {"standby": POSTGRESQL_STANDBY},
               "mssql": {"ag_states": MSSQL_AG_STATES}}
    defaults = {}
    max_rows = 1000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        yield from getattr(self, f"_{ctx.engine}")(ctx)

    def _mysql(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = mysql_replicas(self, ctx)
        ctx.examined("replication sources", len(rows))
        for row in rows:
            name = str(row.get("connection_name") or row.get("channel_name") or "") or "default"
            stopped = []
            for thread, running_key, errno_key, error_key in THREADS:
                state = str(row.get(running_key) or "")
                if state.lower() != "yes":
                    errno = int(number(row.get(errno_key)))
                    error = redact(first_line(row.get(error_key), 300)) if errno else ""
                    stopped.append({"thread": thread, "state": state, "errno": errno, "error": error})
            if not stopped:
                continue
            what = "; ".join(f"{s['thread']} thread {s['state'] or '?'}"
                             + (f" (error {s['errno']}: {s['error']})" if s["errno"] else " (no error: stopped by hand)")
                             for s in stopped)
            sql_error = any(s["thread"] == "SQL" and s["errno"] for s in stopped)
            yield self.finding(
                ctx, "critical", f"replication source {name}",
                f"replica of {row.get('master_host')}:{row.get('master_port')} is not replicating: {what}",
                ("fix the data conflict the SQL thread stopped on (compare the row with the primary), then START "
                 "SLAVE SQL_THREAD; never skip events blindly: the replica then differs from the primary"
                 if sql_error else
                 "check the primary is reachable and the replication account can log in, then START SLAVE; "
                 "until then the replica falls further behind and backups taken from it go stale"),
                connection=name, master_host=row.get("master_host"), master_port=row.get("master_port"),
                threads=stopped, gtid_io_pos=row.get("gtid_io_pos"),
                exec_master_log_pos=row.get("exec_master_log_pos"),
            )

    def _postgresql(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = ctx.query(self, "standby")
        if not rows:
            return
        row = rows[0]
        if not truthy(row["in_recovery"]):
            ctx.examined("standbys", 0)  # a primary: its standbys are judged by replication.lag/slot_retention
            return
        ctx.examined("standbys", 1)
        if str(row["status"] or "") == "streaming":
            return
        since = number(row["seconds_since_replayed_commit"], None)
        yield self.finding(
            ctx, "critical", "wal receiver",
            "standby is not streaming from its primary ("
            + (f"WAL receiver {row['status']}" if row["status"] else "no WAL receiver running")
            + ("; primary_conninfo is empty" if not truthy(row["primary_configured"]) else "")
            + (f"; last replayed commit {age(since)} ago" if since is not None else "") + ")",
            "check primary_conninfo, the primary's pg_hba.conf and the replication slot; the server log shows "
            "why the WAL receiver stopped. A standby that cannot stream falls behind until its WAL is gone "
            "from the primary and it must be rebuilt",
            status=row["status"], primary_configured=truthy(row["primary_configured"]), slot=row["slot_name"],
            seconds_since_replayed_commit=since,
        )

    def _mssql(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = ctx.query(self, "ag_states")
        ctx.examined("availability replica databases", len(rows))
        for row in rows:
            state = str(row["synchronization_state_desc"] or "")
            suspended = truthy(row["is_suspended"])
            if not suspended and state in ("SYNCHRONIZING", "SYNCHRONIZED"):
                continue
            yield self.finding(
                ctx, "critical", f"{row['availability_group']}/{row['replica']}/{row['catalog']}",
                f"availability-group replica {row['replica']} of {row['catalog']} is "
                + (f"suspended ({row['suspend_reason_desc']})" if suspended else state.lower().replace("_", " ")),
                "ALTER DATABASE ... SET HADR RESUME on the replica once the cause (disk, network, log send) is "
                "fixed; while suspended the primary's log cannot be truncated",
                synchronization_state=state, health=row["synchronization_health_desc"], suspended=suspended,
                suspend_reason=row["suspend_reason_desc"],
            )
