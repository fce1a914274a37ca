"""perf.wait_stats (SQL Server): what the server spends its time waiting on.

``sys.dm_os_wait_stats`` accumulates since start-up (or a manual clear); idle and background
waits that say nothing about the workload are left out (the usual exclusion list). Each of the
top waits with a large share of the total is reported with what it usually means.
PostgreSQL (pg_stat_activity wait_event) and MariaDB (performance_schema wait instruments, off
by default) offer only samples, not totals, so the check runs on SQL Server only.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import age, compose

# Idle, queue and background waits: time spent waiting for work, not waiting on a resource.
BENIGN_WAITS = (
    "BROKER_EVENTHANDLER", "BROKER_RECEIVE_WAITFOR", "BROKER_TASK_STOP", "BROKER_TO_FLUSH", "BROKER_TRANSMITTER",
    "CHECKPOINT_QUEUE", "CHKPT", "CLR_AUTO_EVENT", "CLR_MANUAL_EVENT", "CLR_SEMAPHORE", "CXCONSUMER",
    "DBMIRROR_DBM_EVENT", "DBMIRROR_EVENTS_QUEUE", "DBMIRROR_WORKER_QUEUE", "DBMIRRORING_CMD", "DIRTY_PAGE_POLL",
    "DISPATCHER_QUEUE_SEMAPHORE", "EXECSYNC", "FSAGENT", "FT_IFTS_SCHEDULER_IDLE_WAIT", "FT_IFTSHC_MUTEX",
    "HADR_CLUSAPI_CALL", "HADR_FILESTREAM_IOMGR_IOCOMPLETION", "HADR_LOGCAPTURE_WAIT",
    "HADR_NOTIFICATION_DEQUEUE", "HADR_TIMER_TASK", "HADR_WORK_QUEUE", "KSOURCE_WAKEUP", "LAZYWRITER_SLEEP",
    "LOGMGR_QUEUE", "MEMORY_ALLOCATION_EXT", "ONDEMAND_TASK_QUEUE", "PARALLEL_REDO_DRAIN_WORKER",
    "PARALLEL_REDO_LOG_CACHE", "PARALLEL_REDO_TRAN_LIST", "PARALLEL_REDO_WORKER_SYNC",
    "PARALLEL_REDO_WORKER_WAIT_WORK", "PREEMPTIVE_OS_FLUSHFILEBUFFERS", "PREEMPTIVE_XE_GETTARGETSTATE",
    "PVS_PREALLOCATE", "PWAIT_ALL_COMPONENTS_INITIALIZED", "PWAIT_DIRECTLOGCONSUMER_GETNEXT",
    "PWAIT_EXTENSIBILITY_CLEANUP_TASK", "QDS_ASYNC_QUEUE", "QDS_CLEANUP_STALE_QUERIES_TASK_MAIN_LOOP_SLEEP",
    "QDS_PERSIST_TASK_MAIN_LOOP_SLEEP", "QDS_SHUTDOWN_QUEUE", "REDO_THREAD_PENDING_WORK", "REQUEST_FOR_DEADLOCK_SEARCH",
    "RESOURCE_QUEUE", "SERVER_IDLE_CHECK", "SLEEP_BPOOL_FLUSH", "SLEEP_DBSTARTUP", "SLEEP_DCOMSTARTUP",
    "SLEEP_MASTERDBREADY", "SLEEP_MASTERMDREADY", "SLEEP_MASTERUPGRADED", "SLEEP_MSDBSTARTUP", "SLEEP_SYSTEMTASK",
    "SLEEP_TASK", "SLEEP_TEMPDBSTARTUP", "SNI_HTTP_ACCEPT", "SOS_WORK_DISPATCHER", "SP_SERVER_DIAGNOSTICS_SLEEP",
    "SQLTRACE_BUFFER_FLUSH", "SQLTRACE_INCREMENTAL_FLUSH_SLEEP", "SQLTRACE_WAIT_ENTRIES", "UCS_SESSION_REGISTRATION",
    "VDI_CLIENT_OTHER", "WAIT_FOR_RESULTS", "WAIT_XTP_CKPT_CLOSE", "WAIT_XTP_HOST_WAIT", "WAIT_XTP_OFFLINE_CKPT_NEW_LOG",
    "WAIT_XTP_RECOVERY", "WAITFOR", "WAITFOR_TASKSHUTDOWN", "XE_BUFFERMGR_ALLPROCESSED_EVENT", "XE_DISPATCHER_JOIN",
    "XE_DISPATCHER_WAIT", "XE_LIVE_TARGET_TVF", "XE_TIMER_EVENT",
)

# Documented columns of sys.dm_os_wait_stats (times in ms), plus the server's start time.
# The benign list is a fixed literal.
MSSQL_WAITS = compose("""
SELECT TOP (?) w.wait_type, w.waiting_tasks_count, w.wait_time_ms, w.max_wait_time_ms, w.signal_wait_time_ms,
       SUM(w.wait_time_ms) OVER () AS all_wait_time_ms,
       DATEDIFF_BIG(SECOND, i.sqlserver_start_time, GETDATE()) AS since_seconds
