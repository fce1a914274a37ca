"""Microsoft SQL Server: the database collector's statements and what their rows become.

Server-wide DMVs and catalog views only (no per-catalog USE). The login needs VIEW SERVER STATE
(DMVs), VIEW ANY DEFINITION (sys.master_files), CONNECT ANY DATABASE and SELECT on
msdb.dbo.backupset and backupmediafamily (see docs/sqlserver.md). Every statement runs in master. The agent's own session (@@SPID) is left out
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
       CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
       CAST(SERVERPROPERTY('IsHadrEnabled') AS int) AS hadr_enabled,
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

#: days of msdb history read; backup_finish_date is msdb's indexed column, so an unpurged msdb is
#: never scanned whole (diagnostics/backup/backupkit.py reads the same window)
HISTORY_DAYS = 100

# Newest restorable backup per online catalog, type (D full, I differential, L log) and copy-only
# flag, within HISTORY_DAYS. Snapshots (is_snapshot) and backups written to NUL are no restorable
# backup; history from before the catalog was created or restored belongs to an earlier
# incarnation; database snapshots and standby databases are left out. backupset.database_name is
# mapped through DB_ID (Managed Instance can record the physical GUID name). A catalog without any
# backup gives one row with type NULL. is_primary_replica: 1 outside an availability group.
BACKUP_HISTORY = """
SELECT d.name AS catalog,
       b.type,
       b.is_copy_only,
       DATEDIFF_BIG(SECOND, MAX(b.backup_finish_date), GETDATE()) AS age_seconds,
       CASE WHEN d.replica_id IS NULL THEN 0 ELSE 1 END AS in_availability_group,
       CASE WHEN d.replica_id IS NULL THEN 1 ELSE COALESCE(drs.is_primary_replica, 0) END AS is_primary_replica
FROM sys.databases AS d
LEFT JOIN sys.dm_hadr_database_replica_states AS drs
       ON drs.database_id = d.database_id AND drs.is_local = 1
LEFT JOIN (SELECT COALESCE(DB_NAME(DB_ID(bs.database_name)), bs.database_name) AS database_name,
                  bs.type, bs.is_copy_only, bs.backup_finish_date
           FROM msdb.dbo.backupset AS bs
           WHERE bs.type IN ('D', 'I', 'L')
             AND bs.backup_finish_date >= DATEADD(DAY, -100, GETDATE())
             AND bs.is_snapshot = 0
             AND NOT EXISTS (SELECT 1 FROM msdb.dbo.backupmediafamily AS mf
                             WHERE mf.media_set_id = bs.media_set_id AND mf.physical_device_name = N'NUL')) AS b
       ON b.database_name = d.name
      AND b.backup_finish_date >= d.create_date
WHERE d.database_id <> 2
  AND d.state = 0
  AND d.source_database_id IS NULL
  AND d.is_in_standby = 0
GROUP BY d.name, d.replica_id, drs.is_primary_replica, b.type, b.is_copy_only
ORDER BY d.name
"""

# Availability-group catalogs only (the step runs when HADR is enabled): is this replica the
# preferred backup replica (where log backups are judged)? The function is called once per AG
# database, never for the others; a clusterless AG before 2017 CU17 makes it fail (41005), which
# costs only this step. When @@SERVERNAME differs in case from replica_server_name it answers 0 on
# every replica, so the preference is then worked out from the AG's setting and the local role.
BACKUP_REPLICAS = """
SELECT d.name AS catalog,
       CASE WHEN d.replica_id IS NULL THEN NULL
            ELSE sys.fn_hadr_backup_is_preferred_replica(d.name) END AS is_preferred_replica,
       ag.automated_backup_preference_desc AS backup_preference,
       ars.role_desc AS local_role,
       ar.replica_server_name,
       CAST(SERVERPROPERTY('ServerName') AS nvarchar(128)) AS server_name
FROM sys.databases AS d
JOIN sys.availability_replicas AS ar ON ar.replica_id = d.replica_id
JOIN sys.availability_groups AS ag ON ag.group_id = ar.group_id
JOIN sys.dm_hadr_availability_replica_states AS ars ON ars.replica_id = d.replica_id AND ars.is_local = 1
WHERE d.replica_id IS NOT NULL
  AND d.state = 0
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

