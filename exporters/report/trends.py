"""Inside ``serve``: record CPU busy and available memory into the history in ``state_dir`` for
the report's sparklines (the history itself keeps disk and database sizes for the forecasts).

CPU busy is the share of CPU time not idle or waiting on I/O between two collections, from the
``l4agent_cpu_seconds_total`` counters. One point per series every few minutes, like the rest
of the history; recording errors are logged once and never stop collection.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from l4agent.exporters.report.inputs import CPU_BUSY, MEMORY_AVAILABLE

log = logging.getLogger(__name__)

IDLE_MODES = frozenset({"idle", "iowait"})


def cpu_totals(samples: Sequence) -> tuple[float, float] | None:
    """(idle seconds, all seconds) summed over every CPU, or None without CPU counters."""
    idle = total = 0.0
    seen = False
    for sample in samples:
        if sample.name == "l4agent_cpu_seconds_total":
            seen = True
            total += sample.value
            if sample.labels.get("mode") in IDLE_MODES:
                idle += sample.value
    return (idle, total) if seen else None


def busy_ratio(before: tuple[float, float], after: tuple[float, float]) -> float | None:
    """Share of CPU time spent busy between two totals; None when no time passed (or a reset)."""
    idle, total = after[0] - before[0], after[1] - before[1]
    if total <= 0 or idle < 0:
        return None
    return max(0.0, min(1.0, 1.0 - idle / total))


class TrendRecorder:
    """A snapshot subscriber writing CPU busy and memory available every ``interval`` seconds."""

    def __init__(self, history, interval: float):
        self.history = history
        self.interval = interval
        self._since: tuple[float, tuple[float, float]] | None = None  # (ts, cpu totals) at the last point
        self._previous: tuple[float, float] | None = None  # cpu totals of the last snapshot
        self._failed = False
        #: CPU busy between the last two collections (the status page shows it live)
        self.latest_busy: float | None = None

    def __call__(self, snapshot) -> None:
        ts = snapshot.collected_at.timestamp()
        totals = cpu_totals(snapshot.samples)
        if totals is not None and self._previous is not None:
            self.latest_busy = busy_ratio(self._previous, totals)
        self._previous = totals
        if self._since is None:
            if totals is not None:
                self._since = (ts, totals)
            return
        if ts - self._since[0] < self.interval:
            return
        points = []
        if totals is not None:
            busy = busy_ratio(self._since[1], totals)
            if busy is not None:
                points.append((CPU_BUSY, {}, ts, busy))
        memory = snapshot.value(MEMORY_AVAILABLE)
        if memory is not None:
            points.append((MEMORY_AVAILABLE, {}, ts, memory))
        self._since = (ts, totals) if totals is not None else None
        try:
            self.history.record_many(points)
            self._failed = False
        except Exception as exc:  # noqa: BLE001 - a full disk must not stop collection
            if not self._failed:
                log.warning("report trends not recorded: %s", exc)
            self._failed = True

    # -- service: the history file is closed with the daemon --------------------------------

    def start(self) -> None:
        pass

    def stop(self) -> None:
        with contextlib.suppress(Exception):  # closing is best effort at shutdown
            self.history.close()
