"""MariaDB (and MySQL): the database collector's statements and what their rows become.

The account needs PROCESS (every session, InnoDB transactions and tablespaces) and SELECT on
performance_schema; global status and variables need no grant. Replication lag needs
SLAVE MONITOR as well and is read only on a server where replication threads run.
Catalog sizes are InnoDB file-per-table tablespaces (the default); tables in the system
tablespace or in Aria/MyISAM files are not counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from l4agent.collectors.database import metrics
from l4agent.collectors.database.steps import (
    Rows,
    Step,
    StepContext,
    longest_transaction_sample,
    session_samples,
)
from l4agent.core.redact import redact
from l4agent.core.samples import Sample
from l4agent.dbaccess.values import number

SERVER = """
SELECT VERSION() AS version,
       @@GLOBAL.max_connections AS max_connections
"""

# Cumulative since start-up. Handler_commit/_rollback count the storage engines' commit and
# rollback requests, autocommitted statements included (MariaDB keeps no transaction count).
GLOBAL_STATUS = """
SELECT LOWER(variable_name) AS name,
       variable_value AS value
FROM information_schema.global_status
WHERE variable_name IN ('THREADS_CONNECTED', 'INNODB_DEADLOCKS', 'HANDLER_COMMIT', 'HANDLER_ROLLBACK',
                        'INNODB_BUFFER_POOL_READS', 'INNODB_BUFFER_POOL_READ_REQUESTS', 'SLAVES_RUNNING',
                        'SLOW_QUERIES', 'CREATED_TMP_TABLES', 'CREATED_TMP_DISK_TABLES',
                        'INNODB_HISTORY_LIST_LENGTH', 'MAX_USED_CONNECTIONS')
"""

# Blocked = an InnoDB row-lock wait, or a wait for a table, metadata or global lock.
SESSIONS = """
SELECT CASE
         WHEN p.command = 'Sleep' AND t.trx_id IS NOT NULL THEN 'idle_in_transaction'
         WHEN p.command = 'Sleep' THEN 'idle'
         WHEN p.command IN ('Query', 'Execute', 'Fetch', 'Prepare', 'Long Data') THEN 'active'
         ELSE 'other'
       END AS state,
       COUNT(*) AS sessions,
       SUM(CASE WHEN t.trx_state = 'LOCK WAIT' OR p.state LIKE 'Waiting for % lock' THEN 1 ELSE 0 END) AS blocked,
       COALESCE(MAX(TIMESTAMPDIFF(SECOND, t.trx_started, NOW())), 0) AS longest_transaction_seconds
FROM information_schema.processlist AS p
LEFT JOIN information_schema.innodb_trx AS t ON t.trx_mysql_thread_id = p.id
WHERE p.id <> CONNECTION_ID()
  AND p.command NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID', 'Slave_IO', 'Slave_SQL', 'Slave_worker')
GROUP BY 1
"""

# Tablespace names are "catalog/table" in the server's file-name encoding ("my@002ddb" = "my-db").
CATALOG_SIZES = """
SELECT SUBSTRING_INDEX(name, '/', 1) AS catalog,
       SUM(file_size) AS size_bytes
