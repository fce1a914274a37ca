"""A JSON status URL (Lucee, ColdFusion, a custom health page) read into metrics.

``json_status_fields = { heap_used_bytes = "memory.heap.used", sessions = "sessions.active" }``
exports ``l4agent_appserver_json_heap_used_bytes{appserver}`` and
``l4agent_appserver_json_sessions{appserver}``: each key is a metric suffix, each value a
dotted path into the document (``a.b.0.c``: numbers index lists). Numbers, numeric strings and
booleans (1/0) are exported; a suffix ending in ``_total`` is exported as a counter.

The ``app.*`` checks also understand a few suffixes by convention, so a non-Tomcat runtime can
feed them: ``heap_used_bytes`` + ``heap_max_bytes`` (app.heap_pressure) and ``threads_busy`` +
``threads_max`` (app.thread_pool_saturation).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from l4agent.collectors.appserver.status_client import StatusPageError, fetch_page
from l4agent.core.config import AppServerConfig
from l4agent.core.samples import MetricSpec, Sample, counter, gauge

PREFIX = "l4agent_appserver_json_"


class MissingValue(Exception):
    """A dotted path that leads nowhere, or to something that is not a number."""


@cache
def metric_spec(suffix: str) -> MetricSpec:
    name = PREFIX + suffix
    help_text = f"Value read from the app server's JSON status page (json_status_fields.{suffix})."
    return counter(name, help_text) if suffix.endswith("_total") else gauge(name, help_text)


def resolve(document: Any, path: str) -> float:
    """The number at dotted ``path`` in ``document``."""
    value = document
    walked: list[str] = []
    for step in path.split("."):
        walked.append(step)
        if isinstance(value, Mapping) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.lstrip("-").isdigit() and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        else:
            raise MissingValue(f"no {'.'.join(walked)!r} in the document")
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise MissingValue(f"{path!r} is {json.dumps(value)[:60]}, not a number")


def read_fields(document: Any, fields: Mapping[str, str]) -> tuple[dict[str, float], list[str]]:
    """({suffix: value}, [problem, ...]) for every configured field."""
    values: dict[str, float] = {}
    problems: list[str] = []
    for suffix, path in fields.items():
        try:
            values[suffix] = resolve(document, path)
        except MissingValue as exc:
            problems.append(f"json_status_fields.{suffix}: {exc}")
    return values, problems


def fetch_document(app: AppServerConfig) -> Any:
    body = fetch_page(app, app.json_status_url, "JSON status")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StatusPageError(f"JSON status {app.json_status_url}: not JSON: {exc}") from None


def samples(appserver: str, values: Mapping[str, float]) -> Iterator[Sample]:
    for suffix, value in values.items():
        yield metric_spec(suffix)(value, appserver=appserver)
