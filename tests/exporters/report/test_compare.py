"""New, resolved and worse since the last report; the kept summaries in state_dir."""

from __future__ import annotations

import json
import stat

from l4agent.exporters.report.compare import KEEP, SummaryStore, compare, summary


def problems(**severities: str) -> dict:
    return {key: {"severity": severity, "text": f"problem {key}"} for key, severity in severities.items()}


def test_new_resolved_and_worse():
    baseline = summary(1000.0, "warning", problems(a="warning", b="warning", c="critical"))
    result = compare(problems(b="critical", c="critical", d="warning"), baseline)
    assert result.baseline_at == 1000.0
    assert result.new == [{"severity": "warning", "text": "problem d"}]
    assert result.resolved == [{"severity": "warning", "text": "problem a"}]
    assert result.worse == [{"severity": "critical", "text": "problem b"}]
    assert result.to_dict()["baseline_at"] == "1970-01-01T00:16:40Z"


def test_baseline_is_the_summary_closest_to_since(tmp_path):
    store = SummaryStore(str(tmp_path))
    day = 86400.0
    for generated_at in (10 * day - 2 * day, 10 * day - day + 1800, 10 * day - 3600):
        store.save(summary(generated_at, "ok", {}))
    assert store.baseline(day, 10 * day)["generated_at"] == 10 * day - day + 1800  # yesterday's, 30 min late
    assert store.baseline(3600, 10 * day)["generated_at"] == 10 * day - 3600
    assert SummaryStore(str(tmp_path / "none")).baseline(day, 10 * day) is None


def test_keeps_the_newest_and_survives_a_broken_file(tmp_path):
    store = SummaryStore(str(tmp_path))
    store.path.write_text("{not json")
    assert store.load() == []
    for i in range(KEEP + 5):
        store.save(summary(float(i), "ok", {}))
    kept = json.loads(store.path.read_text())
    assert len(kept) == KEEP and kept[0]["generated_at"] == 5.0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report-summaries.")]  # no temp files left
    assert stat.S_IMODE(store.path.stat().st_mode) & 0o077 == 0
