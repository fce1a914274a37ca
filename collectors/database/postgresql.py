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
from l4agent.core.samples import Problem, Sample
from l4agent.dbaccess.values import number, truthy

SERVER = """
SELECT current_setting('server_version') AS version,
       current_setting('server_version_num')::int AS version_num,
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
    ctx.facts["version_num"] = int(number(row.get("version_num")))
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
    ctx.facts["catalogs"] = [str(row["catalog"]) for row in rows]
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


# -- outage signals ------------------------------------------------------------------------

# Every catalog, template0 too (it ages like the others; autovacuum freezes it).
XID_AGE = """
SELECT datname AS catalog,
       age(datfrozenxid) AS xid_age,
       mxid_age(datminmxid) AS multixact_age
FROM pg_database
ORDER BY datname
"""

# On a standby pg_current_wal_lsn() raises: the received position stands in for it there.
# retained_bytes is NULL for a slot that never reserved WAL (restart_lsn NULL).
REPLICATION_SLOTS = """
SELECT slot_name, slot_type, database, active,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                            ELSE pg_current_wal_lsn() END,
                       restart_lsn)::bigint AS retained_bytes,
       wal_status,
       age(xmin) AS xmin_age,
       age(catalog_xmin) AS catalog_xmin_age
FROM pg_replication_slots
ORDER BY slot_name
"""

TEMP_BYTES = """
SELECT coalesce(sum(temp_bytes), 0) AS temp_bytes
FROM pg_stat_database
"""

# PostgreSQL 17 moved the checkpoint counters to pg_stat_checkpointer.
CHECKPOINTS = """
SELECT checkpoints_timed AS timed, checkpoints_req AS requested
FROM pg_stat_bgwriter
"""

CHECKPOINTS_17 = """
SELECT num_timed AS timed, num_requested AS requested
FROM pg_stat_checkpointer
"""

# pg_stat_wal exists since PostgreSQL 14.
WAL_BYTES = """
SELECT wal_bytes::bigint AS wal_bytes
FROM pg_stat_wal
"""

# Per catalog (sequences live in a database): every sequence with the limit it really has, the
# smaller of its own maximum and the maximum of the column it feeds (a bigint sequence behind
# an int4 key fails at 2^31-1). last_value is NULL without SELECT or USAGE on the sequence, and
# for a sequence never used. Descending sequences count against their minimum.
SEQUENCES = """
WITH s AS (
  SELECT ps.schemaname, ps.sequencename, ps.data_type::text AS sequence_type,
         ps.last_value, ps.min_value, ps.max_value, ps.increment_by, ps.cycle,
         has_sequence_privilege(c.oid, 'SELECT') OR has_sequence_privilege(c.oid, 'USAGE') AS readable,
         d.refobjid::regclass::text AS table_name, tn.nspname AS table_schema, tc.relname AS table_relname,
         a.attname AS column_name,
         format_type(a.atttypid, NULL) AS column_type,
         CASE a.atttypid WHEN 'int2'::regtype THEN 32767
                         WHEN 'int4'::regtype THEN 2147483647
                         ELSE 9223372036854775807 END AS column_max
  FROM pg_sequences ps
  JOIN pg_class c ON c.relname = ps.sequencename
                 AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = ps.schemaname)
  LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
  LEFT JOIN pg_class tc ON tc.oid = d.refobjid
  LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
)
SELECT schemaname, sequencename, sequence_type, table_name, table_schema, table_relname, column_name, column_type,
       cycle, readable,
       last_value, increment_by,
       CASE WHEN increment_by > 0 THEN least(max_value, column_max)
            ELSE greatest(min_value, -column_max - 1) END AS effective_limit,
       CASE WHEN last_value IS NULL THEN NULL
            WHEN increment_by > 0 THEN last_value::numeric / least(max_value, column_max)
            ELSE last_value::numeric / greatest(min_value, -column_max - 1) END::float8 AS usage_ratio
FROM s
ORDER BY usage_ratio DESC NULLS LAST, schemaname, sequencename
"""

# The collector's per-catalog summary of SEQUENCES: the fullest one, and how many it could not read.
IDENTITY_USAGE = (  # a constant built from constants
    "SELECT max(usage_ratio) AS usage_ratio, count(*) AS sequences,\n"  # nosec B608
    "       count(*) FILTER (WHERE NOT readable) AS unreadable\n"
    "FROM (" + SEQUENCES.strip() + ") AS q\n"
)


def xid_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    for row in rows:
        labels = {"database": ctx.database, "catalog": str(row["catalog"])}
        yield metrics.XID_AGE(number(row["xid_age"]), **labels)
        yield metrics.MULTIXACT_AGE(number(row["multixact_age"]), **labels)


def slot_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    for row in rows:
        labels = {"database": ctx.database, "slot": str(row["slot_name"])}
        yield metrics.SLOT_ACTIVE(1.0 if truthy(row["active"]) else 0.0, **labels)
        retained = number(row["retained_bytes"], None)
        if retained is not None:
            yield metrics.SLOT_RETAINED_BYTES(max(0.0, retained), **labels)


def temp_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    yield metrics.TEMP_BYTES(number(rows[0]["temp_bytes"]), database=ctx.database)


def checkpoint_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    for kind in ("timed", "requested"):
        yield metrics.CHECKPOINTS(number(rows[0][kind]), database=ctx.database, kind=kind)


def wal_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    yield metrics.WAL_BYTES(number(rows[0]["wal_bytes"]), database=ctx.database)


def identity_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample | Problem]:
    """One row per catalog (the collector adds ``catalog``)."""
    for row in rows:
        catalog = str(row["catalog"])
        if number(row["sequences"]) == 0:
            continue
        yield metrics.IDENTITY_USAGE_RATIO(round(number(row["usage_ratio"]), 9), database=ctx.database,
                                           catalog=catalog)
        unreadable = int(number(row["unreadable"]))
        if unreadable:
            yield Problem(f"database {ctx.database!r}: identity usage: {unreadable} sequence(s) in catalog "
                          f"{catalog!r} not readable (GRANT SELECT ON ALL SEQUENCES IN SCHEMA ... TO the "
                          "monitor role); the ratio leaves them out")


def _version_at_least(version: int, below: int | None = None):
    def applies(facts: dict) -> bool:
        have = facts.get("version_num", 0)
        return have >= version and (below is None or have < below)
    return applies


STEPS = (
    Step("server", SERVER, server_samples),
    Step("sessions", SESSIONS, sessions_samples),
    Step("statistics", DATABASE_STATISTICS, statistics_samples),
    Step("sizes", CATALOG_SIZES, size_samples, refresh=300.0, max_rows=2000),
    Step("replication", REPLICATION, replication_samples, max_rows=100),
    Step("wal archive", WAL_ARCHIVER, archiver_samples),
    Step("xid age", XID_AGE, xid_samples, max_rows=2000),
    Step("replication slots", REPLICATION_SLOTS, slot_samples, max_rows=200),
    Step("temp bytes", TEMP_BYTES, temp_samples),
    Step("checkpoints", CHECKPOINTS, checkpoint_samples, applies=_version_at_least(0, 170000)),
    Step("checkpoints", CHECKPOINTS_17, checkpoint_samples, applies=_version_at_least(170000)),
    Step("wal", WAL_BYTES, wal_samples, applies=_version_at_least(140000)),
    Step("identity usage", IDENTITY_USAGE, identity_samples, refresh=900.0, per_catalog=True),
)
