"""The exposition of a real collection passes promtool; counters are typed as counters."""

from __future__ import annotations

from l4agent.collectors.registry import build_collectors
from l4agent.collectors.runner import CollectionRunner
from l4agent.core.config import Config
from l4agent.exporters.prometheus import render
from l4agent.exporters.textfile import write_textfile
from tests.support.promtools import promtool_check_metrics


def live_snapshot():
    return CollectionRunner(build_collectors(Config()), "test-host").run_once()


def test_exposition_is_clean_for_promtool():
    text = render(live_snapshot().samples).decode()
    assert "# TYPE l4agent_cpu_seconds_total counter" in text
    assert "# TYPE l4agent_filesystem_used_ratio gauge" in text
    assert 'l4agent_collector_success{collector="os",target=""} 1.0' in text
    assert promtool_check_metrics(text) == ""


def test_label_values_are_escaped():
    from l4agent.core.samples import gauge

    spec = gauge("l4agent_test_info", "test")
    text = render([spec(1, name='a"b\\c\nd')]).decode()
    assert 'name="a\\"b\\\\c\\nd"' in text
    assert promtool_check_metrics(text) == ""


def test_textfile_is_written_atomically(tmp_path):
    target = tmp_path / "l4agent.prom"
    target.write_text("old")
    write_textfile(str(target), live_snapshot().samples)
    assert "l4agent_up 1.0" in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["l4agent.prom"]  # no temp file left behind
