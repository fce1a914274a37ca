"""Opening a SQLite file that several processes may open for the first time at once.

Two gaps in SQLite's own waiting make a first open racy:

- ``PRAGMA journal_mode = WAL`` on a file another connection is converting (or creating) can
  fail with "database is locked" at once: SQLite does not call the busy handler there.
  :func:`enable_wal` retries it until the busy timeout.
- A file created by ``sqlite3.connect`` gets the process umask (0644 outside systemd):
  :func:`create_private` creates it 0600 first, whatever the umask.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import time


def is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def create_private(path: str | os.PathLike) -> bool:
    """Create ``path`` empty with mode 0600 unless it exists; True when this call created it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)  # os.open's mode is filtered by the umask; 0600 only ever narrows it
    return True


def retry_locked(statement, timeout: float):
    """Run ``statement()`` again while it fails with "database is locked", up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return statement()
        except sqlite3.OperationalError as exc:
            if not is_locked(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(random.uniform(0.005, 0.03))


def enable_wal(conn: sqlite3.Connection, timeout: float) -> str:
    """Switch ``conn``'s file to WAL, waiting out other openers; returns the journal mode."""
    return str(retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone()[0], timeout))