FROM sys.dm_os_wait_stats AS w
CROSS JOIN sys.dm_os_sys_info AS i
WHERE w.wait_time_ms > 0
  AND w.wait_type NOT IN ({benign})
  AND w.wait_type NOT LIKE N'SLEEP[_]%'
  AND w.wait_type NOT LIKE N'PREEMPTIVE[_]HADR[_]%'
ORDER BY w.wait_time_ms DESC
""", benign=", ".join(f"N'{name}'" for name in BENIGN_WAITS))

# Prefix -> what the wait usually means and where to look.
MEANINGS = (
    ("PAGEIOLATCH_", "reading data pages from disk: the buffer pool is too small or queries read too much",
     "check perf.cache_hit_ratio, perf.missing_index and perf.top_query (by reads); check the data volume's latency"),
    ("WRITELOG", "writing the transaction log: slow log disk or many tiny transactions",
     "put the log on fast, dedicated storage; batch small commits"),
    ("LCK_M_", "waiting on locks held by other sessions", "see perf.blocking and perf.long_running; shorten transactions"),
    ("CXPACKET", "parallel queries waiting on their threads",
     "set cost threshold for parallelism (e.g. 50) and MAXDOP to the cores per NUMA node; tune the big scans"),
    ("SOS_SCHEDULER_YIELD", "CPU pressure: runnable tasks queue for a scheduler",
     "find the CPU-heavy statements (perf.top_query by CPU); check the host's CPU"),
    ("RESOURCE_SEMAPHORE", "queries wait for a memory grant", "tune the big sorts and hashes (perf.top_query); add memory"),
    ("ASYNC_NETWORK_IO", "the client is slow to fetch results",
     "the application fetches large result sets row by row; fetch less or faster, check the network"),
    ("PAGELATCH_", "contention on in-memory pages (often tempdb allocation pages)",
     "add equally sized tempdb data files; look for insert hot spots"),
    ("THREADPOOL", "worker threads exhausted", "look for blocking chains and runaway parallelism first"),
    ("IO_COMPLETION", "waiting on non-data-page I/O (sorts spilling, backups)", "check tempdb and the backup schedule"),
    ("BACKUPIO", "backups waiting on the backup target", "check the backup destination's throughput"),
    ("OLEDB", "waiting on linked servers or DMV reads", "check linked-server queries"),
)


def meaning(wait_type: str) -> tuple[str, str]:
    """What a wait type usually means and what to do, for people."""
    for prefix, what, todo in MEANINGS:
        if wait_type.startswith(prefix):
            return what, todo
    return "see Microsoft's documentation of this wait type", "look up the wait type; compare with the other top waits"


class WaitStats(Check):
    id = "perf.wait_stats"
    engines = frozenset({"mssql"})
    title = "top wait types since start-up (idle waits excluded), with what each usually means"
    queries = {"mssql": {"waits": MSSQL_WAITS}}
    defaults = {
        "top_n": 5,  # wait types reported at most
        "min_share": 0.10,  # share of all (non-idle) wait time a wait type must have
        "warning_share": 0.40,  # share that makes it a warning
    }
    max_rows = 50

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        top_n = max(1, min(50, int(ctx.options["top_n"])))
        for row in ctx.query(self, "waits", [top_n]):
            total = number(row["all_wait_time_ms"])
            waited = number(row["wait_time_ms"])
            share = waited / total if total else 0.0
            if share < number(ctx.options["min_share"]):
                continue
            wait_type = str(row["wait_type"]).strip()
            if wait_type in BENIGN_WAITS or wait_type.startswith("SLEEP_"):
                continue  # the statement leaves these out already
            what, todo = meaning(wait_type)
            tasks = number(row["waiting_tasks_count"])
            signal_share = number(row["signal_wait_time_ms"]) / waited if waited else 0.0
            yield self.finding(
                ctx, "warning" if share >= number(ctx.options["warning_share"]) else "info", f"wait:{wait_type}",
                f"{wait_type} is {share:.0%} of the server's wait time ({age(waited / 1000)} over "
                f"{age(number(row['since_seconds']))} since start-up): {what}",
                todo,
                wait_time_ms=row["wait_time_ms"], waiting_tasks_count=row["waiting_tasks_count"],
                avg_wait_ms=round(waited / tasks, 2) if tasks else None, max_wait_time_ms=row["max_wait_time_ms"],
                signal_wait_share=round(signal_share, 3), share=round(share, 4), since_seconds=row["since_seconds"],
            )