FROM information_schema.innodb_sys_tablespaces
WHERE name LIKE '%/%'
GROUP BY SUBSTRING_INDEX(name, '/', 1)
ORDER BY 1
"""

REPLICATION = "SHOW ALL SLAVES STATUS"
# MySQL has no SHOW ALL SLAVES STATUS; SHOW REPLICA STATUS (8.0.22+) names its columns Replica_*/Source_*.
REPLICATION_MYSQL = "SHOW REPLICA STATUS"


def server_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    row = rows[0]
    ctx.facts["mariadb"] = "mariadb" in str(row["version"]).lower()
    yield metrics.INFO(1, database=ctx.database, engine=ctx.engine, version=str(row["version"]))
    yield metrics.CONNECTIONS_MAX(number(row["max_connections"]), database=ctx.database)


def status_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    status = {str(row["name"]).lower(): number(row["value"], None) for row in rows}
    ctx.facts["replicas_running"] = status.get("slaves_running") or 0
    commits, rollbacks = status.get("handler_commit"), status.get("handler_rollback")
    if status.get("threads_connected") is not None:
        yield metrics.CONNECTIONS(status["threads_connected"], database=ctx.database)
    if status.get("innodb_deadlocks") is not None:
        yield metrics.DEADLOCKS(status["innodb_deadlocks"], database=ctx.database)
    if commits is not None and rollbacks is not None:
        yield metrics.COMMITS(commits, database=ctx.database)
        yield metrics.ROLLBACKS(rollbacks, database=ctx.database)
        yield metrics.TRANSACTIONS(commits + rollbacks, database=ctx.database)
    for name, spec in (("slow_queries", metrics.SLOW_QUERIES), ("created_tmp_tables", metrics.TMP_TABLES),
                       ("created_tmp_disk_tables", metrics.TMP_DISK_TABLES),
                       ("innodb_history_list_length", metrics.INNODB_HISTORY_LENGTH),
                       ("max_used_connections", metrics.CONNECTIONS_MAX_USED)):
        if status.get(name) is not None:
            yield spec(status[name], database=ctx.database)
    requests, disk_reads = status.get("innodb_buffer_pool_read_requests"), status.get("innodb_buffer_pool_reads")
    if requests and disk_reads is not None:
        yield metrics.CACHE_HIT_RATIO(round(max(0.0, 1 - disk_reads / requests), 6), database=ctx.database)


def sessions_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    yield from session_samples(rows, ctx)
    yield longest_transaction_sample(rows, ctx)


def decode_file_name(name: str) -> str:
    """MariaDB's file-name encoding back to the catalog name: "@002d" is "-", "@0040" is "@"."""
    return re.sub(r"@([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), name)


def size_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    for row in rows:
        yield metrics.SIZE(number(row["size_bytes"]), database=ctx.database,
                           catalog=decode_file_name(str(row["catalog"])), kind="data")


# Per catalog: the fullest auto_increment column against its type's maximum. AUTO_INCREMENT is
# the next value to hand out. Reading it opens each table (no cheaper source exists in MariaDB),
# so it runs on a slow cadence. The account sees only columns it holds some privilege on
# (REFERENCES on *.* or on the schema is enough and reads no data; SHOW VIEW shows tables only).
IDENTITY_USAGE = """
SELECT c.TABLE_SCHEMA AS catalog,
       MAX((t.AUTO_INCREMENT - 1) * 1e0 /
           CASE WHEN c.COLUMN_TYPE LIKE '%unsigned%' THEN
             CASE c.DATA_TYPE WHEN 'tinyint' THEN 255 WHEN 'smallint' THEN 65535
                              WHEN 'mediumint' THEN 16777215 WHEN 'int' THEN 4294967295
                              ELSE 18446744073709551615 END
           ELSE
             CASE c.DATA_TYPE WHEN 'tinyint' THEN 127 WHEN 'smallint' THEN 32767
                              WHEN 'mediumint' THEN 8388607 WHEN 'int' THEN 2147483647
                              ELSE 9223372036854775807 END
           END) AS usage_ratio,
       COUNT(*) AS columns
FROM information_schema.COLUMNS AS c
JOIN information_schema.TABLES AS t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.EXTRA LIKE '%auto_increment%'
  AND t.AUTO_INCREMENT IS NOT NULL
  AND c.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
GROUP BY c.TABLE_SCHEMA
ORDER BY c.TABLE_SCHEMA
"""

THREADS = (("io", "slave_io_running", "last_io_errno", "last_io_error"),
           ("sql", "slave_sql_running", "last_sql_errno", "last_sql_error"))


def replica_name(row: dict) -> str:
    return str(row.get("connection_name") or row.get("channel_name") or "default")


def clean_error(text: object, limit: int = 200) -> str:
    """A replication error as a label value: first line, no control characters, no secret."""
    line = str(text or "").splitlines()[0] if text else ""
    line = "".join(ch if ch.isprintable() else " " for ch in line)
    return redact(line)[:limit]


def replica_row(row: dict) -> dict:
    """A row of SHOW REPLICA STATUS (MySQL) under the names of SHOW ALL SLAVES STATUS (MariaDB)."""
    renamed = {}
    for key, value in row.items():
        key = key.replace("replica_", "slave_").replace("source_", "master_").replace("_behind_source", "_behind_master")
        renamed[key] = value
    return renamed


def replication_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    """One row per replication source (SHOW ALL SLAVES STATUS), also when stopped: each thread's
    state (1 only for "Yes": "Connecting" is not running) and last error; lag only while known."""
    for row in map(replica_row, rows):
        replica = replica_name(row)
        for thread, running_key, errno_key, error_key in THREADS:
            labels = {"database": ctx.database, "replica": replica, "thread": thread}
            running = str(row.get(running_key) or "").strip().lower() == "yes"
            yield metrics.REPLICA_RUNNING(1.0 if running else 0.0, **labels)
            errno = int(number(row.get(errno_key)))
            yield metrics.REPLICA_LAST_ERROR(1, **labels, errno=str(errno),
                                             error=clean_error(row.get(error_key)) if errno else "")
        lag = number(row.get("seconds_behind_master"), None)
        if lag is not None:
            yield metrics.REPLICATION_LAG(lag, database=ctx.database, replica=replica)


def identity_samples(rows: Rows, ctx: StepContext) -> Iterator[Sample]:
    for row in rows:
        yield metrics.IDENTITY_USAGE_RATIO(round(number(row["usage_ratio"]), 9), database=ctx.database,
                                           catalog=decode_file_name(str(row["catalog"])))


STEPS = (
    Step("server", SERVER, server_samples),
    Step("status", GLOBAL_STATUS, status_samples),
    Step("sessions", SESSIONS, sessions_samples),
    Step("sizes", CATALOG_SIZES, size_samples, refresh=300.0, max_rows=2000),
    # Every round, running or not: a stopped replica must still report replica_running 0.
    Step("replication", REPLICATION, replication_samples, max_rows=100,
         applies=lambda facts: facts.get("mariadb", True)),
    Step("replication", REPLICATION_MYSQL, replication_samples, max_rows=100,
         applies=lambda facts: not facts.get("mariadb", True)),
    Step("identity usage", IDENTITY_USAGE, identity_samples, refresh=3600.0, max_rows=2000),
)
