"""Microsoft SQL Server: the database collector's statements and what their rows become.

Server-wide DMVs and catalog views only (no per-catalog USE). The login needs VIEW SERVER STATE
(DMVs), VIEW ANY DEFINITION (sys.master_files), CONNECT ANY DATABASE and SELECT on
msdb.dbo.backupset (see README, "Database grants"). The agent's own session (@@SPID) is left out
of session counts. Times are compared on the server's clock (GETDATE() against the server's
local-time columns), so the agent's time zone never matters.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.collectors.database import metrics
from l4agent.collectors.database.steps import (
    Rows,
    Step,
    StepContext,
    longest_transaction_sample,
    session_samples,
)
from l4agent.core.samples import Sample
from l4agent.dbaccess.values import number

# 'user connections' = 0 means "as many as @@MAX_CONNECTIONS allows" (32767).
SERVER = """
SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version,
       CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,
       @@MAX_CONNECTIONS AS max_connections,
       (SELECT CAST(value_in_use AS int) FROM sys.configurations WHERE name = N'user connections')
           AS user_connections_setting
"""

CONNECTIONS = """
SELECT COUNT(*) AS connections
FROM sys.dm_exec_connections
"""

# Active = has a request in sys.dm_exec_requests; blocked = one of its requests waits for a lock
# held by another session (blocking_session_id > 0 with an LCK_M_* wait). Negative ids are no
# session (orphaned DTC, deferred recovery, latch, async I/O) and do not count as blocked.
SESSIONS = """
SELECT classified.state,
       COUNT(*) AS sessions,
       SUM(classified.is_blocked) AS blocked
FROM (
    SELECT CASE
             WHEN EXISTS (SELECT 1 FROM sys.dm_exec_requests AS r WHERE r.session_id = s.session_id) THEN 'active'
             WHEN s.open_transaction_count > 0 THEN 'idle_in_transaction'
             WHEN s.status = N'sleeping' THEN 'idle'
             ELSE 'other'
           END AS state,
           CASE
             WHEN EXISTS (SELECT 1 FROM sys.dm_exec_requests AS r
                          WHERE r.session_id = s.session_id AND r.blocking_session_id > 0
                            AND r.wait_type LIKE N'LCK[_]%') THEN 1
             ELSE 0
           END AS is_blocked
    FROM sys.dm_exec_sessions AS s
    WHERE s.is_user_process = 1
      AND s.session_id <> @@SPID
) AS classified
GROUP BY classified.state
"""

LONGEST_TRANSACTION = """
SELECT MAX(DATEDIFF_BIG(SECOND, t.transaction_begin_time, GETDATE())) AS longest_transaction_seconds
FROM sys.dm_tran_active_transactions AS t
JOIN sys.dm_tran_session_transactions AS st ON st.transaction_id = t.transaction_id
JOIN sys.dm_exec_sessions AS s ON s.session_id = st.session_id
WHERE s.is_user_process = 1
  AND st.session_id <> @@SPID
"""

# Cumulative counters despite the "/sec" names (cntr_type 272696576); the hit ratio is a
# ratio/base pair. object_name starts with "SQLServer:" or "MSSQL$INSTANCE:"; columns are
# blank-padded nchar, hence RTRIM.
PERFORMANCE_COUNTERS = """
SELECT RTRIM(pc.object_name) AS object_name,
       RTRIM(pc.counter_name) AS counter_name,
       RTRIM(pc.instance_name) AS instance_name,
       pc.cntr_value,
       pc.cntr_type
FROM sys.dm_os_performance_counters AS pc
WHERE (RTRIM(pc.object_name) LIKE N'%:Buffer Manager'
       AND RTRIM(pc.counter_name) IN (N'Buffer cache hit ratio', N'Buffer cache hit ratio base'))
   OR (RTRIM(pc.object_name) LIKE N'%:Locks'
       AND RTRIM(pc.counter_name) = N'Number of Deadlocks/sec' AND RTRIM(pc.instance_name) = N'_Total')
   OR (RTRIM(pc.object_name) LIKE N'%:Databases'
       AND RTRIM(pc.counter_name) = N'Transactions/sec' AND RTRIM(pc.instance_name) = N'_Total')
