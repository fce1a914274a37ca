"""What the ``app.*`` checks judge: recent probes and status reads of each app server.

In the daemon the app-server collector has been filling each app server's history every
interval, so a check reads the last :data:`RECENT_SECONDS` of real results. In a one-shot
``diagnose`` the history is empty: the first check that needs probes takes a few (each bounded
by the app server's ``timeout``) and records them, and the next check reuses them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from l4agent.collectors.appserver import json_status, tomcat
from l4agent.collectors.appserver.app_history import AppHistory, ProbeRecord, StatusRead
from l4agent.collectors.appserver.http_probe import probe
from l4agent.collectors.appserver.status_client import StatusPageError
from l4agent.core.config import AppServerConfig, Config
from l4agent.core.redact import redact
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.coverage import NotExamined

log = logging.getLogger(__name__)

#: how far back "recent" reaches, in seconds
RECENT_SECONDS = 900.0
#: seconds between status reads a one-shot run takes (heap and thread pool move quickly)
READ_SPACING = 0.5
#: probe failures after which a one-shot run stops probing: one is the whole story
_STOP_PROBING = frozenset({"timeout", "connect"})


def app_finding(check: Check, app: AppServerConfig, severity: str, obj: str, summary: str,
                recommendation: str, **evidence: Any) -> Finding:
    """A finding whose target is the app server (not the host the check runs on)."""
    return Finding(check.id, severity, app.name, redact(obj), summary, recommendation, evidence)


def history_of(ctx: CheckContext, app: AppServerConfig) -> AppHistory:
    """The app server's history in this run's (or the daemon's) app histories."""
    if ctx.app_histories is None:
        return AppHistory(app.name)
    return ctx.app_histories.for_app(app.name)


def recent_probes(ctx: CheckContext, app: AppServerConfig, wanted: int) -> list[ProbeRecord]:
    """Recent probes of ``app.url``; probes now until there are ``wanted`` (oldest first)."""
    history = history_of(ctx, app)
    records = history.probes(RECENT_SECONDS)
    while len(records) < wanted:
        outcome = probe(app.url, app.timeout, app.expected_status, app.body_regex, app.max_redirects,
                        app.ca_file, app.verify_tls)
        records.append(history.record_probe(outcome))
        if outcome.failure_kind in _STOP_PROBING:
            break
    return records


def recent_reads(ctx: CheckContext, app: AppServerConfig, kind: str, wanted: int) -> list[StatusRead]:
    """Recent reads of the app server's ``kind`` status page ("tomcat" or "json"); reads now,
    :data:`READ_SPACING` apart, until there are ``wanted``. Raises StatusPageError."""
    history = history_of(ctx, app)
    reads = history.status_reads(kind, RECENT_SECONDS)
    while len(reads) < wanted:
        if reads:
            time.sleep(READ_SPACING)
        history.record_status(kind, _read_now(app, kind))
        reads = history.status_reads(kind, RECENT_SECONDS)
    return reads


def _read_now(app: AppServerConfig, kind: str) -> Any:
    if kind == "tomcat":
        return tomcat.fetch_status(app)
    values, problems = json_status.read_fields(json_status.fetch_document(app), app.json_status_fields)
    for problem in problems:
        log.warning("app server %s: %s", app.name, problem)
    return values


def status_kind(app: AppServerConfig, json_fields: Iterable[str]) -> str | None:
    """Which status page can answer a check needing ``json_fields``: Tomcat's when configured,
    else the JSON page when it maps every one of those fields."""
    if app.tomcat_status_url:
        return "tomcat"
    if app.json_status_url and all(f in app.json_status_fields for f in json_fields):
        return "json"
    return None


def each_app(ctx: CheckContext, check: Check, apps: Iterable[AppServerConfig],
             judge: Callable[[AppServerConfig], Iterable[Finding]], *, fail_when_none: bool = True) -> Iterator[Finding]:
    """``judge`` every app server. One whose status page cannot be read is a ``not_examined``
    coverage item of that app server (the run says what it could not look at, and exits 3) and
    the rest are still judged. When none could be judged and ``fail_when_none``, the check
    raises NotExamined with every reason (an error entry); a check with a judgement of its own
    besides the status page (app.error_rate's probes) passes False and keeps its findings."""
    findings: list[Finding] = []
    errors: list[tuple[AppServerConfig, str]] = []
    judged = 0
    for app in apps:
        try:
            findings.extend(judge(app))
            judged += 1
        except StatusPageError as exc:
            errors.append((app, str(exc)))
    if errors and not judged and fail_when_none:
        raise NotExamined("; ".join(f"{app.name}: {why}" for app, why in errors))
    for app, why in errors:
        log.info("app server %s: %s not examined: %s", app.name, check.id, why)
        ctx.coverage.not_examined(app.name, f"{check.id} (status page)", redact(why))
    return iter(findings)


def with_url(config: Config) -> list[AppServerConfig]:
    return [app for app in config.appservers if app.url]
