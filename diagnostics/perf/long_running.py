"""perf.long_running: statements running longer than a limit, and transactions left open by an
idle session (they hold locks, and on PostgreSQL stop vacuum from cleaning up).

The agent's own session is never reported, and neither is a statement waiting for a lock held
by another session: that victim is reported once, in its chain, by perf.blocking (the fix is the
head blocker, not the statement that waits).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import age, first_line, in_scope, qualified, who

# Documented columns of sys.dm_exec_requests (cpu_time in ms) and sys.dm_exec_sessions. Service
# Broker and trace waits are idle by design. The elapsed time is computed from start_time with
# DATEDIFF_BIG: total_elapsed_time is an int of milliseconds that goes negative after ~24.8 days.
MSSQL_RUNNING = """
SELECT r.session_id, DB_NAME(r.database_id) AS database_name, s.login_name, s.host_name, s.program_name,
       r.status, r.command, r.wait_type, r.start_time,
       DATEDIFF_BIG(MILLISECOND, r.start_time, GETDATE()) AS elapsed_ms, r.cpu_time, r.logical_reads,
       r.blocking_session_id, LEFT(t.text, 1000) AS sql_text
FROM sys.dm_exec_requests AS r
JOIN sys.dm_exec_sessions AS s ON s.session_id = r.session_id
OUTER APPLY sys.dm_exec_sql_text(r.sql_handle) AS t
WHERE s.is_user_process = 1
  AND r.session_id <> @@SPID
  AND COALESCE(r.wait_type, N'') NOT IN (N'BROKER_RECEIVE_WAITFOR', N'TRACEWRITE', N'WAITFOR')
  AND DATEDIFF_BIG(MILLISECOND, r.start_time, GETDATE()) >= ?
ORDER BY elapsed_ms DESC
"""

# last_request_end_time is 1900-01-01 for a session that has not finished a request yet: left out
# (DATEDIFF on it would also overflow int seconds, error 535).
MSSQL_IDLE_IN_TRANSACTION = """
SELECT s.session_id, DB_NAME(s.database_id) AS database_name, s.login_name, s.host_name, s.program_name,
       s.status, s.open_transaction_count, s.last_request_end_time,
       DATEDIFF_BIG(SECOND, s.last_request_end_time, GETDATE()) AS idle_seconds,
       LEFT(t.text, 1000) AS sql_text
FROM sys.dm_exec_sessions AS s
LEFT JOIN sys.dm_exec_connections AS c ON c.session_id = s.session_id
OUTER APPLY sys.dm_exec_sql_text(c.most_recent_sql_handle) AS t
WHERE s.is_user_process = 1
  AND s.status = N'sleeping'
  AND s.open_transaction_count > 0
  AND s.last_request_end_time > '19000101'
  AND s.last_request_end_time < DATEADD(SECOND, -?, GETDATE())
ORDER BY s.last_request_end_time
"""

POSTGRESQL_RUNNING = """
SELECT a.pid AS session_id, a.datname AS catalog_name, a.usename AS user_name, a.application_name,
       host(a.client_addr) AS client_addr, a.state, a.wait_event_type, a.wait_event,
       EXTRACT(EPOCH FROM now() - a.query_start) AS query_seconds,
       EXTRACT(EPOCH FROM now() - a.xact_start) AS xact_seconds,
       left(a.query, 1000) AS query_text
FROM pg_stat_activity AS a
WHERE a.backend_type = 'client backend'
  AND a.pid <> pg_backend_pid()
  AND a.state = 'active'
  AND a.query_start < now() - make_interval(secs => CAST(? AS double precision))
ORDER BY a.query_start
"""

POSTGRESQL_IDLE_IN_TRANSACTION = """
SELECT a.pid AS session_id, a.datname AS catalog_name, a.usename AS user_name, a.application_name,
       host(a.client_addr) AS client_addr, a.state,
       EXTRACT(EPOCH FROM now() - a.state_change) AS idle_seconds,
       EXTRACT(EPOCH FROM now() - a.xact_start) AS xact_seconds,
       left(a.query, 1000) AS query_text
FROM pg_stat_activity AS a
WHERE a.backend_type = 'client backend'
  AND a.pid <> pg_backend_pid()
  AND a.state IN ('idle in transaction', 'idle in transaction (aborted)')
  AND a.state_change < now() - make_interval(secs => CAST(? AS double precision))
ORDER BY a.state_change
"""

MYSQL_RUNNING = """
SELECT p.ID AS session_id, p.DB AS catalog_name, p.USER AS user_name, p.HOST AS client_addr,
       p.COMMAND AS command, p.STATE AS state, p.TIME_MS / 1000 AS query_seconds,
       LEFT(p.INFO, 1000) AS query_text, t.trx_state
FROM information_schema.PROCESSLIST AS p
LEFT JOIN information_schema.INNODB_TRX AS t ON t.trx_mysql_thread_id = p.ID
WHERE p.COMMAND IN ('Query', 'Execute')
  AND p.ID <> CONNECTION_ID()
  AND p.TIME_MS >= ? * 1000
ORDER BY p.TIME_MS DESC
"""

MYSQL_IDLE_IN_TRANSACTION = """
SELECT p.ID AS session_id, p.DB AS catalog_name, p.USER AS user_name, p.HOST AS client_addr,
       p.TIME AS idle_seconds, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS xact_seconds,
       t.trx_rows_locked, t.trx_rows_modified, LEFT(t.trx_query, 1000) AS query_text
