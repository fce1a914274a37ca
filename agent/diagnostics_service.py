"""Diagnostics inside ``l4agent serve``: every check reruns every ``diagnostics_interval``.

The service thread runs ``run_diagnostics`` shortly after start and then on the interval
(start to start; a run longer than the interval is followed at once by the next). The latest
DiagnoseResult is kept on ``daemon.diagnostics_result`` (the status page and the records engine
read it) and handed to each callback in ``daemon.findings_subscribers``; /metrics exports
``l4agent_diagnostic_findings{check,severity,target}``, the number of findings of the latest run.
A failing run or subscriber is logged; the next run still happens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from l4agent.core.samples import Sample, gauge
from l4agent.diagnostics.runner import DiagnoseResult, run_diagnostics

if TYPE_CHECKING:
    from l4agent.agent.daemon import Daemon

log = logging.getLogger(__name__)

FINDINGS = gauge("l4agent_diagnostic_findings",
                 "Findings of the latest diagnostics run, by check, severity and target.")
CHECK_ERRORS = gauge("l4agent_diagnostic_errors",
                     "Checks that could not run in the latest diagnostics run (check is empty for a target "
                     "that could not be reached), by check and target.")
DURATION = gauge("l4agent_diagnostics_duration_seconds", "How long the latest diagnostics run took, in seconds.")
LAST_RUN = gauge("l4agent_diagnostics_last_run_timestamp_seconds",
                 "When the latest diagnostics run finished, in seconds since the Unix epoch.")

#: seconds from the daemon's start to the first run (or the interval, when that is shorter):
#: lets the first collection and the web server come up first
FIRST_RUN_DELAY = 5.0


class DiagnosticsService:
    """The service thread; ``run`` is the diagnostics function (tests may pass their own)."""

    def __init__(self, daemon: Any, run: Callable[..., DiagnoseResult] = run_diagnostics,
                 first_run_delay: float = FIRST_RUN_DELAY):
        self.daemon = daemon
        self.run = run
        self.interval = daemon.config.agent.diagnostics_interval
        self.first_run_delay = min(first_run_delay, self.interval)
        self.finished_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="diagnostics", daemon=True)
        self._thread.start()

    def threads(self) -> dict[str, threading.Thread]:
        """The thread that must keep running (the daemon watches it)."""
        return {"diagnostics": self._thread} if self._thread is not None else {}

    def stop(self) -> None:
        """Returns within a second; a run still waiting on a database ends with the process."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def _loop(self) -> None:
        next_run = time.monotonic() + self.first_run_delay
        while not self._stop.wait(max(0.0, next_run - time.monotonic())):
            next_run = time.monotonic() + self.interval
            self.run_once()

    def run_once(self) -> DiagnoseResult | None:
        """One run: keep the result, tell the subscribers. Never raises."""
        try:
            result = self.run(self.daemon.config, host=self.daemon.host, in_daemon=True,
                              app_histories=self.daemon.app_histories)
        except Exception:  # noqa: BLE001 - the next interval tries again
            log.exception("diagnostics run failed")
            return None
        self.daemon.diagnostics_result = result
        self.finished_at = time.time()
        log.info("diagnostics: %d finding(s), %d error(s) in %.1fs", len(result.findings), len(result.errors),
                 result.duration_seconds)
        for callback in list(self.daemon.findings_subscribers):
            try:
                callback(result)
            except Exception:  # noqa: BLE001 - one subscriber's bug never stops the others
                log.exception("findings subscriber %s failed", getattr(callback, "__qualname__", callback))
        return result

    def samples(self) -> list[Sample]:
        """The latest run as metric samples (none before the first run)."""
        result: DiagnoseResult | None = self.daemon.diagnostics_result
        if result is None:
            return []
        counts = Counter((f.check, f.severity, f.target) for f in result.findings)
        samples = [FINDINGS(n, check=check, severity=severity, target=target)
                   for (check, severity, target), n in sorted(counts.items())]
        errors = Counter((e.get("check") or "", e.get("target") or "") for e in result.errors)
        samples += [CHECK_ERRORS(n, check=check, target=target) for (check, target), n in sorted(errors.items())]
        samples.append(DURATION(result.duration_seconds))
        samples += result.measurements
        if self.finished_at is not None:
            samples.append(LAST_RUN(self.finished_at))
        return samples


def install(daemon: Daemon) -> DiagnosticsService:
    """Plug the diagnostics service into the daemon (see the module docstring)."""
    service = DiagnosticsService(daemon)
    daemon.diagnostics = service
    daemon.add_service(service)
    daemon.exposition.add_source(service.samples)
    return service
