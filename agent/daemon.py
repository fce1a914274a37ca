"""``l4agent serve``: the collection loop, the web server, and the services that plug into them.

The daemon owns one CollectionRunner and keeps its latest Snapshot; the /metrics handler only
reads that. Other parts (thresholds and work records, diagnostics, history for forecasts, sink
delivery) plug in as *services* with ``start()``/``stop()``, and may subscribe to each new
snapshot with ``on_snapshot``. A failing subscriber is logged and never stops collection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from agent.config import Config
from collectors.registry import build_collectors, host_name
from collectors.runner import CollectionRunner
from collectors.snapshot import Snapshot
from exporters.http import Request, Response, WebServer, secure
from exporters.prometheus import CONTENT_TYPE, SnapshotCollector, make_registry

log = logging.getLogger(__name__)


class Service(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class Daemon:
    """Everything ``serve`` runs. ``start()`` returns at once; ``stop()`` ends it all within ~1s."""

    def __init__(self, config: Config):
        self.config = config
        self.host = host_name(config)
        self.runner = CollectionRunner(build_collectors(config), self.host, failure_log_level=logging.WARNING)
        self.snapshot: Snapshot | None = None
        self.snapshot_time: float | None = None
        self.exposition = SnapshotCollector(lambda: self.snapshot)
        self._registry = None
        self.web = WebServer(config.agent.listen_host, config.agent.listen_port, config.agent.web)
        secure(self.web, config.agent.web)
        self.services: list[Service] = []
        self._subscribers: list[Callable[[Snapshot], None]] = []
        self.findings_subscribers: list[Callable] = []  # called with each DiagnoseResult
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None
        self.web.route("/metrics", self._metrics)
        self.web.route("/healthz", self._healthz, public=True)
        self.web.route("/", self._landing)
        for plugin in _plugins():
            plugin(self)

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
        while not self._stop.wait(0.2):
            pass

    def request_stop(self) -> None:
        self._stop.set()

    def _collect_loop(self) -> None:
        interval = self.config.agent.interval
        next_run = time.monotonic()
        while not self._stop.is_set():
            self.collect_now()
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


# Modules that extend the daemon: each has ``install(daemon)``, which adds services, routes,
# snapshot subscribers or exposition sources. A new capability is one module plus one line here.
DAEMON_PLUGINS: list[str] = [
    "agent.records.service",
    "agent.history",
    "diagnostics.service",  # reruns diagnostics; its findings feed agent.records.service's subscriber
    "exporters.report.status_page",  # after agent.records.service: it serves its JSON /records too
]


def _plugins() -> list[Callable[[Daemon], None]]:
    import importlib

    return [importlib.import_module(name).install for name in DAEMON_PLUGINS]