FROM information_schema.INNODB_TRX AS t
JOIN information_schema.PROCESSLIST AS p ON p.ID = t.trx_mysql_thread_id
WHERE p.COMMAND = 'Sleep'
  AND p.ID <> CONNECTION_ID()
  AND p.TIME >= ?
ORDER BY p.TIME DESC
"""

END_SESSION = {"mssql": "KILL {id};", "postgresql": "SELECT pg_terminate_backend({id});", "mysql": "KILL {id};"}


def waits_for_a_lock(engine: str, row: dict[str, Any]) -> bool:
    """The statement is blocked by another session's lock (perf.blocking reports it)."""
    if engine == "mssql":  # as perf.blocking reads it: an LCK wait on a session, or a negative blocker
        blocker = number(row.get("blocking_session_id") or 0)
        return blocker < 0 or (blocker > 0 and str(row.get("wait_type") or "").upper().startswith("LCK_"))
    if engine == "postgresql":
        return row.get("wait_event_type") == "Lock"
    return str(row.get("trx_state") or "").upper() == "LOCK WAIT"


def _common(engine: str, row: dict[str, Any], kind: str) -> dict[str, Any]:
    """A session row in common terms: id, catalog, who, seconds, query."""
    if engine == "mssql":
        seconds = number(row["elapsed_ms"]) / 1000.0 if kind == "running" else number(row["idle_seconds"])
        return {"id": str(row["session_id"]), "catalog": row.get("database_name"),
                "who": who(row.get("login_name"), row.get("host_name"), row.get("program_name")),
                "seconds": seconds, "query": row.get("sql_text")}
    seconds = number(row["query_seconds"]) if kind == "running" else number(row["idle_seconds"])
    return {"id": str(row["session_id"]), "catalog": row.get("catalog_name"),
            "who": who(row.get("user_name"), row.get("client_addr"), row.get("application_name")),
            "seconds": seconds, "query": row.get("query_text")}


class LongRunning(Check):
    id = "perf.long_running"
    engines = frozenset({"mssql", "postgresql", "mysql"})
    title = "statements running longer than a limit, and transactions left open by idle sessions"
    queries = {
        "mssql": {"running": MSSQL_RUNNING, "idle_in_transaction": MSSQL_IDLE_IN_TRANSACTION},
        "postgresql": {"running": POSTGRESQL_RUNNING, "idle_in_transaction": POSTGRESQL_IDLE_IN_TRANSACTION},
        "mysql": {"running": MYSQL_RUNNING, "idle_in_transaction": MYSQL_IDLE_IN_TRANSACTION},
    }
    defaults = {
        "min_seconds": 300.0,  # a statement running this long is reported
        "critical_seconds": 3600.0,  # ... critical from here
        "idle_in_transaction_seconds": 600.0,  # an idle session holding a transaction this long
    }
    max_rows = 100

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        min_seconds = number(ctx.options["min_seconds"])
        limit = min_seconds * 1000 if ctx.engine == "mssql" else min_seconds  # elapsed_ms
        for row in ctx.query(self, "running", [limit]):
            session = _common(ctx.engine, row, "running")
            if session["catalog"] and not in_scope(ctx, session["catalog"]):
                continue
            if waits_for_a_lock(ctx.engine, row):
                continue  # a blocked victim: once, in its chain (perf.blocking)
            severity = "critical" if session["seconds"] >= number(ctx.options["critical_seconds"]) else "warning"
            yield self.finding(
                ctx, severity, qualified(session["catalog"], f"session:{session['id']}"),
                f"statement running for {age(session['seconds'])} in session {session['id']} ({session['who']}): "
                f"{first_line(session['query'], 120)}",
                f"find out whether it is expected (a report, a batch) or stuck; if stuck, end it: "
                f"{END_SESSION[ctx.engine].format(id=session['id'])} and tune it (perf.top_query, perf.missing_index) "
                "or move it out of business hours",
                running_seconds=round(session["seconds"], 1), session=session["id"], who=session["who"],
                query=first_line(session["query"], 1000), **_extra(row),
            )
        for row in ctx.query(self, "idle_in_transaction", [number(ctx.options["idle_in_transaction_seconds"])]):
            session = _common(ctx.engine, row, "idle")
            if session["catalog"] and not in_scope(ctx, session["catalog"]):
                continue
            yield self.finding(
                ctx, "warning", qualified(session["catalog"], f"session:{session['id']}"),
                f"session {session['id']} ({session['who']}) has left a transaction open and idle for {age(session['seconds'])}",
                "the application must commit or roll back its transactions; end this one if its owner cannot: "
                f"{END_SESSION[ctx.engine].format(id=session['id'])}"
                + (" Consider idle_in_transaction_session_timeout." if ctx.engine == "postgresql" else ""),
                idle_seconds=round(session["seconds"], 1), session=session["id"], who=session["who"],
                last_query=first_line(session["query"], 1000), **_extra(row),
            )


def _extra(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("wait_event_type", "wait_event", "wait_type", "xact_seconds", "cpu_time", "logical_reads",
            "blocking_session_id", "command", "state", "status", "open_transaction_count", "trx_rows_locked",
            "trx_rows_modified")
    return {key: row[key] for key in keep if row.get(key) is not None}
