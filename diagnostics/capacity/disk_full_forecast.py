"""capacity.disk_full_forecast: days until each local filesystem is full.

Why it matters: a full data or log volume stops the database and the application at once;
a trend seen weeks ahead is a planned change instead of an outage.

Logic: for each real filesystem (as the OS collector sees them), fit a line through its free
bytes (``l4agent_filesystem_free_bytes`` in the daemon's history, the last ``window``; never
samples taken during the run); days until full = free bytes now / bytes consumed per day. With
less than ``min_history`` of history, one info finding says so and nothing is forecast. Reported only inside ``horizon`` (30d); critical inside
``critical_within`` (7d). Options: see ``forecast.DEFAULTS``.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psutil

from l4agent.collectors.system import is_real_filesystem
from l4agent.core.history import FS_FREE, History
from l4agent.core.units import format_bytes
from l4agent.diagnostics.base import HOST, Check, CheckContext, Finding
from l4agent.diagnostics.capacity.forecast import DAY, DEFAULTS, Settings, forecast, too_little_history


@dataclass(frozen=True)
class Filesystem:
    mountpoint: str
    device: str
    fstype: str
    size: int  # bytes
    free: int  # bytes available to unprivileged users, as in l4agent_filesystem_free_bytes


def filesystems() -> dict[str, Filesystem]:
    """The real filesystems now, by mountpoint (the same ones the OS collector reports)."""
    found: dict[str, Filesystem] = {}
    for part in psutil.disk_partitions(all=True):
        if not is_real_filesystem(part.fstype, part.mountpoint) or part.mountpoint in found:
            continue
        try:
            st = os.statvfs(part.mountpoint)
        except OSError:
            continue
        if st.f_blocks:
            found[part.mountpoint] = Filesystem(part.mountpoint, part.device, part.fstype,
                                                st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize)
    return found


def free_bytes(mountpoints: list[str]) -> dict[str, float]:
    """Free bytes of ``mountpoints`` now (a vanished mount is left out)."""
    values = {}
    for mountpoint in mountpoints:
        try:
            st = os.statvfs(mountpoint)
        except OSError:
            continue
        values[mountpoint] = float(st.f_bavail * st.f_frsize)
    return values


class DiskFullForecast(Check):
    id = "capacity.disk_full_forecast"
    engines = frozenset({HOST})
    title = "Filesystems that fill up within the horizon (least-squares trend)"
    defaults = dict(DEFAULTS)

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        settings = Settings.of(self, ctx)
        mounts = filesystems()
        now = time.time()
        history = History.existing(ctx.state_dir)
        # consumption is falling free space: fit the negated free bytes
        series: dict[str, tuple[list[tuple[float, float]], str]] = {}
        short: dict[str, list[tuple[float, float]]] = {}
        try:
            for mountpoint in mounts:
                points = history.points(FS_FREE, {"mountpoint": mountpoint}, since=now - settings.window) if history else []
                if settings.usable_history(points):
                    series[mountpoint] = ([(t, -v) for t, v in points], "history")
                else:
                    short[mountpoint] = points
        finally:
            if history is not None:
                history.close()
        ctx.examined("filesystems", len(mounts))
        if short:
            yield too_little_history(self, ctx, settings, "filesystems", f"{len(short)} filesystem(s)", short)

        for mountpoint, (points, source) in sorted(series.items()):
            fs = mounts[mountpoint]
            result = forecast(points, fs.free, settings, source)
            if result is None:
                continue
            full_at = dt.datetime.fromtimestamp(now + result.days * DAY, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            yield self.finding(
                ctx, result.severity(settings), mountpoint,
                f"filesystem {mountpoint} full in {result.days:.1f} days at {format_bytes(result.fit.per_day)}/day "
                f"({result.basis()})",
                f"grow the volume or free space on {mountpoint} before {full_at}; find what grows with "
                f"du -xh --max-depth=2 {mountpoint} | sort -h | tail -20 (logs, backups, database files)",
                mountpoint=mountpoint, device=fs.device, fstype=fs.fstype, size_bytes=fs.size, free_bytes=fs.free,
                full_at=full_at, **result.evidence(ctx.state_dir))
