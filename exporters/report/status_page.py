"""The status page of ``serve`` (a daemon plugin): ``/`` is the health report, live, from the
latest collection, the latest diagnostics run and the open work records; ``/records`` lists
the work records for people (JSON for scripts); ``/findings.json`` is the latest diagnostics
run in the shape ``l4agent diagnose --format json`` prints.

The page refreshes itself (meta refresh, no script) and passes the web server's CSP.
"""

from __future__ import annotations

import logging
import time

from exporters.http import Request, Response
from exporters.report import sources, trends
from exporters.report.html import render_html, render_records_page
from exporters.report.model import build_report

log = logging.getLogger(__name__)

MIN_REFRESH, MAX_REFRESH = 15, 300  # seconds


class StatusPage:
    def __init__(self, daemon, recorder: trends.TrendRecorder | None):
        self.daemon = daemon
        self.recorder = recorder
        self.history = sources.HistoryView(recorder.history if recorder else None)
        self.refresh = int(min(MAX_REFRESH, max(MIN_REFRESH, daemon.config.agent.interval * 2)))
        self.json_records = None  # the records service's /records (JSON), when it is installed

    def report(self):
        daemon = self.daemon
        extra = []
        try:
            extra = daemon.exposition.samples()  # what /metrics exports: thresholds may watch any of it
        except Exception:  # noqa: BLE001 - the page still shows the collection
            log.exception("exposition sources failed")
        samples = extra or sources.samples_of(daemon.snapshot)
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
        service = getattr(self.daemon, "records", None)
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
            return Response.json({"records": records})
        return Response.html(render_records_page(self.daemon.host, records, note, status, refresh=self.refresh))


def install(daemon) -> StatusPage:
    """Serve the status page at ``/`` (replacing the plain landing page), ``/records`` and
    ``/findings.json``, and record the CPU and memory trends its sparklines show."""
    page = StatusPage(daemon, trends.install(daemon))
    previous = daemon.web.routes.get("/records")
    if previous is not None:
        page.json_records = previous[0]
    daemon.web.route("/", page.page)
    daemon.web.route("/records", page.records)
    daemon.web.route("/findings.json", page.findings)
    daemon.status_page = page
    return page
