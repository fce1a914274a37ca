"""Where a report's inputs come from. Every other part of the agent is reached through one small
function here (collection, diagnostics, work records, thresholds, history); when a part is
missing or fails, its function returns an empty answer and a note, and the report still renders.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.config import Config

log = logging.getLogger(__name__)

#: history series the report's trends recorder adds (see exporters.report.trends)
CPU_BUSY = "cpu_busy_ratio"
MEMORY_AVAILABLE = "l4agent_memory_available_ratio"
FS_USED = "l4agent_filesystem_used_bytes"
FS_FREE = "l4agent_filesystem_free_bytes"
DB_SIZE = "l4agent_database_size_bytes"


# -- collection and diagnostics ------------------------------------------------------------------


def collect(config: Config):
    """One collection round of every configured collector -> Snapshot."""
    from collectors.registry import build_collectors, host_name
    from collectors.runner import CollectionRunner

    runner = CollectionRunner(build_collectors(config), host_name(config))
    try:
        return runner.run_once()
    finally:
        runner.close()


def diagnose(config: Config):
    """One diagnostics run of every check -> DiagnoseResult."""
    from diagnostics.runner import run_diagnostics

    return run_diagnostics(config)


def daemon_diagnostics(daemon) -> Any | None:
    """The daemon's latest DiagnoseResult (kept by the diagnostics service), or None."""
    return getattr(daemon, "diagnostics_result", None)


# -- work records ---------------------------------------------------------------------------------


@dataclass
class RecordsView:
    """Open work records as ``records list --format json`` shows them, or why there are none."""

    records: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None


def records_from_store(config: Config, limit: int = 200) -> RecordsView:
    """The open records in ``state_dir`` (read-only use of the store; never creates it)."""
    try:
        from agent.records.service import open_store_for_cli
        from agent.records.store import StoreError, StoreMissing
    except ImportError:
        return RecordsView(note="work records are not part of this build")
    try:
        store = open_store_for_cli(config, create=False)
    except StoreMissing:
        return RecordsView(note="no work records yet (l4agent serve opens them)")
    except StoreError as exc:
        return RecordsView(note=f"work records unavailable: {exc}")
    try:
        return RecordsView([r.to_dict() for r in store.list_records("open", limit=limit)])
    except StoreError as exc:
        return RecordsView(note=f"work records unavailable: {exc}")
    finally:
        store.close()


def records_from_daemon(daemon, limit: int = 200) -> RecordsView:
    """The open records of a running daemon's records service."""
    service = getattr(daemon, "records", None)
    if service is None:
        return RecordsView(note="work records are off (see the log)")
    try:
        return RecordsView([r.to_dict() for r in service.store.list_records("open", limit=limit)])
    except Exception as exc:  # noqa: BLE001 - the page shows why instead of failing
        return RecordsView(note=f"work records unavailable: {exc}")


# -- thresholds -----------------------------------------------------------------------------------


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


def threshold_breaches(config: Config, samples: Sequence, host: str) -> list[Breach]:
    """Every metric threshold rule (built-in and configured) checked against ``samples``."""
    try:
        from agent.thresholds import describe_level, effective_rules, metric_readings
    except ImportError:
        return []
    breaches = []
    for rule in effective_rules(config):
        if not rule.metric:
            continue
        for reading in metric_readings(rule, samples, host, {}):
            if reading.level is None:
                continue
            breaches.append(Breach(rule.name, rule.metric, reading.target, reading.object, reading.level,
                                   float(reading.value), describe_level(rule, reading.level),
                                   rule.summary or rule.name, rule.recommendation or "", dict(reading.labels or {})))
    return breaches


# -- history --------------------------------------------------------------------------------------


class HistoryView:
    """Read access to ``state_dir``/history.sqlite; every method answers [] when there is none."""

    def __init__(self, history: Any | None):
        self.history = history

    @classmethod
    def of_state_dir(cls, state_dir: str | None) -> HistoryView:
        try:
            from agent.history import History
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


def now() -> float:
    return time.time()


def samples_of(snapshot, extra: Iterable = ()) -> list:
    """The snapshot's samples plus extra sources (what /metrics exports)."""
    return list(snapshot.samples if snapshot else []) + list(extra)
