"""app.thread_pool_saturation: the app server's request threads are (nearly) all busy.

When every thread of a connector's pool is busy, new requests wait in the accept queue: users
see the ERP hang while CPU may look idle. Judged on the median busy/maxThreads ratio of the
recent status reads (one read can catch a harmless burst), per Tomcat connector; a JSON status
page can feed it with the fields ``threads_busy`` and ``threads_max``.

The agent's own status read occupies a thread of the connector it goes through while Tomcat
writes the page, and Tomcat counts it as busy: an idle 4-thread admin pool reads "1 of 4
busy". The check counts only the other busy threads, out of the threads the read left free
(``busy - own`` of ``max - own``), and names the own reads in the evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from statistics import median

from l4agent.core.config import AppServerConfig
from l4agent.diagnostics.app.readings import app_finding, each_app, recent_reads, status_kind
from l4agent.diagnostics.base import HOST, Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import level

JSON_FIELDS = ("threads_busy", "threads_max")

RECOMMENDATION = (
    "Requests are queuing for a worker thread. Find what holds the threads before adding more: the busiest "
    "workers in the evidence (and the manager's status page) show which URIs run and for how long; three "
    "thread dumps 5s apart (`jcmd <pid> Thread.print`) show whether they wait on the database (then run "
    "`l4agent diagnose --check perf`: perf.blocking, perf.top_query), on a lock, or on an outside HTTP call. "
    "Raise maxThreads on the <Connector> in server.xml only when CPU and the datasource's connection pool "
    "have headroom; otherwise more threads only queue in the database."
)


class ThreadPoolSaturation(Check):
    id = "app.thread_pool_saturation"
    engines = frozenset({HOST})
    title = "App server's request thread pool is (nearly) exhausted"
    defaults = {"warning_ratio": 0.8, "critical_ratio": 0.95, "samples": 3}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        apps = [a for a in ctx.config.appservers if status_kind(a, JSON_FIELDS)]
        return each_app(ctx, self, apps, lambda app: self._judge(ctx, app))

    def _judge(self, ctx: CheckContext, app: AppServerConfig) -> list[Finding]:
        kind = status_kind(app, JSON_FIELDS)
        reads = recent_reads(ctx, app, kind, int(ctx.options["samples"]))
        pools: dict[str, list[tuple[int, int, int]]] = {}  # connector -> [(others busy, max, own reads), ...]
        for read in reads:
            if kind == "tomcat":
                for c in read.status.connectors:
                    if c.max_threads > 0:
                        own = min(c.status_reads, c.busy_threads)
                        pools.setdefault(c.name, []).append((c.others_busy, c.max_threads, own))
            elif read.status.get("threads_max", 0) > 0:
                pools.setdefault("json", []).append(
                    (int(read.status["threads_busy"]), int(read.status["threads_max"]), 0))
        findings = []
        for connector, samples in pools.items():
            ratio = median(busy / (most - own) if most > own else 0.0 for busy, most, own in samples)
            severity = level(ratio, ctx.options["warning_ratio"], ctx.options["critical_ratio"])
            if severity is None:
                continue
            busy, most, own = samples[-1]
            besides = " besides the agent's own status read" if own else ""
            workers = self._busiest(reads[-1].status, connector) if kind == "tomcat" else []
            findings.append(app_finding(
                self, app, severity, connector,
                f"{busy} of {most} request threads busy{besides} (median {ratio:.0%} over {len(samples)} reads)",
                RECOMMENDATION,
                busy_threads=busy, max_threads=most, median_busy_ratio=round(ratio, 3), reads=len(samples),
                own_status_reads=own, busiest_workers=workers,
            ))
        return findings

    @staticmethod
    def _busiest(status, connector: str) -> list[dict]:
        for c in status.connectors:
            if c.name == connector:
                return [{"method": w.method, "uri": w.uri, "seconds": w.seconds, "remote": w.remote}
                        for w in c.busy_workers]
        return []