"""

# Allocated file sizes in 8 KiB pages; type 1 = LOG, everything else (ROWS, FILESTREAM,
# full-text) counts as data.
CATALOG_SIZES = """
SELECT DB_NAME(mf.database_id) AS catalog,
       CASE WHEN mf.type = 1 THEN 'log' ELSE 'data' END AS kind,
       SUM(CAST(mf.size AS bigint)) * 8192 AS size_bytes
FROM sys.master_files AS mf
GROUP BY mf.database_id, CASE WHEN mf.type = 1 THEN 'log' ELSE 'data' END
ORDER BY catalog, kind
"""

# Newest backup per online catalog, type (D full, I differential, L log) and copy-only flag;
# history from before the catalog was created or restored belongs to an earlier incarnation.
# A catalog without any backup gives one row with type NULL. In an availability group only the
# preferred backup replica takes backups, so only it reports their age.
BACKUP_HISTORY = """
SELECT d.name AS catalog,
       b.type,
       b.is_copy_only,
       DATEDIFF_BIG(SECOND, MAX(b.backup_finish_date), GETDATE()) AS age_seconds,
       CASE WHEN d.replica_id IS NULL THEN 0 ELSE 1 END AS in_availability_group,
       sys.fn_hadr_backup_is_preferred_replica(d.name) AS is_preferred_replica
FROM sys.databases AS d
LEFT JOIN msdb.dbo.backupset AS b
       ON b.database_name = d.name
      AND b.type IN ('D', 'I', 'L')
      AND b.backup_finish_date >= d.create_date
WHERE d.name <> N'tempdb'
  AND d.state = 0
GROUP BY d.name, d.replica_id, b.type, b.is_copy_only
ORDER BY d.name
"""

# Per secondary replica and catalog: commit-time distance to the primary, and log not yet sent
# plus not yet redone (KiB). Visible in full on the primary replica.
AVAILABILITY_GROUP_LAG = """
SELECT adc.database_name AS catalog,
       ar.replica_server_name AS replica,
       DATEDIFF_BIG(SECOND, drs.last_commit_time, primary_state.last_commit_time) AS lag_seconds,
       (COALESCE(drs.log_send_queue_size, 0) + COALESCE(drs.redo_queue_size, 0)) * 1024 AS lag_bytes
FROM sys.dm_hadr_database_replica_states AS drs
JOIN sys.availability_replicas AS ar ON ar.replica_id = drs.replica_id
JOIN sys.availability_databases_cluster AS adc ON adc.group_database_id = drs.group_database_id
JOIN sys.dm_hadr_database_replica_states AS primary_state
  ON primary_state.group_database_id = drs.group_database_id
 AND primary_state.is_primary_replica = 1
