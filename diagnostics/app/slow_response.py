"""app.slow_response: the p95 response time of recent probes of the app server's URL is high.

Users feel the app tier first. Judged on the p95 (nearest rank) of the recent probes that got
an answer or timed out waiting for one; a refused connection is "down", not "slow", and is
app.error_rate's business.
"""

from __future__ import annotations

from collections.abc import Iterator
from statistics import median

from l4agent.collectors.appserver.app_history import percentile
from l4agent.diagnostics.app.readings import app_finding, recent_probes, with_url
from l4agent.diagnostics.base import HOST, Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import level

RECOMMENDATION = (
    "Find where the time goes before tuning anything. Compare time to first byte with the total "
    "(l4agent_appserver_time_to_first_byte_seconds): a slow first byte is work on the server. Check "
    "app.thread_pool_saturation and app.heap_pressure (requests queuing for a thread, GC pauses) and run "
    "`l4agent diagnose --check perf` for slow or blocked SQL (perf.top_query, perf.blocking). During the "
    "slowness take three thread dumps 5s apart (`jcmd <pid> Thread.print`, or the Lucee/ColdFusion admin's "
    "request monitor) to see which templates and queries the busy threads are in."
)


class SlowResponse(Check):
    id = "app.slow_response"
    engines = frozenset({HOST})
    title = "App server URL answers slowly (p95 of recent probes above a threshold)"
    defaults = {"warning_seconds": 2.0, "critical_seconds": 5.0, "samples": 5}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        warning, critical = ctx.options["warning_seconds"], ctx.options["critical_seconds"]
        for app in with_url(ctx.config):
            timed = [r for r in recent_probes(ctx, app, int(ctx.options["samples"])) if r.answered]
            if not timed:
                continue
            seconds = [r.seconds for r in timed]
            p95 = percentile(seconds, 0.95)
            severity = level(p95, warning, critical)
            if severity is None:
                continue
            timeouts = sum(1 for r in timed if r.failure_kind == "timeout")
            yield app_finding(
                self, app, severity, app.url,
                f"p95 response time {p95:.2f}s over the last {len(timed)} probes (warning at {warning:g}s)",
                RECOMMENDATION,
                p95_seconds=round(p95, 3), median_seconds=round(median(seconds), 3),
                max_seconds=round(max(seconds), 3), probes=len(timed), timeouts=timeouts,
                warning_seconds=warning, critical_seconds=critical,
            )
