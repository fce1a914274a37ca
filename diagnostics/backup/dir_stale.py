"""backup.dir_stale: a ``backup_dirs`` folder whose newest file is older than the target's rpo,
or which is empty, missing or unreadable.

Reads the folders on this host (bounded depth and count, see collectors/database/backup_files);
ages are now minus the file's modification time, in total seconds.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Iterator

from l4agent.collectors.database.backup_files import newest_file
from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import age


class BackupDirStale(Check):
    id = "backup.dir_stale"
    engines = frozenset({"mssql", "postgresql", "mysql"})
    title = "backup_dirs folders whose newest file is older than rpo, or that are empty or missing"
    queries = {}
    defaults = {"critical_multiple": 2.0}  # older than this many RPOs: critical
    max_rows = 0

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        rpo = ctx.target.rpo
        ctx.examined("backup_dirs", len(ctx.target.backup_dirs))
        for directory in ctx.target.backup_dirs:
            try:
                newest = newest_file(directory)
            except OSError as exc:
                missing = exc.errno == errno.ENOENT
                yield self.finding(
                    ctx, "critical" if missing else "warning", directory,
                    f"backup folder {'does not exist' if missing else 'cannot be read'}: {exc.strerror}",
                    "mount or create the backup folder and check the backup job writes there" if missing else
                    "let the agent's user read the backup folder (e.g. group read access) so its age can be checked",
                    error=exc.strerror, rpo_seconds=rpo,
                )
                continue
            if newest is None:
                yield self.finding(
                    ctx, "critical", directory, "backup folder is empty: no backup file in it",
                    "check that the backup job runs and writes into this folder (and that cleanup does not delete "
                    "everything)", rpo_seconds=rpo,
                )
                continue
            file_age = time.time() - newest.mtime
            if file_age <= rpo:
                continue
            severity = "critical" if file_age > number(ctx.options["critical_multiple"]) * rpo else "warning"
            yield self.finding(
                ctx, severity, directory,
                f"newest backup file is {age(file_age)} old, older than the RPO of {age(rpo)}: {newest.path}",
                "find out why the backup job stopped writing here (job log, free space on the target, mount) "
                "and take a backup now",
                newest_file=newest.path, newest_file_age_seconds=round(file_age), newest_file_bytes=newest.size,
                rpo_seconds=rpo,
            )
