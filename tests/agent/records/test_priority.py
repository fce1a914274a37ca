"""The priority matrix (impact x urgency) and SLA due times, as the README table states them."""

from __future__ import annotations

import pytest

from l4agent.agent.records.priority import more_urgent, priority_for, sla_due
from l4agent.core.config import RecordsConfig


@pytest.mark.parametrize(("severity", "environment", "expected"), [
    ("critical", "production", "P1"), ("warning", "production", "P2"),
    ("critical", "beta", "P2"), ("warning", "beta", "P3"),
    ("critical", "qa", "P3"), ("warning", "qa", "P4"),
    ("critical", "development", "P3"), ("warning", "development", "P4"),
])
def test_matrix(severity, environment, expected):
    assert priority_for(severity, environment) == expected


def test_rule_priority_overrides_the_matrix():
    assert priority_for("warning", "development", override="P1") == "P1"


def test_sla_defaults_and_urgency_order():
    sla = RecordsConfig().sla
    assert [sla_due(p, 0.0, sla) for p in ("P1", "P2", "P3", "P4")] == [4 * 3600, 8 * 3600, 3 * 86400, 10 * 86400]
    assert more_urgent("P3", "P1") == "P1" and more_urgent("P2", "P4") == "P2"


def test_readme_table_matches_the_code():
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    for severity in ("critical", "warning"):
        row = next(line for line in readme.splitlines() if line.startswith(f"| {severity} |"))
        cells = [c.strip() for c in row.strip("|").split("|")][1:]
        assert cells == [priority_for(severity, env) for env in ("production", "beta", "qa", "development")]
