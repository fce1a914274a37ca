"""A JSON status page read into metrics by dotted paths."""

from __future__ import annotations

import pytest

from l4agent.collectors.appserver.json_status import (
    MissingValue,
    fetch_document,
    read_fields,
    resolve,
    samples,
)
from l4agent.collectors.appserver.status_client import StatusPageError
from l4agent.core.config import AppServerConfig
from l4agent.core.samples import COUNTER, GAUGE
from tests.support.appserver_fixtures import *  # noqa: F403
from tests.support.appserver_fixtures import STATUS_JSON


@pytest.mark.parametrize(("path", "value"), [
    ("memory.heap.used", 805306368.0),
    ("datasources.0.open", 18.0),
    ("datasources.-1.idle", 4.0),
    ("healthy", 1.0),
    ("sessions.active", 137.0),
])
def test_resolve_dotted_paths(path, value):
    assert resolve(STATUS_JSON, path) == value


@pytest.mark.parametrize(("path", "message"), [
    ("memory.heap.free", "no 'memory.heap.free' in the document"),
    ("datasources.3.open", "no 'datasources.3' in the document"),
    ("server.name", "'server.name' is \"lucee\", not a number"),
    ("memory", "'memory' is {"),
])
def test_unresolvable_paths_say_why(path, message):
    with pytest.raises(MissingValue) as caught:
        resolve(STATUS_JSON, path)
    assert str(caught.value).startswith(message)


def test_fetch_and_export_fields(app_http):
    # fake: Lucee's JSON status page (no Lucee here)
    app = AppServerConfig(name="lucee", json_status_url=app_http.url + "/status.json", timeout=5,
                          json_status_fields={"heap_used_bytes": "memory.heap.used", "requests_total": "requests.total",
                                              "missing": "no.such.path"})
    values, problems = read_fields(fetch_document(app), app.json_status_fields)
    assert values == {"heap_used_bytes": 805306368.0, "requests_total": 982211.0}
    assert problems == ["json_status_fields.missing: no 'no' in the document"]
    exported = {s.name: (s.spec.kind, s.labels, s.value) for s in samples("lucee", values)}
    assert exported == {
        "l4agent_appserver_json_heap_used_bytes": (GAUGE, {"appserver": "lucee"}, 805306368.0),
        "l4agent_appserver_json_requests_total": (COUNTER, {"appserver": "lucee"}, 982211.0),
    }


def test_a_page_that_is_not_json(app_http):
    # fake: a JSON status route answering HTML
    app = AppServerConfig(name="lucee", json_status_url=app_http.url + "/ok", timeout=5)
    with pytest.raises(StatusPageError, match=r"JSON status .*/ok: not JSON"):
        fetch_document(app)