WHERE drs.is_primary_replica = 0
"""

BACKUP_TYPES = {"D": "full", "I": "diff", "L": "log"}


def server_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    row = rows[0]
    version = str(row["version"])
    if row.get("edition"):
        version = f"{version} {row['edition']}"
    yield metrics.INFO(1, database=ctx.database, engine=ctx.engine, version=version)
    limit = number(row.get("user_connections_setting"), None) or number(row["max_connections"])
    yield metrics.CONNECTIONS_MAX(limit, database=ctx.database)


def connections_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    yield metrics.CONNECTIONS(number(rows[0]["connections"]), database=ctx.database)


def sessions_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    yield from session_samples(rows, ctx)


def transaction_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    yield longest_transaction_sample(rows, ctx)


def counter_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    """Buffer cache hit ratio (ratio / base), deadlocks and transactions. SQL Server keeps no
    commit or rollback count, so only transactions_total is reported."""
    values = {str(row["counter_name"]).strip().lower(): number(row["cntr_value"]) for row in rows}
    base = values.get("buffer cache hit ratio base")
    if base:
        ratio = values.get("buffer cache hit ratio", 0.0) / base
        yield metrics.CACHE_HIT_RATIO(round(min(1.0, ratio), 6), database=ctx.database)
    if "number of deadlocks/sec" in values:
        yield metrics.DEADLOCKS(values["number of deadlocks/sec"], database=ctx.database)
    if "transactions/sec" in values:
        yield metrics.TRANSACTIONS(values["transactions/sec"], database=ctx.database)


def size_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    for row in rows:
        if row["catalog"] is None:  # dropped between the scan and DB_NAME()
            continue
        yield metrics.SIZE(number(row["size_bytes"]), database=ctx.database, catalog=row["catalog"],
                           kind=row["kind"])


def backup_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    """Per catalog: age of the newest full, diff and log backup, full_or_diff (the newer of the two:
    what a restore starts from), whether each newest one is COPY_ONLY, and backup_missing when no
    full backup exists. Availability-group catalogs report ``backup_preferred_replica`` and their
    ages only on the preferred backup replica."""
    catalogs: dict[str, list[dict]] = {}
    for row in rows:
        catalogs.setdefault(row["catalog"], []).append(row)
    for catalog, catalog_rows in catalogs.items():
        labels = {"database": ctx.database, "catalog": catalog}
        first = catalog_rows[0]
        if number(first.get("in_availability_group"), None):
            preferred = 1.0 if number(first.get("is_preferred_replica"), None) else 0.0
            yield metrics.BACKUP_PREFERRED_REPLICA(preferred, **labels)
            if not preferred:
                continue
        newest: dict[str, tuple[float, bool]] = {}  # type -> (age, copy_only)
        for row in catalog_rows:
            kind = BACKUP_TYPES.get(str(row["type"] or "").strip().upper())
            age = number(row["age_seconds"], None)
            if kind is None or age is None:
                continue
            age = max(0.0, age + ctx.elapsed)
            if kind not in newest or age < newest[kind][0]:
                newest[kind] = (age, bool(number(row["is_copy_only"], None)))
        yield metrics.BACKUP_MISSING(0.0 if "full" in newest else 1.0, **labels)
        for kind in ("full", "diff", "log"):
            if kind in newest:
                age, copy_only = newest[kind]
                yield metrics.BACKUP_AGE(round(age, 3), **labels, type=kind)
                yield metrics.BACKUP_COPY_ONLY(1.0 if copy_only else 0.0, **labels, type=kind)
        if "full" in newest:
            restore_point = min(newest["full"][0], newest.get("diff", (float("inf"), False))[0])
            yield metrics.BACKUP_AGE(round(restore_point, 3), **labels, type="full_or_diff")


def availability_group_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    for row in rows:
        labels = {"database": ctx.database, "catalog": str(row["catalog"]), "replica": str(row["replica"])}
        lag = number(row["lag_seconds"], None)
        if lag is not None:
            yield metrics.REPLICATION_LAG(max(0.0, lag), **labels)
        yield metrics.REPLICATION_LAG_BYTES(number(row["lag_bytes"]), **labels)


STEPS = (
    Step("server", SERVER, server_samples),
    Step("connections", CONNECTIONS, connections_samples),
    Step("sessions", SESSIONS, sessions_samples),
    Step("transactions", LONGEST_TRANSACTION, transaction_samples),
    Step("performance counters", PERFORMANCE_COUNTERS, counter_samples, max_rows=100),
    Step("sizes", CATALOG_SIZES, size_samples, refresh=300.0, max_rows=4000),
    Step("backups", BACKUP_HISTORY, backup_samples, refresh=300.0, max_rows=20000),
    Step("availability groups", AVAILABILITY_GROUP_LAG, availability_group_samples, max_rows=1000),
)
