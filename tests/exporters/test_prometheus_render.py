"""The own text renderer writes byte for byte what prometheus-client's generate_latest writes,
and a scrape of the daemon's exposition serves the stored snapshot's rendering plus the extra
sources, re-rendered only when the snapshot changes."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest

from l4agent.collectors.registry import build_collectors
from l4agent.collectors.runner import CollectionRunner
from l4agent.core.config import Config
from l4agent.core.samples import Sample, counter, gauge
from l4agent.core.snapshot import Snapshot
from l4agent.core.units import utcnow
from l4agent.exporters.prometheus import SnapshotCollector, go_float, metric_families, render


def client_render(samples: list[Sample]) -> bytes:
    """The reference: prometheus-client's own exposition of the same samples."""
    registry = CollectorRegistry(auto_describe=False)

    class _Once:
        def collect(self):
            return metric_families(samples)

    registry.register(_Once())
    return generate_latest(registry)


def test_live_collection_renders_like_prometheus_client():
    samples = CollectionRunner(build_collectors(Config()), "test-host").run_once().samples
    assert len(samples) > 50
    assert render(samples) == client_render(samples)


def test_values_like_go():
    for value in (0.0, -0.0, 1.0, 1, 0.5, 1e-9, 123456.0, 1234567.0, 2.5e7, 12345678901234.0, -2.5e7,
                  math.inf, -math.inf, math.nan, 1e300, 5e-324):
        spec = gauge("l4agent_value", "v")
        assert render([Sample(spec, {}, value)]) == client_render([Sample(spec, {}, value)]), value
    assert go_float(2.5e7) == "2.5e+07"


metric_names = st.sampled_from(["l4agent_a", "l4agent_b_total", "l4agent:c", "_d"])
label_names = st.sampled_from(["mode", "cpu", "a_b", "_x", "Z9"])
label_values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)
values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**12))


@st.composite
def samples(draw):
    name = draw(metric_names)
    spec = counter(name, draw(st.text(max_size=12))) if name.endswith("_total") else gauge(name, draw(st.text(max_size=12)))
    return Sample(spec, draw(st.dictionaries(label_names, label_values, max_size=3)), draw(values))


@settings(max_examples=300, deadline=None)
@given(st.lists(samples(), max_size=12))
def test_any_samples_render_like_prometheus_client(drawn):
    assert render(drawn) == client_render(drawn)


def test_unusual_label_name_goes_through_prometheus_client():
    spec = gauge("l4agent_odd", "odd label")
    drawn = [Sample(spec, {"bad-name": "x"}, 1.0)]
    assert render(drawn) == client_render(drawn)


def test_scrape_serves_the_cached_snapshot_plus_extras():
    up, records = gauge("l4agent_up", "up"), gauge("l4agent_work_records_open", "open")
    state = {"snapshot": Snapshot("h", utcnow(), [up(1)]), "open": 0}
    exposition = SnapshotCollector(lambda: state["snapshot"], [lambda: [records(state["open"], priority="P1")]])
    first = exposition.exposition()
    assert first == render([up(1), records(0, priority="P1")])
    cached_before = exposition._rendered[2]
    state["open"] = 3  # an extra source changes between snapshots: served fresh
    assert exposition.exposition() == render([up(1), records(3, priority="P1")])
    assert exposition._rendered[2] is cached_before  # the snapshot part was not rendered again
    state["snapshot"] = Snapshot("h", utcnow(), [up(0)])
    assert exposition.exposition() == render([up(0), records(3, priority="P1")])
    state["snapshot"].samples.append(gauge("l4agent_late", "appended after collection")(7))
    assert b"l4agent_late 7.0" in exposition.exposition()


def test_metric_in_snapshot_and_extra_stays_one_family():
    findings = gauge("l4agent_diagnostic_findings", "findings")
    snapshot = Snapshot("h", utcnow(), [findings(1, check="a")])
    exposition = SnapshotCollector(lambda: snapshot, [lambda: [findings(2, check="b")]])
    text = exposition.exposition()
    assert text.count(b"# TYPE l4agent_diagnostic_findings gauge") == 1
    assert text == render([findings(1, check="a"), findings(2, check="b")])


def test_no_snapshot_yet_serves_the_extras_alone():
    records = gauge("l4agent_work_records_open", "open")
    exposition = SnapshotCollector(lambda: None, [lambda: [records(0, priority="P1")]])
    assert exposition.exposition() == render([records(0, priority="P1")])
    assert SnapshotCollector(lambda: None).exposition() == b""
