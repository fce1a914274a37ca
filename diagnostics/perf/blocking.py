"""perf.blocking: blocking chains, reported once per head blocker (who blocks whom, how long).

Each engine's statement reads only sessions in a lock wait and the sessions they wait for;
Python then follows the chains to the head: the session that blocks others and waits for
nobody. One finding per head, with every session it holds up (directly or through others).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import age, first_line, in_scope, qualified, who

# Documented columns of sys.dm_exec_requests (wait_time in ms) and sys.dm_exec_sessions; the
# text is the running statement, or for an idle head blocker the last one it sent. Blocked means a
# lock wait (LCK_M_*) on a real session (blocking_session_id > 0); the negative ids are no session
# (-2 orphaned distributed transaction, -3 deferred recovery, -4 latch owner in transition,
# -5 async I/O or a latch owner not tracked) and are read apart by MSSQL_SYSTEM_BLOCKED.
MSSQL_SESSIONS = """
WITH waiting AS (
    SELECT r.session_id, r.blocking_session_id, r.wait_type, r.wait_time, r.wait_resource,
           r.database_id, r.sql_handle, r.command
    FROM sys.dm_exec_requests AS r
    WHERE r.blocking_session_id > 0
      AND r.wait_type LIKE N'LCK[_]%'
)
SELECT s.session_id, w.blocking_session_id, w.wait_type, w.wait_time, w.wait_resource, w.command,
       DB_NAME(COALESCE(w.database_id, s.database_id)) AS database_name,
       s.login_name, s.host_name, s.program_name, s.status, s.open_transaction_count,
       s.last_request_start_time, LEFT(t.text, 1000) AS sql_text
FROM sys.dm_exec_sessions AS s
LEFT JOIN waiting AS w ON w.session_id = s.session_id
LEFT JOIN sys.dm_exec_connections AS c ON c.session_id = s.session_id
OUTER APPLY sys.dm_exec_sql_text(COALESCE(w.sql_handle, c.most_recent_sql_handle)) AS t
WHERE w.session_id IS NOT NULL
   OR s.session_id IN (SELECT blocking_session_id FROM waiting)
"""

MSSQL_SYSTEM_BLOCKED = """
SELECT r.session_id, r.blocking_session_id, r.wait_type, r.wait_time, r.wait_resource, r.command,
       DB_NAME(r.database_id) AS database_name, s.login_name, s.host_name, s.program_name
FROM sys.dm_exec_requests AS r
JOIN sys.dm_exec_sessions AS s ON s.session_id = r.session_id
WHERE r.blocking_session_id < 0
"""

# What a negative blocking_session_id stands for (sys.dm_exec_requests), how bad it is, what to do.
MSSQL_SYSTEM_BLOCKERS = {
    -2: ("an orphaned distributed transaction", "warning",
         "find its unit of work: SELECT DISTINCT request_owner_guid FROM sys.dm_tran_locks WHERE "
         "request_session_id = -2; then, once MSDTC confirms it is abandoned: KILL '<that request_owner_guid>';"),
    -3: ("a deferred recovery transaction", "warning",
         "a transaction whose rollback was deferred at recovery holds the locks: see the error log and "
         "sys.dm_tran_locks (request_session_id = -3); the database needs the failed pages repaired or restored"),
    -4: ("a latch owner in transition (not identifiable)", "info",
         "usually transient; if it lasts, look at the wait_resource pages and latch waits"),
    -5: ("asynchronous I/O or a latch owner that is not tracked", "info",
         "by itself not a performance problem (Microsoft); if it lasts, check I/O latency of the files"),
}

# pg_blocking_pids() only for sessions waiting on a lock: it takes lock-manager locks itself.
POSTGRESQL_SESSIONS = """
WITH waits AS (
    SELECT pid, pg_blocking_pids(pid) AS blockers
    FROM pg_stat_activity
    WHERE wait_event_type = 'Lock'
)
SELECT a.pid AS session_id, array_to_string(w.blockers, ',') AS blocked_by,
       a.datname AS catalog_name, a.usename AS user_name, a.application_name,
       host(a.client_addr) AS client_addr, a.state, a.wait_event_type, a.wait_event,
       EXTRACT(EPOCH FROM now() - a.query_start) AS query_seconds,
       EXTRACT(EPOCH FROM now() - a.xact_start) AS xact_seconds,
       left(a.query, 1000) AS query_text
