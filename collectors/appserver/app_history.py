"""Recent probe results and status-page reads per app server, kept in memory for diagnostics.

The collector of an app server appends every probe and every Tomcat/JSON status read to that
app server's :class:`AppHistory` (a small ring buffer). The ``app.*`` checks read it: in the
daemon they judge the last minutes of real traffic (p95 latency, failure ratio, heap and
thread-pool readings) without probing again; in a one-shot ``diagnose`` the history is empty,
so the checks take a few probes themselves and record them here, where the next check reuses
them. Histories are found by app server name in an :class:`AppHistories` that the daemon (or a
one-shot command) owns and hands to both.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from l4agent.collectors.appserver.http_probe import Certificate, ProbeOutcome

#: probes kept per app server: 15 minutes at a 15s interval, with room to spare
PROBES_KEPT = 100
#: status-page reads kept per app server
STATUS_READS_KEPT = 40


@dataclass(frozen=True)
class ProbeRecord:
    """One probe as the checks need it. ``at`` is seconds since the epoch, ``seconds`` the
    probe's total time."""

    at: float
    ok: bool
    seconds: float
    status: int | None
    failure: str | None
    failure_kind: str | None
    url: str
    certificate: Certificate | None

    @classmethod
    def of(cls, outcome: ProbeOutcome, at: float | None = None) -> ProbeRecord:
        result = outcome.result
        return cls(at=time.time() if at is None else at, ok=outcome.ok, seconds=result.total_seconds,
                   status=result.status, failure=outcome.failure, failure_kind=outcome.failure_kind,
                   url=result.url, certificate=result.certificate)

    @property
    def answered(self) -> bool:
        """A response arrived, or the probe ran out of time waiting: both say how slow it is.
        A refused connection says nothing about response time."""
        return self.status is not None or self.failure_kind == "timeout"


@dataclass(frozen=True)
class StatusRead:
    """One read of a status page: ``kind`` is "tomcat" or "json"; ``status`` the parsed form
    (a TomcatStatus, or the {suffix: value} dict of a JSON status page)."""

    at: float
    kind: str
    status: Any


class AppHistory:
    """The ring buffers of one app server. Thread-safe: the collector writes while a check reads."""

    def __init__(self, name: str):
        self.name = name
        self._probes: deque[ProbeRecord] = deque(maxlen=PROBES_KEPT)
        self._reads: deque[StatusRead] = deque(maxlen=STATUS_READS_KEPT)
        self._lock = threading.Lock()

    def record_probe(self, outcome: ProbeOutcome) -> ProbeRecord:
        record = ProbeRecord.of(outcome)
        with self._lock:
            self._probes.append(record)
        return record

    def record_status(self, kind: str, status: Any) -> None:
        with self._lock:
            self._reads.append(StatusRead(time.time(), kind, status))

    def probes(self, max_age: float) -> list[ProbeRecord]:
        """Probes of the last ``max_age`` seconds, oldest first."""
        since = time.time() - max_age
        with self._lock:
            return [p for p in self._probes if p.at >= since]

    def status_reads(self, kind: str, max_age: float) -> list[StatusRead]:
        since = time.time() - max_age
        with self._lock:
            return [r for r in self._reads if r.kind == kind and r.at >= since]

    def clear(self) -> None:
        with self._lock:
            self._probes.clear()
            self._reads.clear()


class AppHistories:
    """The histories of every app server, by name. One owner (the daemon, or a one-shot command)
    hands the same instance to the collectors that write it and to the checks that read it."""

    def __init__(self) -> None:
        self._histories: dict[str, AppHistory] = {}
        self._lock = threading.Lock()

    def for_app(self, name: str) -> AppHistory:
        """The history of the app server ``name`` (created empty on first use)."""
        with self._lock:
            history = self._histories.get(name)
            if history is None:
                history = self._histories[name] = AppHistory(name)
            return history


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.95 for p95) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
