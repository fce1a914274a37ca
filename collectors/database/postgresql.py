"""PostgreSQL: the database collector's statements and what their rows become.

Everything is read from cluster-wide statistics views on the one connection (no per-catalog
reconnects); the role needs ``pg_monitor`` and nothing else (see README, "Database grants").
The agent's own session is left out of session counts.
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

SERVER = """
SELECT current_setting('server_version') AS version,
       current_setting('max_connections')::int AS max_connections,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS connections
"""

# Blocked = waiting on a heavyweight lock (row, table, transaction id) another session holds.
SESSIONS = """
SELECT CASE state
         WHEN 'active' THEN 'active'
         WHEN 'idle' THEN 'idle'
         WHEN 'idle in transaction' THEN 'idle_in_transaction'
         WHEN 'idle in transaction (aborted)' THEN 'idle_in_transaction'
         ELSE 'other'
       END AS state,
       count(*) AS sessions,
       count(*) FILTER (WHERE wait_event_type = 'Lock') AS blocked,
       coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) AS longest_transaction_seconds
FROM pg_stat_activity
WHERE backend_type = 'client backend'
  AND pid <> pg_backend_pid()
GROUP BY 1
"""

# Cumulative since the statistics were last reset; the shared-objects row (datid 0) included.
DATABASE_STATISTICS = """
SELECT sum(xact_commit) AS commits,
       sum(xact_rollback) AS rollbacks,
       sum(deadlocks) AS deadlocks,
       sum(blks_hit) AS blocks_hit,
       sum(blks_read) AS blocks_read
FROM pg_stat_database
"""

CATALOG_SIZES = """
SELECT datname AS catalog,
       pg_database_size(oid) AS size_bytes
FROM pg_database
WHERE datallowconn
  AND NOT datistemplate
ORDER BY datname
"""

# On a primary: one row per streaming standby. On a standby: its own replay lag ("local"); it
# is 0 while everything received is replayed (an idle primary sends nothing to replay).
REPLICATION = """
SELECT application_name AS replica,
       coalesce(extract(epoch FROM replay_lag), 0) AS lag_seconds,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                            ELSE pg_current_wal_lsn() END,
                       replay_lsn) AS lag_bytes
FROM pg_stat_replication
WHERE replay_lsn IS NOT NULL
UNION ALL
SELECT 'local' AS replica,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)
       END AS lag_seconds,
       coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0) AS lag_bytes
WHERE pg_is_in_recovery()
"""

WAL_ARCHIVER = """
SELECT archived_count,
       failed_count,
       extract(epoch FROM clock_timestamp() - last_archived_time) AS last_archived_age_seconds
FROM pg_stat_archiver
"""


def server_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    row = rows[0]
    yield metrics.INFO(1, database=ctx.database, engine=ctx.engine, version=str(row["version"]))
    yield metrics.CONNECTIONS(number(row["connections"]), database=ctx.database)
    yield metrics.CONNECTIONS_MAX(number(row["max_connections"]), database=ctx.database)


def sessions_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    yield from session_samples(rows, ctx)
    yield longest_transaction_sample(rows, ctx)


def statistics_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    row = rows[0]
    commits, rollbacks = number(row["commits"]), number(row["rollbacks"])
    yield metrics.COMMITS(commits, database=ctx.database)
    yield metrics.ROLLBACKS(rollbacks, database=ctx.database)
    yield metrics.TRANSACTIONS(commits + rollbacks, database=ctx.database)
    yield metrics.DEADLOCKS(number(row["deadlocks"]), database=ctx.database)
    hit, read = number(row["blocks_hit"]), number(row["blocks_read"])
    if hit + read > 0:
        yield metrics.CACHE_HIT_RATIO(round(hit / (hit + read), 6), database=ctx.database)


def size_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    for row in rows:
        yield metrics.SIZE(number(row["size_bytes"]), database=ctx.database, catalog=row["catalog"],
                           kind="data")


def replication_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    for row in rows:
        replica = str(row["replica"] or "?")
        yield metrics.REPLICATION_LAG(round(number(row["lag_seconds"]), 3), database=ctx.database,
                                      replica=replica)
        yield metrics.REPLICATION_LAG_BYTES(number(row["lag_bytes"]), database=ctx.database,
                                            replica=replica)


def archiver_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    """The failure counter always; the archive age once WAL was ever archived (archive_mode on)."""
    row = rows[0]
    yield metrics.ARCHIVE_FAILURES(number(row["failed_count"]), database=ctx.database)
    age = number(row["last_archived_age_seconds"], None)
    if age is not None:
        yield metrics.BACKUP_AGE(round(age + ctx.elapsed, 3), database=ctx.database,
                                 catalog=metrics.ALL_CATALOGS, type="wal_archive")


STEPS = (
    Step("server", SERVER, server_samples),
    Step("sessions", SESSIONS, sessions_samples),
    Step("statistics", DATABASE_STATISTICS, statistics_samples),
    Step("sizes", CATALOG_SIZES, size_samples, refresh=300.0, max_rows=2000),
    Step("replication", REPLICATION, replication_samples, max_rows=100),
    Step("wal archive", WAL_ARCHIVER, archiver_samples),
)
