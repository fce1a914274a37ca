"""Runs collectors side by side, each bounded by its own timeout, into one Snapshot.

Each collector runs in its own daemon thread. A collector still running at its deadline is
reported as timed out (``l4agent_collector_success=0``) and is not started again until that
run ends, so a hung database driver costs one thread, never one per interval.

The log says when a collector starts failing (one WARNING with the first error) and when it
recovers (one INFO with how long it failed); the rounds in between log at DEBUG only, so a
database down for a night is two lines in the journal, not one per interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from l4agent import __version__
from l4agent.collectors.base import Collector, CollectorStatus
from l4agent.core.redact import redact
from l4agent.core.samples import Problem, Sample, counter, gauge
from l4agent.core.snapshot import Snapshot
from l4agent.core.units import utcnow

log = logging.getLogger(__name__)

UP = gauge("l4agent_up", "1 when the agent is running and collecting.")
BUILD_INFO = gauge("l4agent_build_info", "Agent build information; the value is always 1.")
COLLECTOR_DURATION = gauge("l4agent_collector_duration_seconds", "Wall time of the collector's last run in seconds.")
COLLECTOR_SUCCESS = gauge("l4agent_collector_success", "1 when the collector's last run succeeded, else 0.")
COLLECTIONS = counter("l4agent_collections_total", "Collection rounds run since the agent started.")


@dataclass
class _Run:
    """One collector's run in its thread; ``done`` is set when it ends, however it ends."""

    collector: Collector
    started: float
    done: threading.Event
    samples: list[Sample]
    problems: list[Problem]
    error: str | None = None
    finished: float | None = None


class CollectionRunner:
    """Runs ``collectors`` on demand; ``run_once()`` returns a Snapshot with self-metrics."""

    def __init__(self, collectors: Sequence[Collector], host: str, python_version: str | None = None,
                 failure_log_level: int = logging.INFO):
        """``failure_log_level``: how a collector starting to fail is logged. One-shot commands
        print their errors themselves (INFO keeps stderr to one line per fault); the daemon,
        whose errors nobody reads otherwise, passes WARNING."""
        self.failure_log_level = failure_log_level
        self.collectors = list(collectors)
        self.host = host
        self._in_flight: dict[str, _Run] = {}
        self._failing: dict[str, tuple[float, int]] = {}  # collector key -> (failing since, rounds)
        self._rounds = 0
        import platform

        self._python_version = python_version or platform.python_version()

    def run_once(self) -> Snapshot:
        started_at = utcnow()
        runs: list[tuple[Collector, _Run | None]] = []
        for collector in self.collectors:
            previous = self._in_flight.get(collector.key)
            if previous is not None and not previous.done.is_set():
                runs.append((collector, None))  # still hung from an earlier round
                continue
            run = _Run(collector, time.monotonic(), threading.Event(), [], [])
            self._in_flight[collector.key] = run
            thread = threading.Thread(target=self._run, args=(run,), name=f"collect-{collector.key}", daemon=True)
            thread.start()
            runs.append((collector, run))

        snapshot = Snapshot(host=self.host, collected_at=started_at)
        statuses: list[CollectorStatus] = []
        for collector, run in runs:
            status = self._finish(collector, run, snapshot)
            self._log_health(collector, status)
            statuses.append(status)
        self._rounds += 1
        snapshot.samples.extend(self._self_metrics(statuses))
        return snapshot

    @staticmethod
    def _run(run: _Run) -> None:
        try:
            for item in run.collector.collect():
                if isinstance(item, Sample):
                    run.samples.append(item)
                elif isinstance(item, Problem):
                    run.problems.append(item)
        except Exception as exc:  # noqa: BLE001 - any failure becomes this collector's error entry
            run.error = redact(str(exc) or type(exc).__name__)
            log.debug("collector %s failed", run.collector.key, exc_info=True)
        finally:
            run.finished = time.monotonic()
            run.done.set()

    def _finish(self, collector: Collector, run: _Run | None, snapshot: Snapshot) -> CollectorStatus:
        target = collector.target
        if run is None:
            message = "still running from an earlier round (hung); not started again"
            snapshot.errors.append(self._error(collector, target, message))
            return CollectorStatus(collector.name, target, False, 0.0, [message])
        remaining = run.started + collector.timeout - time.monotonic()
        if not run.done.wait(max(0.0, remaining)):
            message = f"timed out after {collector.timeout:g}s"
            snapshot.errors.append(self._error(collector, target, message))
            return CollectorStatus(collector.name, target, False, collector.timeout, [message])
        duration = (run.finished or time.monotonic()) - run.started
        if run.error is None:  # a run that raised may have stopped half-way: its samples are not trusted
            snapshot.samples.extend(run.samples)
        messages = [redact(p.message) for p in run.problems]
        for problem in run.problems:
            snapshot.errors.append(self._error(collector, problem.target or target, redact(problem.message)))
        if run.error:
            messages.append(run.error)
            snapshot.errors.append(self._error(collector, target, run.error))
        return CollectorStatus(collector.name, target, not messages, duration, messages)

    def _log_health(self, collector: Collector, status: CollectorStatus) -> None:
        """One line when a collector starts failing, one when it recovers; DEBUG in between."""
        key = collector.key
        failing = self._failing.get(key)
        if status.success:
            if failing is not None:
                del self._failing[key]
                since, rounds = failing
                log.info("collector %s recovered after %.0fs (%d failed round%s)", key, time.monotonic() - since,
                         rounds, "" if rounds == 1 else "s")
            return
        message = "; ".join(status.errors)
        if failing is None:
            self._failing[key] = (time.monotonic(), 1)
            log.log(self.failure_log_level, "collector %s failing: %s (logged again when it recovers)", key, message)
        else:
            self._failing[key] = (failing[0], failing[1] + 1)
            log.debug("collector %s still failing: %s", key, message)

    @staticmethod
    def _error(collector: Collector, target: str, message: str) -> dict:
        return {"collector": collector.name, "target": target or None, "error": message}

    def _self_metrics(self, statuses: list[CollectorStatus]) -> list[Sample]:
        samples = [
            UP(1),
            BUILD_INFO(1, version=__version__, python_version=self._python_version),
            COLLECTIONS(self._rounds),
        ]
        for status in statuses:
            labels = {"collector": status.collector, "target": status.target}
            samples.append(COLLECTOR_DURATION(round(status.duration_seconds, 6), **labels))
            samples.append(COLLECTOR_SUCCESS(1 if status.success else 0, **labels))
        return samples

    def close(self) -> None:
        for collector in self.collectors:
            try:
                collector.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.debug("closing %s failed", collector.key, exc_info=True)
