"""Running a job on many hosts at once: bounded parallelism, a hard deadline per host, a progress
bar on a terminal.

Each host runs in its own daemon thread, at most ``parallel`` at a time. A host still running at
its deadline is given up on (status failed, "timed out") and its connection is closed from
outside through its :class:`Cancel`; the slot goes to the next host. So one dead, slow or hostile
host costs at most its deadline, and never the other hosts' time.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from l4agent.agent.remote.hosts import HostSpec

log = logging.getLogger(__name__)

OK, FAILED, UNREACHABLE = "ok", "failed", "unreachable"
STATUSES = (OK, FAILED, UNREACHABLE)


@dataclass
class HostResult:
    """How one host went. ``mode`` is None when the host was never reached."""

    host: str
    mode: str | None
    status: str
    result: dict | None = None
    error: str | None = None
    duration_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_dict(self) -> dict[str, Any]:
        """The contract's per-host JSON object."""
        return {"host": self.host, "mode": self.mode, "ok": self.ok, "result": self.result,
                "error": self.error, "duration_seconds": round(self.duration_seconds, 3)}


class Cancel:
    """Things to close when a host is given up on (its SSH session, its forwards)."""

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._lock = threading.Lock()
        self.cancelled = False

    def register(self, closable: Any) -> None:
        with self._lock:
            if not self.cancelled:
                self._items.append(closable)
                return
        _close(closable)  # given up on already: close at once

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            items, self._items = self._items, []
        for item in items:
            _close(item)


def _close(item: Any) -> None:
    try:
        item.close()
    except Exception:  # noqa: BLE001 - closing a broken connection is best effort
        log.debug("closing %r failed", item, exc_info=True)


Job = Callable[[HostSpec, Cancel], HostResult]


def run_fleet(specs: Sequence[HostSpec], job: Job, parallel: int = 10, deadline: float = 120.0,
              on_result: Callable[[HostResult, int, int], None] | None = None) -> list[HostResult]:
    """Run ``job`` on every host; results in the order of ``specs``.

    ``on_result(result, done, total)`` is called (in this thread) as each host ends.
    """
    results: list[HostResult | None] = [None] * len(specs)
    waiting = deque(range(len(specs)))
    running: dict[int, tuple[float, Cancel]] = {}
    finished: queue.Queue[tuple[int, HostResult]] = queue.Queue()
    done = 0

    def worker(index: int, cancel: Cancel) -> None:
        started = time.monotonic()
        try:
            result = job(specs[index], cancel)
        except Exception as exc:  # noqa: BLE001 - a job bug fails its host, not the run
            log.debug("job for %s failed", specs[index].name, exc_info=True)
            result = HostResult(specs[index].name, None, FAILED, error=f"internal error: {type(exc).__name__}: {exc}",
                                duration_seconds=time.monotonic() - started)
        finished.put((index, result))

    def record(index: int, result: HostResult) -> None:
        nonlocal done
        results[index] = result
        done += 1
        if on_result is not None:
            on_result(result, done, len(specs))

    while waiting or running:
        while waiting and len(running) < max(1, parallel):
            index = waiting.popleft()
            cancel = Cancel()
            running[index] = (time.monotonic(), cancel)
            threading.Thread(target=worker, args=(index, cancel), name=f"remote-{specs[index].name}",
                             daemon=True).start()
        next_deadline = min(started + deadline for started, _ in running.values())
        try:
            index, result = finished.get(timeout=max(0.0, next_deadline - time.monotonic()))
        except queue.Empty:
            now = time.monotonic()
            for index, (started, cancel) in list(running.items()):
                if now >= started + deadline:
                    del running[index]
                    cancel.cancel()
                    record(index, HostResult(specs[index].name, None, FAILED,
                                             error=f"{specs[index].name}: gave up after {deadline:g}s",
                                             duration_seconds=now - started))
            continue
        if index in running:  # else: given up on already; a late answer is dropped
            del running[index]
            record(index, result)
    return [r for r in results if r is not None]


class ProgressBar:
    """``[#######.......]  7/12 hosts  ok 6  failed 0  unreachable 1`` on one terminal line."""

    WIDTH = 30

    def __init__(self, total: int, stream: IO[str]):
        self.total = total
        self.stream = stream
        self.counts = dict.fromkeys(STATUSES, 0)

    def update(self, result: HostResult, done: int, total: int) -> None:
        self.counts[result.status] = self.counts.get(result.status, 0) + 1
        filled = int(self.WIDTH * done / max(total, 1))
        counts = "  ".join(f"{status} {self.counts[status]}" for status in STATUSES)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total} hosts  {counts}")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\r\x1b[K")  # clear the line: the recap follows
        self.stream.flush()
