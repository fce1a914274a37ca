"""The app-server collector: one per ``[[appservers]]`` entry.

Each round it reads the process group (local, fast) and, side by side in short-lived threads,
the HTTP(S) probe of ``url``, the Tomcat status page and the JSON status page. Every HTTP read
is bounded by the app server's ``timeout``, so a hung app server costs this collector about
that long and nothing more; the runner gives it ``timeout + 2s`` before calling it hung.

A failing probe is data (``l4agent_appserver_up 0`` plus the reason counted in
``l4agent_appserver_probe_failures_total{reason}``) and also an error entry naming the
reason, so ``l4agent collect`` says why. Probes and status reads go to the app server's
:mod:`history`, which the ``app.*`` diagnostics read.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from l4agent.collectors.appserver import json_status, tomcat
from l4agent.collectors.appserver.app_history import AppHistories, AppHistory
from l4agent.collectors.appserver.http_probe import ProbeOutcome, probe
from l4agent.collectors.appserver.process_group import ProcessGroup, ProcessMatcher
from l4agent.collectors.appserver.status_client import StatusPageError
from l4agent.collectors.base import Collector
from l4agent.core.config import AppServerConfig
from l4agent.core.samples import Problem, Sample, counter, gauge

UP = gauge("l4agent_appserver_up", "1 when the app server's URL answered as expected (status, body, certificate), else 0.")
RESPONSE = gauge("l4agent_appserver_response_seconds", "Total time of the last probe in seconds, redirects and body included.")
TTFB = gauge("l4agent_appserver_time_to_first_byte_seconds",
             "Seconds from the start of the last probe until the final response's headers arrived.")
CONNECT = gauge("l4agent_appserver_connect_seconds", "TCP connect plus TLS handshake time of the last probe in seconds.")
HTTP_STATUS = gauge("l4agent_appserver_http_status", "HTTP status code of the last probe's final response (0: none).")
REDIRECTS = gauge("l4agent_appserver_redirects", "Redirects the last probe followed.")
PROBES = counter("l4agent_appserver_probes_total", "Probes of the app server's URL since the agent started.")
PROBE_FAILURES = counter("l4agent_appserver_probe_failures_total",
                         "Failed probes since the agent started, by reason (timeout, connect, tls, tls_verify, "
                         "protocol, status, body, redirect_loop, too_many_redirects).")
TLS_EXPIRY = gauge("l4agent_appserver_tls_expiry_seconds", "Seconds until the app server's TLS certificate expires.")
TLS_INFO = gauge("l4agent_appserver_tls_info", "The app server's TLS certificate; the value is always 1.")
TLS_VERIFIED = gauge("l4agent_appserver_tls_verified",
                     "1 when the certificate chain and host name verify against ca_file or the system store, else 0.")

#: seconds the runner allows beyond the app server's own timeout (thread start, parsing)
TIMEOUT_MARGIN = 2.0


@dataclass
class AppServerCollector(Collector):
    """The URL probe, process group and status pages of one app server."""

    name: str = "appserver"
    app: AppServerConfig | None = None
    history: AppHistory | None = None
    process_group: ProcessGroup | None = None
    probe_failures: Counter = field(default_factory=Counter)
    probes: int = 0

    def __post_init__(self) -> None:
        app = self.app
        self.target = app.name
        self.history = self.history or AppHistory(app.name)
        if app.process and self.process_group is None:
            matcher = ProcessMatcher(app.process, app.process_user, app.process_cmdline)
            self.process_group = ProcessGroup(app.name, matcher)

    def collect(self) -> Iterator[Sample | Problem]:
        app = self.app
        reads: list[Callable[[], list[Sample | Problem]]] = []
        if app.url:
            reads.append(self._probe)
        if app.tomcat_status_url:
            reads.append(self._tomcat)
        if app.json_status_url:
            reads.append(self._json)
        results = _side_by_side(reads, app.timeout + 1.0)
        if self.process_group is not None:
            yield from self.process_group.collect()
        for items in results:
            yield from items

    # -- the three HTTP reads, each returning its samples and problems ---------------------

    def _probe(self) -> list[Sample | Problem]:
        app = self.app
        outcome = probe(app.url, app.timeout, app.expected_status, app.body_regex, app.max_redirects,
                        app.ca_file, app.verify_tls)
        self.history.record_probe(outcome)
        self.probes += 1
        if not outcome.ok:
            self.probe_failures[outcome.failure_kind] += 1
        items: list[Sample | Problem] = list(self._probe_samples(outcome))
        if not outcome.ok:
            items.append(Problem(f"probe of {outcome.result.url}: {outcome.failure}"))
        return items

    def _probe_samples(self, outcome: ProbeOutcome) -> Iterator[Sample]:
        name = self.app.name
        result = outcome.result
        yield UP(1 if outcome.ok else 0, appserver=name)
        yield RESPONSE(round(result.total_seconds, 6), appserver=name)
        if result.ttfb_seconds is not None:
            yield TTFB(round(result.ttfb_seconds, 6), appserver=name)
        if result.connect_seconds is not None:
            yield CONNECT(round(result.connect_seconds, 6), appserver=name)
        yield HTTP_STATUS(result.status or 0, appserver=name)
        yield REDIRECTS(len(result.redirects), appserver=name)
        yield PROBES(self.probes, appserver=name)
        for reason, count in sorted(self.probe_failures.items()):
            yield PROBE_FAILURES(count, appserver=name, reason=reason)
        cert = result.certificate
        if cert is not None:
            yield TLS_EXPIRY(round(cert.expiry_seconds(), 3), appserver=name)
            yield TLS_INFO(1, appserver=name, issuer=cert.issuer, subject=cert.subject)
            if cert.verified is not None:
                yield TLS_VERIFIED(1 if cert.verified else 0, appserver=name)

    def _tomcat(self) -> list[Sample | Problem]:
        try:
            status = tomcat.fetch_status(self.app)
        except StatusPageError as exc:
            return [Problem(str(exc))]
        self.history.record_status("tomcat", status)
        return list(tomcat.samples(self.app.name, status))

    def _json(self) -> list[Sample | Problem]:
        try:
            document = json_status.fetch_document(self.app)
        except StatusPageError as exc:
            return [Problem(str(exc))]
        values, problems = json_status.read_fields(document, self.app.json_status_fields)
        self.history.record_status("json", values)
        return [*json_status.samples(self.app.name, values), *(Problem(p) for p in problems)]


def _side_by_side(reads: list[Callable[[], list]], limit: float) -> list[list]:
    """Run ``reads`` in threads; each one's items, or a Problem for one still running after
    ``limit`` seconds (its own socket timeouts end it soon after; it is not waited for)."""
    results: list[list] = [[] for _ in reads]
    done = [threading.Event() for _ in reads]

    def run(index: int) -> None:
        try:
            results[index] = reads[index]()
        except Exception as exc:  # noqa: BLE001 - one read's failure is its own problem entry
            results[index] = [Problem(f"{reads[index].__name__.lstrip('_')}: {exc}")]
        finally:
            done[index].set()

    threads = [threading.Thread(target=run, args=(i,), name=f"appserver-{r.__name__}", daemon=True)
               for i, r in enumerate(reads)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + limit
    finished: list[list] = []
    for index, event in enumerate(done):
        if event.wait(max(0.0, deadline - time.monotonic())):
            finished.append(results[index])
        else:  # a late thread writes into ``results`` only, never into what is returned
            finished.append([Problem(f"{reads[index].__name__.lstrip('_')} did not finish within {limit:g}s")])
    return finished


def from_config(config, histories: AppHistories | None = None) -> list[Collector]:
    """One collector per app server, each writing into its history in ``histories``."""
    histories = histories or AppHistories()
    return [AppServerCollector(app=app, timeout=app.timeout + TIMEOUT_MARGIN, history=histories.for_app(app.name))
            for app in config.appservers]