# Per online catalog: what the log waits on before it can be reused, and the last CHECKDB that
# found no error. LastGoodCheckDbTime exists since 2016 SP2 (NULL before); 1900-01-01 means
# never. checkdb_known = 0 where the server cannot say (DBCC DBINFO would be needed there).
DATABASE_STATE = """
SELECT d.name AS catalog,
       d.log_reuse_wait_desc,
       CASE WHEN CAST(DATABASEPROPERTYEX(d.name, 'LastGoodCheckDbTime') AS datetime) > '19000101'
            THEN DATEDIFF_BIG(second, CAST(DATABASEPROPERTYEX(d.name, 'LastGoodCheckDbTime') AS datetime), GETDATE())
       END AS checkdb_age_seconds,
       CASE WHEN DATABASEPROPERTYEX(d.name, 'LastGoodCheckDbTime') IS NULL THEN 0 ELSE 1 END AS checkdb_known,
       DATEDIFF_BIG(second, d.create_date, GETDATE()) AS created_age_seconds
FROM sys.databases AS d
WHERE d.state = 0
  AND d.name <> N'tempdb'
ORDER BY d.name
"""

# Per catalog: the fullest IDENTITY column against its type's maximum (decimal/numeric:
# 10^precision - 1); objects shipped by Microsoft left out.
IDENTITY_USAGE = """
SELECT MAX(CAST(ic.last_value AS float) /
           CASE TYPE_NAME(ic.system_type_id)
             WHEN 'tinyint' THEN 255 WHEN 'smallint' THEN 32767 WHEN 'int' THEN 2147483647
             WHEN 'bigint' THEN 9223372036854775807
             ELSE POWER(CAST(10 AS float), ic.precision) - 1
           END) AS usage_ratio,
       COUNT(*) AS columns
FROM sys.identity_columns AS ic
JOIN sys.objects AS o ON o.object_id = ic.object_id
WHERE o.is_ms_shipped = 0
"""

BACKUP_TYPES = {"D": "full", "I": "diff", "L": "log"}


def server_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    row = rows[0]
    ctx.facts["hadr_enabled"] = bool(number(row.get("hadr_enabled"), 0))
    ctx.facts["engine_edition"] = int(number(row.get("engine_edition"), 0) or 0)
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


def preferred_backup_replica(row: dict) -> bool:
    """The function's answer, or, when @@SERVERNAME differs only in case from the replica's name
    (the function then answers 0 everywhere), the AG's backup preference applied to the local role
    (replica health and backup_priority are not weighed then)."""
    answer = bool(number(row.get("is_preferred_replica"), 0))
    name, server = str(row.get("replica_server_name") or ""), str(row.get("server_name") or "")
    if answer or name == server or name.lower() != server.lower():
        return answer
    preference = str(row.get("backup_preference") or "").lower()
    primary = str(row.get("local_role") or "").upper() == "PRIMARY"
    return {"primary": primary, "secondary_only": not primary, "secondary": not primary}.get(preference, True)


def replica_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    """Availability-group catalogs: 1 where this replica is the preferred backup replica."""
    preferred = {str(row["catalog"]): preferred_backup_replica(row) for row in rows}
    ctx.facts["preferred_backup_replica"] = preferred
    for catalog, flag in preferred.items():
        yield metrics.BACKUP_PREFERRED_REPLICA(1.0 if flag else 0.0, database=ctx.database, catalog=catalog)


