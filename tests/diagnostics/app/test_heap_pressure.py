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
    # fake: a 2 GiB heap asserted to the MiB and a scripted GC sawtooth (a real collector's timing never repeats)
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
    # fake: Lucee's JSON status page
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


# -- against a real Tomcat 10 (tests/support/tomcat_fixtures.py) --------------------------------
# The fake above stays for what a real JVM cannot be put in on demand: a 2 GiB heap with figures
# asserted to the MiB, and a scripted GC sawtooth (97% before, 40% after each collection) whose
# timing a real collector never repeats; and for a Lucee JSON status page.

def _hold_until(server, ratio: float) -> float:
    """Make the test app hold memory (live, in application scope) until used/max, measured after
    a full GC, reaches ``ratio``; returns the ratio reached."""
    from tests.collectors.appserver.test_tomcat_real import get

    def used_ratio() -> float:
        from l4agent.collectors.appserver.tomcat import parse_status

        status = parse_status(server.fetch_status())
        return status.heap_used_ratio

    assert get(f"{server.url}/alloc?mb=48&gc=1") == 200
    reached = used_ratio()
    while reached < ratio:
        if get(f"{server.url}/alloc?mb=4&gc=1") != 200:  # OutOfMemoryError: the heap is as full as it gets
            break
        reached = used_ratio()
    return reached


def test_real_tomcat_full_heap_is_flagged_and_released_heap_is_clean(own_tomcat):
    from tests.collectors.appserver.test_tomcat_real import get
    from tests.support.tomcat_fixtures import tomcat_app_toml

    name = f"t10-{uuid.uuid4().hex[:6]}"
    config = tomcat_app_toml(own_tomcat, name, with_process=False)
    idle = diagnose(config)  # clean twin first: a fresh 128 MiB Tomcat
    assert idle.errors == [] and idle.findings == []

    reached = _hold_until(own_tomcat, 0.88)
    assert reached >= 0.86, f"the test app could only fill the heap to {reached:.2f}"
    full = diagnose(config)
    assert full.errors == []
    [finding] = full.findings
    assert (finding.check, finding.target, finding.object) == ("app.heap_pressure", name, "jvm heap")
    assert finding.severity in ("warning", "critical")
    assert finding.evidence["lowest_used_ratio"] >= 0.85
    assert 100 * 2**20 < finding.evidence["max_bytes"] <= 128 * 2**20  # -Xmx128m less one survivor space

    assert get(f"{own_tomcat.url}/alloc?release=1&gc=1") == 200
    released = diagnose(config)
    assert released.errors == [] and released.findings == []
