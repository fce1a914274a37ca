"""app.heap_pressure: a heap full even at its lowest is flagged; a sawtooth that drops after GC is not."""

from __future__ import annotations

import itertools
import tomllib
import uuid

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.diagnostics.app import readings as sources
from l4agent.diagnostics.runner import run_diagnostics
from tests.support.appserver_fixtures import *  # noqa: F403
from tests.support.appserver_fixtures import tomcat_xml

GIB = 1024**3


@pytest.fixture(autouse=True)
def quick_reads(monkeypatch):
    """Status reads 50ms apart instead of 500ms: the fixture's figures do not move on their own."""
    monkeypatch.setattr(sources, "READ_SPACING", 0.05)


def diagnose(text: str):
    return run_diagnostics(parse_config(tomllib.loads(text), "test.toml"), ["app.heap_pressure"], host="h")


def tomcat_app(name: str, url: str) -> str:
    return f"""
        [[appservers]]
        name = "{name}"
        tomcat_status_url = "{url}"
        """


def test_full_heap_is_critical_and_a_gc_sawtooth_twin_is_clean(app_http):
    full_path, saw_path = f"/full-{uuid.uuid4().hex[:6]}", f"/saw-{uuid.uuid4().hex[:6]}"
    app_http.routes[full_path] = (200, tomcat_xml(free=50 * 1024**2, total=2 * GIB, max_heap=2 * GIB))
    # before GC 97% full, after GC 40%: healthy, the check must not cry wolf on the peaks
    sawtooth = itertools.cycle([tomcat_xml(free=60 * 1024**2, total=2 * GIB, max_heap=2 * GIB),
                                tomcat_xml(free=int(1.2 * GIB), total=2 * GIB, max_heap=2 * GIB)])
    app_http.routes[saw_path] = lambda request: (200, next(sawtooth))
    full, saw = f"full-{uuid.uuid4().hex[:6]}", f"saw-{uuid.uuid4().hex[:6]}"
    result = diagnose(tomcat_app(full, app_http.url + full_path) + tomcat_app(saw, app_http.url + saw_path))
    assert result.errors == []
    [finding] = result.findings
    assert (finding.check, finding.severity, finding.target, finding.object) == (
        "app.heap_pressure", "critical", full, "jvm heap")
    assert finding.summary == "JVM heap 98% full at its lowest over 3 reads (1998 of 2048 MiB)"
    assert finding.evidence["max_bytes"] == 2 * GIB
    assert "-Xmx" in finding.recommendation and "GC.class_histogram" in finding.recommendation


def test_json_heap_fields(app_http):
    path = f"/heap-{uuid.uuid4().hex[:6]}.json"
    app_http.routes[path] = (200, {"memory": {"heap": {"used": 0.9 * GIB, "max": GIB}}})
    name = f"json-{uuid.uuid4().hex[:6]}"
    result = diagnose(f"""
        [[appservers]]
        name = "{name}"
        json_status_url = "{app_http.url}{path}"
        json_status_fields = {{ heap_used_bytes = "memory.heap.used", heap_max_bytes = "memory.heap.max" }}
        """)
    [finding] = result.findings
    assert (finding.severity, finding.target, finding.evidence["lowest_used_ratio"]) == ("warning", name, 0.9)
