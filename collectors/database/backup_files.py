"""File backups in ``backup_dirs``: the newest file of a folder, bounded in depth and count.

Shared by the database collector (``l4agent_backup_age_seconds{type="file"}``) and the
backup checks (``backup.dir_stale``, ``backup.same_volume``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class BackupFile:
    path: str
    mtime: float  # seconds since the epoch
    size: int  # bytes


def newest_file(directory: str, max_depth: int = 3, max_entries: int = 100_000) -> BackupFile | None:
    """The most recently modified regular file under ``directory`` (None when there is none).

    Walks at most ``max_depth`` levels and ``max_entries`` entries so a huge folder cannot stall a
    collection; symlinks are not followed. Raises OSError when ``directory`` cannot be read.
    """
    newest: BackupFile | None = None
    seen = 0
    pending = [(directory, 0)]
    first = True
    while pending:
        path, depth = pending.pop()
        try:
            entries = os.scandir(path)
        except OSError:
            if first:
                raise
            continue
        first = False
        with entries:
            for entry in entries:
                seen += 1
                if seen > max_entries:
                    return newest
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if depth + 1 < max_depth:
                            pending.append((entry.path, depth + 1))
                    elif entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        if newest is None or st.st_mtime > newest.mtime:
                            newest = BackupFile(entry.path, st.st_mtime, st.st_size)
                except OSError:
                    continue
    return newest
