"""app.error_rate: too many of the app server's requests fail.

Two views. The agent's own probes: the share of recent probes of ``url`` that failed (refused,
timed out, wrong status or body, bad certificate). The container's counters: Tomcat's
errorCount/requestCount per connector (responses with status >= 400), over the recent reads
when requests were counted in between, else since the app server started. The probes are
judged whether or not the status page answers; an unreadable page is a ``not_examined``
coverage item of the app server, never the only output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from l4agent.core.config import AppServerConfig
from l4agent.diagnostics.app.readings import (
    app_finding,
    each_app,
    recent_probes,
    recent_reads,
    with_url,
)
from l4agent.diagnostics.base import HOST, Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import level

PROBE_RECOMMENDATION = (
    "Read the failure reasons in the evidence. Timeouts and refused connections: is the app server process "
    "running and stable (l4agent_process_members, l4agent_appserver_restarts_total, app.heap_pressure) and "
    "what does its log say (Tomcat: logs/catalina.out)? HTTP 5xx: the application's exception log "
    "(Lucee: WEB-INF/lucee/logs/exception.log; ColdFusion: logs/exception.log) at the same time. A body or "
    "certificate mismatch: see body_regex and app.tls_chain."
)
CONTAINER_RECOMMENDATION = (
    "Find which requests fail: the access log (Tomcat: logs/localhost_access_log.*.txt, status column) for "
    "the URLs answering 4xx/5xx, and the application's exception log (Lucee: WEB-INF/lucee/logs/"
    "exception.log; ColdFusion: logs/exception.log) for the 5xx. Fix failing templates and queries first; "
    "many 404/401 usually come from bots or stale links and can be blocked at the proxy."
)


class ErrorRate(Check):
    id = "app.error_rate"
    engines = frozenset({HOST})
    title = "Too many failed requests (agent probes, or the servlet container's error count)"
    defaults = {"warning_ratio": 0.05, "critical_ratio": 0.25, "min_requests": 20, "samples": 5}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        # The probes are judged whether or not the status page answers: a down Tomcat fails
        # both, and its failing probes are the finding; the unread page is a coverage item.
        yield from self._probes(ctx)
        yield from each_app(ctx, self, [a for a in ctx.config.appservers if a.tomcat_status_url],
                            lambda app: self._container(ctx, app), fail_when_none=False)

    def _probes(self, ctx: CheckContext) -> Iterator[Finding]:
        for app in with_url(ctx.config):
            records = recent_probes(ctx, app, int(ctx.options["samples"]))
            ctx.coverage.examined(app.name, "probes", len(records))
            failed = [r for r in records if not r.ok]
            if not records or not failed:
                continue
            ratio = len(failed) / len(records)
            severity = level(ratio, ctx.options["warning_ratio"], ctx.options["critical_ratio"])
            if severity is None:
                continue
            yield app_finding(
                self, app, severity, app.url,
                f"{len(failed)} of the last {len(records)} probes failed ({ratio:.0%}); last: {failed[-1].failure}",
                PROBE_RECOMMENDATION,
                probes=len(records), failed=len(failed), failure_ratio=round(ratio, 3),
                reasons=dict(Counter(r.failure_kind for r in failed)), last_failure=failed[-1].failure,
            )

    def _container(self, ctx: CheckContext, app: AppServerConfig) -> list[Finding]:
        reads = recent_reads(ctx, app, "tomcat", 1)
        first, last = reads[0].status, reads[-1].status
        before = {c.name: c for c in first.connectors}
        findings = []
        for c in last.connectors:
            old = before.get(c.name)
            requests, errors, window = c.request_count, c.error_count, "since the app server started"
            if old is not None and c.request_count - old.request_count >= ctx.options["min_requests"] \
                    and c.error_count >= old.error_count:
                requests, errors = c.request_count - old.request_count, c.error_count - old.error_count
                window = f"over the last {reads[-1].at - reads[0].at:.0f}s"
            if requests < ctx.options["min_requests"]:
                continue
            ratio = errors / requests
            severity = level(ratio, ctx.options["warning_ratio"], ctx.options["critical_ratio"])
            if severity is None:
                continue
            findings.append(app_finding(
                self, app, severity, c.name,
                f"{errors} of {requests} requests answered with an error ({ratio:.1%}) {window}",
                CONTAINER_RECOMMENDATION,
                requests=requests, errors=errors, error_ratio=round(ratio, 4), window=window,
            ))
        return findings