FROM pg_stat_activity AS a
LEFT JOIN waits AS w ON w.pid = a.pid AND cardinality(w.blockers) > 0
WHERE w.pid IS NOT NULL
   OR a.pid IN (SELECT unnest(blockers) FROM waits)
"""

# InnoDB row-lock waits, one row per (waiting, blocking) pair; needs PROCESS.
MYSQL_LOCK_WAITS = """
SELECT rt.trx_mysql_thread_id AS waiting_id, bt.trx_mysql_thread_id AS blocking_id,
       TIMESTAMPDIFF(SECOND, rt.trx_wait_started, NOW()) AS wait_seconds,
       TIMESTAMPDIFF(SECOND, bt.trx_started, NOW()) AS blocking_xact_seconds,
       LEFT(rt.trx_query, 1000) AS waiting_query, LEFT(bt.trx_query, 1000) AS blocking_query,
       rp.USER AS waiting_user, rp.HOST AS waiting_host, rp.DB AS waiting_db,
       bp.USER AS blocking_user, bp.HOST AS blocking_host, bp.DB AS blocking_db,
       bp.COMMAND AS blocking_command, bp.STATE AS blocking_state
FROM information_schema.INNODB_LOCK_WAITS AS w
JOIN information_schema.INNODB_TRX AS rt ON rt.trx_id = w.requesting_trx_id
JOIN information_schema.INNODB_TRX AS bt ON bt.trx_id = w.blocking_trx_id
LEFT JOIN information_schema.PROCESSLIST AS rp ON rp.ID = rt.trx_mysql_thread_id
LEFT JOIN information_schema.PROCESSLIST AS bp ON bp.ID = bt.trx_mysql_thread_id
"""


@dataclass
class Session:
    """One session in a blocking relationship, in common terms."""

    id: str
    blocked_by: set[str] = field(default_factory=set)
    wait_seconds: float = 0.0  # how long it has waited for a lock (0 for a head)
    catalog: str | None = None
    who: str = ""  # user@host (application)
    state: str = ""
    query: str = ""


@dataclass
class Chain:
    head: Session
    blocked: list[Session]  # every session waiting on the head, directly or through others

    @property
    def longest_wait(self) -> float:
        return max((s.wait_seconds for s in self.blocked), default=0.0)


def chains(sessions: dict[str, Session]) -> list[Chain]:
    """Blocking chains by head blocker. A head blocks someone and waits for nobody known;
    sessions in a deadlock-like cycle (no head) are reported from their lowest id."""
    blocks: dict[str, set[str]] = {}
    for session in list(sessions.values()):
        for blocker in session.blocked_by:
            blocks.setdefault(blocker, set()).add(session.id)
            sessions.setdefault(blocker, Session(blocker))  # a blocker the query did not return
    heads = [sid for sid in blocks if not sessions[sid].blocked_by]
    covered: set[str] = set()
    result = []
    for head in sorted(heads, key=_id_order):
        reached = _reachable(head, blocks)
        covered |= reached | {head}
        result.append(Chain(sessions[head], [sessions[s] for s in sorted(reached, key=_id_order)]))
    for sid in sorted(blocks, key=_id_order):  # cycles: nobody is a head
        if sid not in covered:
            reached = _reachable(sid, blocks)
            covered |= reached | {sid}
            result.append(Chain(sessions[sid], [sessions[s] for s in sorted(reached - {sid}, key=_id_order)]))
    return result


def _reachable(start: str, blocks: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    pending = list(blocks.get(start, ()))
    while pending:
        sid = pending.pop()
        if sid not in seen and sid != start:
            seen.add(sid)
            pending.extend(blocks.get(sid, ()))
    return seen


def _id_order(sid: str) -> tuple[int, str]:
    return (int(sid), sid) if sid.lstrip("-").isdigit() else (0, sid)


def _ids(text: Any) -> set[str]:
    return {part.strip() for part in str(text or "").split(",") if part.strip() and part.strip() != "0"}


def _mssql_sessions(rows: list[dict[str, Any]]) -> dict[str, Session]:
    sessions = {}
    for row in rows:
        sid = str(row["session_id"])
        owner = who(row.get("login_name"), row.get("host_name"), row.get("program_name"))
        sessions[sid] = Session(sid, _ids(row.get("blocking_session_id")), number(row.get("wait_time")) / 1000.0,
                                row.get("database_name"), owner, str(row.get("status") or ""), str(row.get("sql_text") or ""))
    return sessions


def _postgresql_sessions(rows: list[dict[str, Any]]) -> dict[str, Session]:
    sessions = {}
    for row in rows:
        sid = str(row["session_id"])
        blocked_by = _ids(row.get("blocked_by"))
        owner = who(row.get("user_name"), row.get("client_addr"), row.get("application_name"))
        # PostgreSQL does not say when a lock wait began; the statement's age bounds it.
        wait = number(row.get("query_seconds")) if blocked_by else 0.0
        sessions[sid] = Session(sid, blocked_by, wait, row.get("catalog_name"), owner, str(row.get("state") or ""),
                                str(row.get("query_text") or ""))
    return sessions


def _mysql_sessions(rows: list[dict[str, Any]]) -> dict[str, Session]:
    sessions: dict[str, Session] = {}
    for row in rows:
        waiting, blocking = str(row["waiting_id"]), str(row["blocking_id"])
        w = sessions.setdefault(waiting, Session(waiting))
        w.blocked_by.add(blocking)
        w.wait_seconds = max(w.wait_seconds, number(row.get("wait_seconds")))
        w.catalog, w.query = row.get("waiting_db"), str(row.get("waiting_query") or "")
        w.who, w.state = who(row.get("waiting_user"), row.get("waiting_host")), "waiting for a row lock"
        b = sessions.setdefault(blocking, Session(blocking))
        b.catalog = b.catalog or row.get("blocking_db")
        b.who = who(row.get("blocking_user"), row.get("blocking_host"))
        b.state = f"{row.get('blocking_command') or ''} {row.get('blocking_state') or ''}".strip()
        b.query = b.query or str(row.get("blocking_query") or "")
    return sessions


END_SESSION = {
    "mssql": "KILL {id};",
    "postgresql": "SELECT pg_terminate_backend({id});",
    "mysql": "KILL {id};",
}


class Blocking(Check):
    id = "perf.blocking"
    engines = frozenset({"mssql", "postgresql", "mysql"})
    title = "blocking chains: the head blocker and every session waiting on it"
    queries = {
        "mssql": {"sessions": MSSQL_SESSIONS, "system_blocked": MSSQL_SYSTEM_BLOCKED},
        "postgresql": {"sessions": POSTGRESQL_SESSIONS},
        "mysql": {"lock_waits": MYSQL_LOCK_WAITS},
    }
    defaults = {
        "min_wait_seconds": 30.0,  # report a chain once someone has waited this long
        "critical_wait_seconds": 300.0,  # ... critical from this wait on
    }
    max_rows = 1000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        if ctx.engine == "mssql":
            sessions = _mssql_sessions(ctx.query(self, "sessions"))
            yield from self._system_blocked(ctx, ctx.query(self, "system_blocked"))
        elif ctx.engine == "postgresql":
            sessions = _postgresql_sessions(ctx.query(self, "sessions"))
        else:
            sessions = _mysql_sessions(ctx.query(self, "lock_waits"))
        for chain in chains(sessions):
            wait = chain.longest_wait
            if wait < number(ctx.options["min_wait_seconds"]):
                continue
            # Scoped by the sessions held up, not by the head: an Agent job or maintenance in
            # master/msdb blocking the application's sessions is the application's problem.
            held_up = sorted({s.catalog for s in chain.blocked if s.catalog})
            in_scope_catalogs = [c for c in held_up if in_scope(ctx, c)]
            if held_up and not in_scope_catalogs:
                continue
            if not held_up and chain.head.catalog and not in_scope(ctx, chain.head.catalog):
                continue
            head = chain.head
            label = in_scope_catalogs[0] if in_scope_catalogs else head.catalog
            where = f" (its session is in {head.catalog})" if head.catalog and head.catalog != label else ""
            end = (f"or end it: {END_SESSION[ctx.engine].format(id=head.id)} " if _killable(head.id)
                   else "or end it from the server side; ")
            severity = "critical" if wait >= number(ctx.options["critical_wait_seconds"]) else "warning"
            yield self.finding(
                ctx, severity, qualified(label, f"session:{head.id}"),
                f"session {head.id} ({head.who}){where} blocks {len(chain.blocked)} session(s); the longest has waited "
                f"{age(wait)}" + (f"; the blocker is {head.state}" if head.state else ""),
                f"find out what session {head.id} is doing (its statement is in the evidence); have it commit or roll "
                f"back, {end}Then fix the cause: long "
                "transactions, a missing index that makes updates lock too many rows, or a batch running in business hours",
                head_blocker={"session": head.id, "who": head.who, "state": head.state, "catalog": head.catalog,
                              "query": first_line(head.query, 1000)},
                blocked_catalogs=held_up,
                blocked=[{"session": s.id, "who": s.who, "catalog": s.catalog, "waited_seconds": round(s.wait_seconds, 1),
                          "blocked_by": sorted(s.blocked_by, key=_id_order), "query": first_line(s.query, 300)}
                         for s in chain.blocked],
                longest_wait_seconds=round(wait, 1),
            )

    def _system_blocked(self, ctx: CheckContext, rows: list[dict[str, Any]]) -> Iterator[Finding]:
        """Requests waiting on no session (negative blocking_session_id): one finding per kind,
        apart from the chains, never with a KILL of a negative id."""
        by_code: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            if row.get("database_name") and not in_scope(ctx, row["database_name"]):
                continue
            code = int(number(row.get("blocking_session_id")))
            by_code.setdefault(code, []).append(row)
        for code, waiting in sorted(by_code.items(), reverse=True):  # -2 first
            longest = max(number(r.get("wait_time")) for r in waiting) / 1000.0
            if longest < number(ctx.options["min_wait_seconds"]):
                continue
            meaning, severity, advice = MSSQL_SYSTEM_BLOCKERS.get(
                code, ("an owner SQL Server does not name", "info", "see sys.dm_exec_requests for the wait"))
            yield self.finding(
                ctx, severity, f"blocker:{code}",
                f"{len(waiting)} request(s) wait on {meaning} (blocking_session_id {code}); the longest has waited "
                f"{age(longest)}", advice,
                blocking_session_id=code, longest_wait_seconds=round(longest, 1),
                waiting=[{"session": str(r["session_id"]), "catalog": r.get("database_name"),
                          "who": who(r.get("login_name"), r.get("host_name"), r.get("program_name")),
                          "wait_type": r.get("wait_type"), "wait_resource": r.get("wait_resource"),
                          "waited_seconds": round(number(r.get("wait_time")) / 1000.0, 1)} for r in waiting],
            )


def _killable(session_id: str) -> bool:
    """A session id KILL accepts: a positive number (KILL -2 is invalid; -2 needs KILL 'UOW')."""
    return session_id.isdigit() and int(session_id) > 0
