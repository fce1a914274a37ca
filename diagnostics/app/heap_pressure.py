"""app.heap_pressure: the JVM heap stays nearly full even at its lowest.

Heap use is a sawtooth: high just before a garbage collection, low after it. So the check
judges the *lowest* used/max ratio among the recent status reads: when even that is above the
level, the live data itself fills the heap, the JVM spends ever more time in GC (slow pages)
and ends in OutOfMemoryError. Tomcat's status page, or a JSON page with ``heap_used_bytes``
and ``heap_max_bytes``.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.core.config import AppServerConfig
from l4agent.diagnostics.app.readings import app_finding, each_app, recent_reads, status_kind
from l4agent.diagnostics.base import HOST, Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import level

JSON_FIELDS = ("heap_used_bytes", "heap_max_bytes")

RECOMMENDATION = (
    "Look for what fills the heap before raising it: a class histogram (`jcmd <pid> GC.class_histogram`) or a "
    "heap dump (`jcmd <pid> GC.heap_dump /tmp/heap.hprof`, read with Eclipse MAT) shows the biggest holders; "
    "usual suspects are many or long-lived sessions (check the session timeout), Lucee/ColdFusion query and "
    "template caches, and large result sets held in application scope. If the working set is legitimately "
    "larger, raise -Xmx (Lucee/Tomcat: CATALINA_OPTS in setenv.sh; ColdFusion: jvm.config) within the host's "
    "free RAM, leaving room for the OS cache and the database."
)


class HeapPressure(Check):
    id = "app.heap_pressure"
    engines = frozenset({HOST})
    title = "App server's JVM heap stays nearly full (GC thrashing, OutOfMemoryError ahead)"
    defaults = {"warning_ratio": 0.85, "critical_ratio": 0.95, "samples": 3}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        apps = [a for a in ctx.config.appservers if status_kind(a, JSON_FIELDS)]
        return each_app(ctx, self, apps, lambda app: self._judge(ctx, app))

    def _judge(self, ctx: CheckContext, app: AppServerConfig) -> list[Finding]:
        kind = status_kind(app, JSON_FIELDS)
        heaps: list[tuple[float, float]] = []  # (used bytes, max bytes)
        for read in recent_reads(ctx, app, kind, int(ctx.options["samples"])):
            if kind == "tomcat":
                limit = read.status.heap_max if read.status.heap_max > 0 else read.status.heap_total
                heaps.append((read.status.heap_used, limit))
            else:
                heaps.append((read.status.get("heap_used_bytes", 0.0), read.status.get("heap_max_bytes", 0.0)))
        heaps = [(used, limit) for used, limit in heaps if limit > 0]
        if not heaps:
            return []
        used, limit = min(heaps, key=lambda h: h[0] / h[1])
        lowest = used / limit
        severity = level(lowest, ctx.options["warning_ratio"], ctx.options["critical_ratio"])
        if severity is None:
            return []
        mib = 1024 * 1024
        return [app_finding(
            self, app, severity, "jvm heap",
            f"JVM heap {lowest:.0%} full at its lowest over {len(heaps)} reads ({used / mib:.0f} of {limit / mib:.0f} MiB)",
            RECOMMENDATION,
            lowest_used_ratio=round(lowest, 3), used_bytes=int(used), max_bytes=int(limit), reads=len(heaps),
            highest_used_ratio=round(max(u / m for u, m in heaps), 3),
        )]
