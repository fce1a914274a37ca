"""The history ``serve`` keeps for the capacity forecasts: a few selected series, recorded at
most every few minutes into SQLite under ``state_dir`` and kept for a retention window.

Recorded from each snapshot (see RECORDED): filesystem size, free and used bytes per mountpoint,
and database size per target and catalog. The capacity checks read them back with
``points(metric, labels, since)`` and fit a line through them.

One file, ``history.sqlite`` (WAL mode, so a diagnose run can read while the daemon writes).
Timestamps are Unix seconds (UTC); values are the metric's base unit (bytes).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from l4agent.core.sqlitefile import create_private, enable_wal, retry_locked

if TYPE_CHECKING:
    from l4agent.core.snapshot import Snapshot

log = logging.getLogger(__name__)

HISTORY_FILE = "history.sqlite"
#: seconds between two recorded rounds (the collection interval is much shorter)
RECORD_INTERVAL = 300.0
#: seconds a point is kept
RETENTION = 90 * 86400.0
#: seconds between two deletions of expired points
PRUNE_INTERVAL = 3600.0

FS_SIZE = "l4agent_filesystem_size_bytes"
FS_FREE = "l4agent_filesystem_free_bytes"
FS_USED = "l4agent_filesystem_used_bytes"
DB_SIZE = "l4agent_database_size_bytes"

#: metric -> the labels that identify its series in the history (others are dropped)
RECORDED: Mapping[str, tuple[str, ...]] = {
    FS_SIZE: ("mountpoint",),
    FS_FREE: ("mountpoint",),
    DB_SIZE: ("database", "catalog"),
}
_FS_USED_RATIO = "l4agent_filesystem_used_ratio"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS series (
           id INTEGER PRIMARY KEY,
           metric TEXT NOT NULL,
           labels TEXT NOT NULL,  -- canonical JSON: sorted keys, no spaces
           UNIQUE (metric, labels))""",
    """CREATE TABLE IF NOT EXISTS points (
           series INTEGER NOT NULL REFERENCES series (id),
           ts REAL NOT NULL,      -- Unix seconds
           value REAL NOT NULL,
           PRIMARY KEY (series, ts)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS points_ts ON points (ts)",
)


def _labels_key(labels: Mapping[str, str]) -> str:
    return json.dumps({str(k): str(v) for k, v in labels.items()}, sort_keys=True, separators=(",", ":"))


class History:
    """The history file. Thread-safe; ``readonly`` opens an existing file without writing."""

    def __init__(self, path: str | os.PathLike, *, interval: float = RECORD_INTERVAL, retention: float = RETENTION,
                 readonly: bool = False):
        self.path = Path(path)
        self.interval = interval
        self.retention = retention
        self.readonly = readonly
        self._lock = threading.Lock()
        if readonly:
            self._db = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=5.0,
                                       check_same_thread=False)
        else:
            create_private(self.path)  # 0600 whatever the umask
            self._db = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False, isolation_level=None)
            # Several processes may open a new file at once: journal_mode does not wait by itself.
            enable_wal(self._db, 5.0)
            self._db.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                retry_locked(lambda statement=statement: self._db.execute(statement), 5.0)
        self._series_ids: dict[tuple[str, str], int] = {}
        self._last_round: float | None = None
        self._last_prune = 0.0
        self._last_error = 0.0

    @classmethod
    def in_state_dir(cls, state_dir: str | os.PathLike, **kwargs) -> History:
        """The history of ``state_dir``, creating the directory (0750) and file as needed."""
        directory = Path(state_dir)
        directory.mkdir(mode=0o750, parents=True, exist_ok=True)
        return cls(directory / HISTORY_FILE, **kwargs)

    @classmethod
    def existing(cls, state_dir: str | os.PathLike | None) -> History | None:
        """The history of ``state_dir`` for reading, or None when there is none (or it cannot be
        read: a diagnose run without access to the daemon's state_dir has no history)."""
        if not state_dir:
            return None
        path = Path(state_dir) / HISTORY_FILE
        if not path.is_file():
            return None
        try:
            history = cls(path, readonly=True)
            history.points(FS_FREE, {}, since=time.time())  # proves the file is readable
            return history
        except sqlite3.Error as exc:
            log.info("history %s not readable (%s): forecasts use samples taken during the run", path, exc)
            return None

    # -- writing ---------------------------------------------------------------------------

    def record(self, metric: str, labels: Mapping[str, str], value: float, ts: float | None = None) -> None:
        """Store one point now (no throttling): for snapshots use ``record_snapshot``."""
        self.record_many([(metric, labels, time.time() if ts is None else ts, value)])

    def record_many(self, points: Iterable[tuple[str, Mapping[str, str], float, float]]) -> int:
        """Store (metric, labels, ts, value) points in one transaction; returns how many."""
        count = 0
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for metric, labels, ts, value in points:
                    series = self._series_id(metric, _labels_key(labels))
                    self._db.execute("INSERT OR REPLACE INTO points (series, ts, value) VALUES (?, ?, ?)",
                                     (series, float(ts), float(value)))
                    count += 1
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return count

    def _series_id(self, metric: str, labels: str) -> int:
        key = (metric, labels)
        if key not in self._series_ids:
            self._db.execute("INSERT OR IGNORE INTO series (metric, labels) VALUES (?, ?)", key)
            self._series_ids[key] = self._db.execute(
                "SELECT id FROM series WHERE metric = ? AND labels = ?", key).fetchone()[0]
        return self._series_ids[key]

    def record_snapshot(self, snapshot: Snapshot) -> bool:
        """Store the RECORDED samples of ``snapshot`` unless a round was stored less than
        ``interval`` seconds before it; True when stored. Errors are logged, not raised (a full
        disk must not stop collection)."""
        ts = snapshot.collected_at.timestamp()
        if self._last_round is None:
            with self._lock:
                newest = self._db.execute("SELECT MAX(ts) FROM points").fetchone()[0]
            self._last_round = newest if newest is not None else float("-inf")
        if ts - self._last_round < self.interval:
            return False
        try:
            self.record_many(selected_points(snapshot))
            self._last_round = ts
            if ts - self._last_prune >= PRUNE_INTERVAL:
                self.prune(ts)
                self._last_prune = ts
            return True
        except sqlite3.Error as exc:
            if time.monotonic() - self._last_error >= self.interval or not self._last_error:
                log.warning("history %s: cannot record samples: %s", self.path, exc)
                self._last_error = time.monotonic()
            return False

    def prune(self, now: float | None = None) -> int:
        """Delete points older than the retention window; returns how many."""
        cutoff = (time.time() if now is None else now) - self.retention
        with self._lock:
            deleted = self._db.execute("DELETE FROM points WHERE ts < ?", (cutoff,)).rowcount
            self._db.execute("DELETE FROM series WHERE id NOT IN (SELECT DISTINCT series FROM points)")
            self._series_ids.clear()
        return deleted

    # -- reading ---------------------------------------------------------------------------

    def points(self, metric: str, labels: Mapping[str, str], since: float | None = None,
               until: float | None = None) -> list[tuple[float, float]]:
        """(ts, value) of the series ``metric``/``labels`` (exactly those labels), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT p.ts, p.value FROM points AS p JOIN series AS s ON s.id = p.series "
                "WHERE s.metric = ? AND s.labels = ? AND p.ts >= ? AND p.ts <= ? ORDER BY p.ts",
                (metric, _labels_key(labels), float("-inf") if since is None else since,
                 float("inf") if until is None else until)).fetchall()
        return [(ts, value) for ts, value in rows]

    def label_sets(self, metric: str) -> list[dict[str, str]]:
        """Every label set recorded for ``metric``."""
        with self._lock:
            rows = self._db.execute("SELECT labels FROM series WHERE metric = ? ORDER BY labels", (metric,)).fetchall()
        return [json.loads(labels) for (labels,) in rows]

    # -- service ---------------------------------------------------------------------------

    def start(self) -> None:
        """Nothing to start: recording happens in the collection thread."""

    def stop(self) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()


def selected_points(snapshot: Snapshot) -> list[tuple[str, dict[str, str], float, float]]:
    """The points of ``snapshot`` worth keeping: RECORDED metrics with their identifying labels,
    plus used bytes per filesystem (df's Used, from the used ratio and free bytes)."""
    ts = snapshot.collected_at.timestamp()
    # One pass to index free and size by mountpoint: a lookup per filesystem would make a host
    # with thousands of mounts cost thousands of scans of the whole snapshot.
    free_by_mount: dict[str, float] = {}
    size_by_mount: dict[str, float] = {}
    for sample in snapshot.samples:
        if sample.spec.name in (FS_FREE, FS_SIZE) and "mountpoint" in sample.labels:
            by_mount = free_by_mount if sample.spec.name == FS_FREE else size_by_mount
            by_mount.setdefault(sample.labels["mountpoint"], sample.value)
    points = []
    for sample in snapshot.samples:
        keep = RECORDED.get(sample.spec.name)
        if keep is not None and all(k in sample.labels for k in keep):
            points.append((sample.spec.name, {k: sample.labels[k] for k in keep}, ts, sample.value))
        elif sample.spec.name == _FS_USED_RATIO and "mountpoint" in sample.labels:
            mountpoint = sample.labels["mountpoint"]
            free = free_by_mount.get(mountpoint)
            if free is None:
                continue
            ratio = sample.value
            used = ratio * free / (1.0 - ratio) if ratio < 1.0 else size_by_mount.get(mountpoint, 0.0) - free
            points.append((FS_USED, {"mountpoint": mountpoint}, ts, used))
    return points
