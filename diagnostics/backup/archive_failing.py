"""backup.archive_failing (PostgreSQL): WAL archiving fails.

``pg_stat_archiver``'s last failure is newer than its last success (or there was never a
success). Until the archive_command works again, segments pile up in pg_wal (the disk fills)
and point-in-time recovery stops at the last archived segment.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.core.redact import redact
from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import age, first_line

POSTGRESQL_ARCHIVER = """
SELECT current_setting('archive_mode') AS archive_mode, current_setting('archive_command') AS archive_command,
       a.archived_count, a.last_archived_wal, a.last_archived_time,
       a.failed_count, a.last_failed_wal, a.last_failed_time,
       EXTRACT(EPOCH FROM now() - a.last_failed_time) AS failed_age_seconds,
       EXTRACT(EPOCH FROM a.last_failed_time - a.last_archived_time) AS failure_after_success_seconds,
       (SELECT count(*) FROM pg_ls_archive_statusdir() AS s WHERE s.name LIKE '%.ready') AS ready_count
FROM pg_stat_archiver AS a
"""


class ArchiveFailing(Check):
    id = "backup.archive_failing"
    engines = frozenset({"postgresql"})
    title = "WAL archiving failing: last archiver failure newer than its last success"
    queries = {"postgresql": {"archiver": POSTGRESQL_ARCHIVER}}
    defaults = {}
    max_rows = 1

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = ctx.query(self, "archiver")
        if not rows or rows[0]["last_failed_time"] is None:
            return
        row = rows[0]
        after_success = row["failure_after_success_seconds"]
        if row["last_archived_time"] is not None and number(after_success) <= 0:
            return  # it failed once, then succeeded again
        ready = int(number(row["ready_count"]))
        success = ("it has never succeeded" if row["last_archived_time"] is None
                   else f"the last success ({row['last_archived_wal']}) was {age(number(after_success))} before")
        yield self.finding(
            ctx, "critical", "pg_stat_archiver",
            f"WAL archiving is failing: {row['failed_count']} failure(s), the last {age(number(row['failed_age_seconds']))} "
            f"ago on {row['last_failed_wal']}; {success}; {ready} segment(s) waiting",
            "read the server log for the archive_command's error and fix the destination (space, mount, "
            "permissions, credentials); pg_wal grows until archiving works again, and point-in-time recovery "
            "stops at the last archived segment",
            archive_mode=row["archive_mode"], archive_command=redact(first_line(row["archive_command"], 300)),
            failed_count=row["failed_count"], last_failed_wal=row["last_failed_wal"],
            last_failed_time=row["last_failed_time"], archived_count=row["archived_count"],
            last_archived_wal=row["last_archived_wal"], last_archived_time=row["last_archived_time"],
            ready_count=ready,
        )
