"""The status page of ``serve`` (a daemon plugin): ``/`` is the health report, live, from the
latest collection, the latest diagnostics run and the open work records; ``/records`` lists
the work records for people (JSON for scripts); ``/findings.json`` is the latest diagnostics
run in the shape ``l4agent diagnose --format json`` prints.

The page refreshes itself (meta refresh, no script) and passes the web server's CSP.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from l4agent.agent.reporting import gather as sources
from l4agent.core.history import RECORD_INTERVAL, History
from l4agent.exporters.http import Request, Response
from l4agent.exporters.report import trends
from l4agent.exporters.report.html import render_html, render_records_page
from l4agent.exporters.report.inputs import HistoryView, samples_of
from l4agent.exporters.report.model import build_report

if TYPE_CHECKING:
    from l4agent.agent.daemon import Daemon

log = logging.getLogger(__name__)

MIN_REFRESH, MAX_REFRESH = 15, 300  # seconds


class StatusPage:
    def __init__(self, daemon: Daemon, recorder: trends.TrendRecorder | None):
        self.daemon = daemon
        self.recorder = recorder
        self.history = HistoryView(recorder.history if recorder else None)
        self.refresh = int(min(MAX_REFRESH, max(MIN_REFRESH, daemon.config.agent.interval * 2)))
        self.json_records = None  # the records service's /records (JSON), when it is installed

    def report(self):
        daemon = self.daemon
        extra = []
        try:
            extra = daemon.exposition.samples()  # what /metrics exports: thresholds may watch any of it
        except Exception:  # noqa: BLE001 - the page still shows the collection
            log.exception("exposition sources failed")
        samples = extra or samples_of(daemon.snapshot)
        breaches = sources.threshold_breaches(daemon.config, samples, daemon.host)
        return build_report(daemon.config, daemon.host, daemon.snapshot, sources.daemon_diagnostics(daemon),
                            sources.records_from_daemon(daemon), self.history, time.time(), breaches=breaches,
                            cpu_busy=self.recorder.latest_busy if self.recorder else None)

    # -- routes ----------------------------------------------------------------------------

    def page(self, request: Request) -> Response:
        if self.daemon.snapshot is None:
            body = render_html(self.report(), refresh=3, nav=True)  # first collection still running
        else:
            body = render_html(self.report(), refresh=self.refresh, nav=True)
        return Response.html(body)

    def findings(self, request: Request) -> Response:
        result = sources.daemon_diagnostics(self.daemon)
        if result is None:
            return Response.json({"host": self.daemon.host, "started_at": None, "duration_seconds": None,
                                  "findings": [], "errors": []})
        return Response.json(result.to_dict())

    def records(self, request: Request) -> Response:
        wants_json = (request.query.get("format") or [""])[0] == "json" or \
            "text/html" not in request.headers.get("accept", "")
        status = (request.query.get("status") or [None])[0]
        if wants_json and self.json_records is not None:
            return self.json_records(request)
        if status not in (None, "open", "resolved", "closed"):
            return Response.text("status must be open, resolved or closed\n", 400)
        service = self.daemon.records
        note = None
        records: list[dict] = []
        if service is None:
            note = "work records are off (see the log)"
        else:
            try:
                records = [r.to_dict() for r in service.store.list_records(status, limit=200)]
            except Exception as exc:  # noqa: BLE001
                note = f"work records unavailable: {exc}"
        if wants_json:
            if note is not None:  # an empty list would say "no records" while none could be read
                return Response.text(f"{note}\n", 503)
            return Response.json({"records": records})
        return Response.html(render_records_page(self.daemon.host, records, note, status, refresh=self.refresh))


def _trend_recorder(daemon: Daemon) -> trends.TrendRecorder | None:
    """Subscribe a recorder to the daemon's snapshots (None when there is no usable history)."""
    try:
        history = History.in_state_dir(daemon.config.agent.state_dir)
    except Exception as exc:  # noqa: BLE001 - no history is no sparkline, nothing worse
        log.info("report trends off: %s", exc)
        return None
    recorder = trends.TrendRecorder(history, RECORD_INTERVAL)
    daemon.on_snapshot(recorder)
    daemon.add_service(recorder)
    return recorder


def install(daemon: Daemon) -> StatusPage:
    """Serve the status page at ``/`` (replacing the plain landing page), ``/records`` and
    ``/findings.json``, and record the CPU and memory trends its sparklines show."""
    page = StatusPage(daemon, _trend_recorder(daemon))
    previous = daemon.web.routes.get("/records")
    if previous is not None:
        page.json_records = previous[0]
    daemon.web.route("/", page.page)
    daemon.web.route("/records", page.records)
    daemon.web.route("/findings.json", page.findings)
    daemon.status_page = page
    return page
