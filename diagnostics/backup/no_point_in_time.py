"""backup.no_point_in_time: backups exist, but nothing lets a restore reach a point after them.

MariaDB: the binary log is off (log_bin=0): a restore ends at the last dump, every change since is
lost. PostgreSQL: a primary with archive_mode off (or archive_command empty): no WAL archive, so
base backups cannot be rolled forward. SQL Server's equivalent (FULL recovery without log
backups) is backup.no_log_backup; SIMPLE recovery is reported there by the backup checks.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import truthy

MYSQL_BINLOG = """
SELECT @@log_bin AS log_bin, @@binlog_format AS binlog_format, @@expire_logs_days AS expire_logs_days
"""

POSTGRESQL_ARCHIVING = """
SELECT current_setting('archive_mode') AS archive_mode, current_setting('archive_command') <> '' AS has_command,
       current_setting('wal_level') AS wal_level, pg_is_in_recovery() AS in_recovery
"""


class NoPointInTime(Check):
    id = "backup.no_point_in_time"
    engines = frozenset({"mysql", "postgresql"})
    title = "No binary log / WAL archive: restores end at the last full backup"
    queries = {"mysql": {"binlog": MYSQL_BINLOG}, "postgresql": {"archiving": POSTGRESQL_ARCHIVING}}
    defaults = {}
    max_rows = 1

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        if ctx.engine == "mysql":
            rows = ctx.query(self, "binlog")
            if not rows:
                return
            row = rows[0]
            ctx.examined("settings", 1)
            if truthy(row["log_bin"]):
                return
            yield self.finding(
                ctx, "warning", "log_bin",
                "the binary log is off: a restore ends at the last backup, every change since is lost",
                "enable log_bin (and server_id, binlog_format=ROW, expire_logs_days ≥ the backup interval) in the "
                "server config (restart), and keep the binlogs with the backups",
                log_bin=False,
            )
            return
        rows = ctx.query(self, "archiving")
        if not rows:
            return
        row = rows[0]
        ctx.examined("settings", 1)
        if truthy(row["in_recovery"]):
            return  # a standby: its primary archives
        mode = str(row["archive_mode"]).lower()
        if mode in ("on", "always") and truthy(row["has_command"]):
            return
        yield self.finding(
            ctx, "warning", "archive_mode",
            f"WAL archiving is off (archive_mode {mode}"
            + ("" if truthy(row["has_command"]) else ", no archive_command") + "): base backups cannot be rolled "
            "forward to a point in time",
            "set archive_mode = on (restart) and an archive_command or archive_library (pgBackRest, WAL-G, "
            "barman) that stores WAL beside the base backups",
            archive_mode=mode, wal_level=row["wal_level"], has_archive_command=truthy(row["has_command"]),
        )