def backup_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    """Per catalog: age of the newest full, diff and log backup, full_or_diff (the newer of the two:
    what a restore starts from), whether each newest one is COPY_ONLY, and backup_missing when no
    full backup exists. Availability-group catalogs: full/diff ages (and backup_missing) on the
    primary, where they run; log ages on the preferred backup replica (the "backup replicas" step).
    Managed Instance: automated backups are not in msdb, so no backup_missing is claimed."""
    preferred = ctx.facts.get("preferred_backup_replica", {})
    managed = ctx.facts.get("engine_edition") == 8
    catalogs: dict[str, list[dict]] = {}
    for row in rows:
        catalogs.setdefault(row["catalog"], []).append(row)
    for catalog, catalog_rows in catalogs.items():
        labels = {"database": ctx.database, "catalog": catalog}
        first = catalog_rows[0]
        in_group = bool(number(first.get("in_availability_group"), None))
        judge_full = not in_group or bool(number(first.get("is_primary_replica"), 0))
        judge_log = not in_group or bool(preferred.get(catalog, False))
        newest: dict[str, tuple[float, bool]] = {}  # type -> (age, copy_only)
        for row in catalog_rows:
            kind = BACKUP_TYPES.get(str(row["type"] or "").strip().upper())
            age = number(row["age_seconds"], None)
            if kind is None or age is None:
                continue
            age = max(0.0, age + ctx.elapsed)
            if kind not in newest or age < newest[kind][0]:
                newest[kind] = (age, bool(number(row["is_copy_only"], None)))
        if judge_full and not managed:
            yield metrics.BACKUP_MISSING(0.0 if "full" in newest else 1.0, **labels)
        for kind in ("full", "diff", "log"):
            if kind in newest and (judge_log if kind == "log" else judge_full):
                age, copy_only = newest[kind]
                yield metrics.BACKUP_AGE(round(age, 3), **labels, type=kind)
                yield metrics.BACKUP_COPY_ONLY(1.0 if copy_only else 0.0, **labels, type=kind)
        if "full" in newest and judge_full:
            restore_point = min(newest["full"][0], newest.get("diff", (float("inf"), False))[0])
            yield metrics.BACKUP_AGE(round(restore_point, 3), **labels, type="full_or_diff")


def availability_group_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    for row in rows:
        labels = {"database": ctx.database, "catalog": str(row["catalog"]), "replica": str(row["replica"])}
        lag = number(row["lag_seconds"], None)
        if lag is not None:
            yield metrics.REPLICATION_LAG(max(0.0, lag), **labels)
        yield metrics.REPLICATION_LAG_BYTES(number(row["lag_bytes"]), **labels)


def database_state_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    ctx.facts["catalogs"] = [str(row["catalog"]) for row in rows]
    for row in rows:
        labels = {"database": ctx.database, "catalog": str(row["catalog"])}
        reason = str(row.get("log_reuse_wait_desc") or "").strip().lower()
        if reason:
            yield metrics.LOG_REUSE_WAIT(1, **labels, reason=reason)
        if not number(row.get("checkdb_known"), None):
            continue
        age = number(row.get("checkdb_age_seconds"), None)
        if age is None:  # never checked: unchecked since the catalog was created
            age = number(row.get("created_age_seconds"), None)
        if age is not None:
            yield metrics.LAST_CHECKDB_AGE(max(0.0, age + ctx.elapsed), **labels)


def identity_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    for row in rows:
        if number(row.get("columns")) and row.get("usage_ratio") is not None:
            yield metrics.IDENTITY_USAGE_RATIO(round(number(row["usage_ratio"]), 9), database=ctx.database,
                                               catalog=str(row["catalog"]))


STEPS = (
    Step("server", SERVER, server_samples),
    Step("connections", CONNECTIONS, connections_samples),
    Step("sessions", SESSIONS, sessions_samples),
    Step("transactions", LONGEST_TRANSACTION, transaction_samples),
    Step("performance counters", PERFORMANCE_COUNTERS, counter_samples, max_rows=100),
    Step("sizes", CATALOG_SIZES, size_samples, refresh=300.0, max_rows=4000),
    Step("backup replicas", BACKUP_REPLICAS, replica_samples, refresh=300.0, max_rows=20000,
         applies=lambda facts: bool(facts.get("hadr_enabled"))),
    Step("backups", BACKUP_HISTORY, backup_samples, refresh=300.0, max_rows=20000),
    Step("availability groups", AVAILABILITY_GROUP_LAG, availability_group_samples, max_rows=1000),
    Step("database state", DATABASE_STATE, database_state_samples, max_rows=4000),
    Step("identity usage", IDENTITY_USAGE, identity_samples, refresh=900.0, per_catalog=True),
)
