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
