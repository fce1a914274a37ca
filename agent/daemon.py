"""``l4agent serve``: the collection loop, the web server, and the services that plug into them.

The daemon owns one CollectionRunner and keeps its latest Snapshot; the /metrics handler only
reads that. Other parts (thresholds and work records, diagnostics, history for forecasts, sink
delivery) plug in as *services* with ``start()``/``stop()``, and may subscribe to each new
snapshot with ``on_snapshot``. A failing subscriber is logged and never stops collection.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from l4agent.collectors.appserver.app_history import AppHistories
from l4agent.collectors.registry import build_collectors, host_name
from l4agent.collectors.runner import CollectionRunner
from l4agent.core.config import Config
from l4agent.core.history import HISTORY_FILE, History
from l4agent.core.snapshot import Snapshot
from l4agent.exporters.http import Request, Response, WebServer, secure
from l4agent.exporters.prometheus import CONTENT_TYPE, SnapshotCollector, make_registry

if TYPE_CHECKING:
    from l4agent.agent.diagnostics_service import DiagnosticsService
    from l4agent.agent.records.service import RecordsService
    from l4agent.agent.reporting.status_page import StatusPage
    from l4agent.diagnostics.runner import DiagnoseResult

log = logging.getLogger(__name__)


class Service(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class Daemon:
    """Everything ``serve`` runs. ``start()`` returns at once; ``stop()`` ends it all within ~1s."""

    def __init__(self, config: Config):
        self.config = config
        self.host = host_name(config)
        #: the app servers' recent probes and status reads: written by the collectors, read by the app.* checks
        self.app_histories = AppHistories()
        self.runner = CollectionRunner(build_collectors(config, app_histories=self.app_histories), self.host,
                                       failure_log_level=logging.WARNING)
        self.snapshot: Snapshot | None = None
        self.snapshot_time: float | None = None
        self.exposition = SnapshotCollector(lambda: self.snapshot)
        self._registry = None
        self.web = WebServer(config.agent.listen_host, config.agent.listen_port, config.agent.web)
        secure(self.web, config.agent.web)
        self.services: list[Service] = []
        self._subscribers: list[Callable[[Snapshot], None]] = []
        self.findings_subscribers: list[Callable[[DiagnoseResult], None]] = []
        # The services, each set by its install() below (None: off, or could not start).
        self.history: History | None = None
        self.records: RecordsService | None = None
        self.diagnostics: DiagnosticsService | None = None
        self.diagnostics_result: DiagnoseResult | None = None  # the latest run, set by self.diagnostics
        self.status_page: StatusPage | None = None
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None
        #: why the daemon cannot go on (a worker thread died); ``serve`` then exits non-zero
        self.failure: str | None = None
        self.web.route("/metrics", self._metrics)
        self.web.route("/healthz", self._healthz, public=True)
        self.web.route("/", self._landing)
        self._install_services()

    @property
    def registry(self):
        """A prometheus-client registry over the exposition, built on first use (the daemon
        itself renders /metrics without prometheus-client)."""
        if self._registry is None:
            self._registry = make_registry(self.exposition)
        return self._registry

    def on_snapshot(self, callback: Callable[[Snapshot], None]) -> None:
        """Call ``callback(snapshot)`` after every collection round, in the collection thread."""
        self._subscribers.append(callback)

    def add_service(self, service: Service) -> None:
        self.services.append(service)

    def _install_services(self) -> None:
        """Each service adds its routes, snapshot subscribers and exposition sources. The order
        matters: diagnostics' findings feed the records service's subscriber, and the status page
        serves the records service's JSON ``/records`` too."""
        from l4agent.agent.diagnostics_service import install as install_diagnostics
        from l4agent.agent.records.service import install as install_records
        from l4agent.agent.reporting.status_page import install as install_status_page

        install_records(self)
        self._install_history()
        install_diagnostics(self)
        install_status_page(self)

    def _install_history(self) -> None:
        """Record the selected samples of every snapshot into ``state_dir``/history.sqlite."""
        state_dir = self.config.agent.state_dir
        try:
            history = History.in_state_dir(state_dir)
        except (OSError, sqlite3.Error) as exc:
            log.warning("history disabled: cannot open %s: %s (capacity forecasts fall back to samples "
                        "taken during each diagnose run)", Path(state_dir) / HISTORY_FILE, exc)
            return
        self.history = history
        self.on_snapshot(history.record_snapshot)
        self.add_service(history)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.web.start()
        for service in self.services:
            service.start()
        self._loop = threading.Thread(target=self._collect_loop, name="collect-loop", daemon=True)
        self._loop.start()
        log.info("serving on %s:%d, collecting every %gs", self.config.agent.listen_host, self.web.port,
                 self.config.agent.interval)

    def stop(self) -> None:
        self._stop.set()
        self.web.stop()
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception:  # noqa: BLE001 - stop the rest regardless
                log.exception("stopping %s failed", type(service).__name__)
        if self._loop is not None:
            self._loop.join(timeout=1.0)
        self.runner.close()

    def wait(self) -> None:
        """Until a stop is requested or a worker thread dies (then ``failure`` says which)."""
        while not self._stop.wait(0.2):
            if self.check_workers():
                log.critical("%s: stopping so the service manager restarts l4agent", self.failure)
                return

    def workers(self) -> dict[str, threading.Thread]:
        """The threads that must live as long as the daemon: the collection loop and the
        services' own (a service lists them with ``threads()``)."""
        threads = {"collect-loop": self._loop} if self._loop is not None else {}
        web_thread = getattr(self.web, "_thread", None)
        if web_thread is not None:
            threads["http-selector"] = web_thread
        for service in self.services:
            listed = getattr(service, "threads", None)
            if listed is not None:
                threads.update(listed())
        return threads

    def check_workers(self) -> str | None:
        """The failure, once a worker thread has died while the daemon was not stopping."""
        if self.failure is None and not self._stop.is_set():
            # ident is None until start(): a thread being started is not a dead one
            dead = sorted(name for name, thread in self.workers().items()
                          if thread.ident is not None and not thread.is_alive())
            if dead and not self._stop.is_set():
                self.failure = f"worker thread {', '.join(dead)} died"
        return self.failure

    def request_stop(self) -> None:
        self._stop.set()

    def _collect_loop(self) -> None:
        interval = self.config.agent.interval
        next_run = time.monotonic()
        while not self._stop.is_set():
            try:
                self.collect_now()
            except Exception:  # noqa: BLE001 - one bad round must not end collection
                log.exception("collection round failed")
            next_run += interval
            # A round slower than the interval starts the next one at once, not a burst later.
            next_run = max(next_run, time.monotonic())
            self._stop.wait(max(0.0, next_run - time.monotonic()))

    def collect_now(self) -> Snapshot:
        snapshot = self.runner.run_once()
        self.snapshot, self.snapshot_time = snapshot, time.monotonic()
        try:
            # Render /metrics' share now, once per snapshot: a scrape then copies bytes.
            self.exposition.snapshot_exposition(snapshot)
        except Exception:  # noqa: BLE001 - a scrape renders (and reports) it instead
            log.exception("rendering the exposition failed")
        for callback in list(self._subscribers):
            try:
                callback(snapshot)
            except Exception:  # noqa: BLE001 - a subscriber's bug never stops collection
                log.exception("snapshot subscriber %s failed", getattr(callback, "__qualname__", callback))
        return snapshot

    # -- routes ----------------------------------------------------------------------------

    def _metrics(self, request: Request) -> Response:
        return Response(200, self.exposition.exposition(), CONTENT_TYPE)

    def _healthz(self, request: Request) -> Response:
        failure = self.check_workers()
        if failure is not None:
            return Response.text(f"failed: {failure}\n", 503)
        if self.snapshot_time is None:
            return Response.text("starting\n", 503)
        age = time.monotonic() - self.snapshot_time
        if age > 3 * self.config.agent.interval + self.config.agent.collector_timeout:
            return Response.text(f"stale: last collection {age:.0f}s ago\n", 503)
        return Response.text("ok\n")

    def _landing(self, request: Request) -> Response:
        from html import escape

        return Response.html(
            "<!doctype html><html><head><meta charset='utf-8'><title>l4agent</title></head><body>"
            f"<h1>l4agent on {escape(self.host)}</h1>"
            "<p><a href='/metrics'>/metrics</a> &middot; <a href='/healthz'>/healthz</a></p></body></html>"
        )
