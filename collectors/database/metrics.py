"""The database collector's metrics, declared once for all three engines.

Every series carries ``database`` (the ``[[databases]]`` target name). Cumulative engine counters
(since the server started or its statistics were reset) are counters, point-in-time values are
gauges. ``catalog`` is a database inside the server (an ERP company or period catalog);
``catalog="*"`` marks a server-wide value (WAL archive, backup folder).
"""

from __future__ import annotations

from l4agent.core.samples import counter, gauge

ALL_CATALOGS = "*"

UP = gauge("l4agent_database_up", "1 when the target answered this round, else 0.")
INFO = gauge("l4agent_database_info", "Server version of the target; the value is always 1.")
SESSIONS = gauge("l4agent_database_sessions",
                 "User sessions by state: active, idle, idle_in_transaction, other (the agent's own excluded).")
ACTIVE_SESSIONS = gauge("l4agent_database_active_sessions",
                        "User sessions running a statement now (the agent's own excluded).")
BLOCKED_SESSIONS = gauge("l4agent_database_blocked_sessions", "User sessions waiting on a lock held by another.")
LONGEST_TRANSACTION = gauge("l4agent_database_longest_transaction_seconds",
                            "Age of the oldest open user transaction in seconds (0 when none).")
CONNECTIONS = gauge("l4agent_database_connections", "Client connections open now.")
CONNECTIONS_MAX = gauge("l4agent_database_connections_max", "The server's connection limit.")
SIZE = gauge("l4agent_database_size_bytes",
             "Size of a catalog in bytes; kind=data|log where the engine keeps them apart (sum by catalog "
             "for the total).")
CACHE_HIT_RATIO = gauge("l4agent_database_cache_hit_ratio",
                        "Share of page reads served from the buffer cache (0..1).")
DEADLOCKS = counter("l4agent_database_deadlocks_total", "Deadlocks since the server started.")
TRANSACTIONS = counter("l4agent_database_transactions_total", "Transactions since the server started.")
COMMITS = counter("l4agent_database_commits_total", "Committed transactions since the server started.")
ROLLBACKS = counter("l4agent_database_rollbacks_total", "Rolled-back transactions since the server started.")
REPLICATION_LAG = gauge("l4agent_database_replication_lag_seconds",
                        "How far a replica's replayed data is behind its primary, in seconds.")
REPLICATION_LAG_BYTES = gauge("l4agent_database_replication_lag_bytes",
                              "Write-ahead/transaction log not yet replayed on a replica, in bytes.")
BACKUP_AGE = gauge("l4agent_backup_age_seconds",
                   "Seconds since the newest backup of this type finished (full, diff, full_or_diff, log, "
                   "wal_archive, file).")
BACKUP_COPY_ONLY = gauge("l4agent_backup_copy_only",
                         "1 when the newest backup of this type is COPY_ONLY (outside the backup chain).")
BACKUP_MISSING = gauge("l4agent_backup_missing", "1 for an online catalog with no full backup on record.")
BACKUP_PREFERRED_REPLICA = gauge("l4agent_backup_preferred_replica",
                                 "Availability-group catalogs: 1 when this replica is the preferred backup "
                                 "replica (backup ages are reported there only).")
ARCHIVE_FAILURES = counter("l4agent_backup_archive_failures_total",
                           "Failed WAL archive attempts since the statistics were reset.")

# -- outage signals (issue 19): per target, catalog, slot or thread, never per table ----------
XID_AGE = gauge("l4agent_database_xid_age",
                "PostgreSQL: age in transactions of the catalog's oldest unfrozen XID (datfrozenxid); "
                "wraparound shutdown at 2^31, autovacuum forced at autovacuum_freeze_max_age.")
MULTIXACT_AGE = gauge("l4agent_database_multixact_age",
                      "PostgreSQL: age of the catalog's oldest multixact ID (datminmxid).")
SLOT_RETAINED_BYTES = gauge("l4agent_database_replication_slot_retained_bytes",
                            "PostgreSQL: WAL bytes a replication slot keeps on disk (current LSN - restart_lsn).")
SLOT_ACTIVE = gauge("l4agent_database_replication_slot_active",
                    "PostgreSQL: 1 when a consumer is connected to the replication slot.")
TEMP_BYTES = counter("l4agent_database_temp_bytes_total",
                     "PostgreSQL: bytes written to temporary files by queries (work_mem spills).")
CHECKPOINTS = counter("l4agent_database_checkpoints_total",
                      "PostgreSQL: checkpoints by kind (timed by checkpoint_timeout, requested by WAL volume "
                      "or a command).")
WAL_BYTES = counter("l4agent_database_wal_bytes_total", "PostgreSQL: write-ahead log generated, in bytes.")
REPLICA_RUNNING = gauge("l4agent_database_replica_running",
                        "MariaDB replica: 1 when the replication thread (io, sql) runs, 0 when stopped or "
                        "still connecting; present while the server is configured as a replica.")
REPLICA_LAST_ERROR = gauge("l4agent_database_replica_last_error_info",
                           "MariaDB replica: the thread's last error number (errno label, 0 = none); always 1.")
SLOW_QUERIES = counter("l4agent_database_slow_queries_total",
                       "MariaDB: statements that took longer than long_query_time.")
TMP_TABLES = counter("l4agent_database_tmp_tables_total", "MariaDB: internal temporary tables created.")
TMP_DISK_TABLES = counter("l4agent_database_tmp_disk_tables_total",
                          "MariaDB: internal temporary tables created on disk (too big for tmp_table_size).")
INNODB_HISTORY_LENGTH = gauge("l4agent_database_innodb_history_length",
                              "MariaDB: undo log records not yet purged (grows behind long transactions).")
CONNECTIONS_MAX_USED = gauge("l4agent_database_connections_max_used",
                             "The most connections open at once since the server started.")
LAST_CHECKDB_AGE = gauge("l4agent_database_last_checkdb_age_seconds",
                         "SQL Server: seconds since the last DBCC CHECKDB without errors (since the catalog "
                         "was created when it never ran).")
LOG_REUSE_WAIT = gauge("l4agent_database_log_reuse_wait",
                       "SQL Server: 1 for what the transaction log waits on before it can be reused "
                       "(log_reuse_wait_desc, lower case).")
IDENTITY_USAGE_RATIO = gauge("l4agent_database_identity_usage_ratio",
                             "The fullest sequence / auto_increment / identity of the catalog against its "
                             "column type's maximum (0..1).")
