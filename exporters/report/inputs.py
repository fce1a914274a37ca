"""The report's inputs as the renderers see them: open records, threshold breaches, the history
store, and the series names the trends use. The application layer fills them in
(:mod:`l4agent.agent.reporting.gather`); every view answers empty, with a note, when its part
is missing."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: history series the report's trends recorder adds (see exporters.report.trends)
CPU_BUSY = "cpu_busy_ratio"
MEMORY_AVAILABLE = "l4agent_memory_available_ratio"
FS_USED = "l4agent_filesystem_used_bytes"
FS_FREE = "l4agent_filesystem_free_bytes"
DB_SIZE = "l4agent_database_size_bytes"


@dataclass
class RecordsView:
    """Open work records as ``records list --format json`` shows them, or why there are none."""

    records: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None


@dataclass(frozen=True)
class Breach:
    """A series beyond a threshold rule's line right now (the rule's ``for`` is not waited for)."""

    rule: str
    metric: str
    target: str
    object: str
    level: str
    value: float
    line: str  # "critical above 95.0 %"
    summary: str
    recommendation: str
    labels: dict[str, str]


class HistoryView:
    """Read access to ``state_dir``/history.sqlite; every method answers [] when there is none."""

    def __init__(self, history: Any | None):
        self.history = history

    @classmethod
    def of_state_dir(cls, state_dir: str | None) -> HistoryView:
        try:
            from l4agent.core.history import History
        except ImportError:
            return cls(None)
        try:
            return cls(History.existing(state_dir))
        except Exception as exc:  # noqa: BLE001 - no history is a missing chart, not a failed report
            log.info("history in %s unreadable: %s", state_dir, exc)
            return cls(None)

    @property
    def available(self) -> bool:
        return self.history is not None

    def points(self, metric: str, labels: dict[str, str], since: float) -> list[tuple[float, float]]:
        if self.history is None:
            return []
        try:
            return self.history.points(metric, labels, since=since)
        except Exception as exc:  # noqa: BLE001
            log.info("history read failed: %s", exc)
            return []

    def label_sets(self, metric: str) -> list[dict[str, str]]:
        if self.history is None:
            return []
        try:
            return self.history.label_sets(metric)
        except Exception:  # noqa: BLE001
            return []

    def close(self) -> None:
        if self.history is not None:
            with contextlib.suppress(Exception):  # closing is best effort at shutdown
                self.history.close()


def used_ratio_series(history: HistoryView, mountpoint: str, since: float) -> list[tuple[float, float]]:
    """df's Use% of a mountpoint over time, from the recorded used and free bytes."""
    used = dict(history.points(FS_USED, {"mountpoint": mountpoint}, since))
    free = dict(history.points(FS_FREE, {"mountpoint": mountpoint}, since))
    return [(ts, used[ts] / (used[ts] + free[ts])) for ts in sorted(used)
            if ts in free and used[ts] + free[ts] > 0]


def summed_series(history: HistoryView, metric: str, match: dict[str, str], since: float) -> list[tuple[float, float]]:
    """The sum over every recorded series of ``metric`` whose labels include ``match``, per timestamp."""
    totals: dict[float, float] = {}
    for labels in history.label_sets(metric):
        if all(labels.get(k) == v for k, v in match.items()):
            for ts, value in history.points(metric, labels, since):
                totals[ts] = totals.get(ts, 0.0) + value
    return sorted(totals.items())


def samples_of(snapshot, extra: Iterable = ()) -> list:
    """The snapshot's samples plus extra sources (what /metrics exports)."""
    return list(snapshot.samples if snapshot else []) + list(extra)
