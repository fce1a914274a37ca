"""Rule semantics: levels with hysteresis, the "for" timer, readings, built-in rules and overrides."""

from __future__ import annotations

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.agent.thresholds import (
    BUILTIN_RULES,
    Timer,
    advance,
    classify,
    effective_rules,
    finding_readings,
    metric_readings,
    series_object,
)
from l4agent.core.config import ConfigError, ThresholdConfig
from l4agent.core.samples import gauge
from l4agent.diagnostics.base import Finding

FS = gauge("l4agent_filesystem_used_ratio", "test")
DB_UP = gauge("l4agent_database_up", "test")

DISK = ThresholdConfig(name="disk", metric=FS.name, warning=0.80, critical=0.90, recovery_margin=0.05)
DOWN = ThresholdConfig(name="down", metric=DB_UP.name, direction="below", critical=1.0, for_seconds=120)


# -- levels and hysteresis ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "previous", "expected"), [
    (0.79, None, None),
    (0.80, None, None),          # "above" is strictly above the line
    (0.81, None, "warning"),
    (0.91, None, "critical"),
    (0.88, "critical", "critical"),  # inside the margin: still critical, no flapping
    (0.85, "critical", "warning"),   # back past critical - margin, still above warning
    (0.76, "warning", "warning"),    # inside the warning margin
    (0.75, "warning", None),         # level - margin reached: clean
    (0.76, None, None),              # the margin only keeps a breach, it never starts one
])
def test_levels_above_with_hysteresis(value, previous, expected):
    assert classify(DISK, value, previous) == expected


def test_levels_below():
    assert classify(DOWN, 0.0, None) == "critical"
    assert classify(DOWN, 1.0, None) is None
    tls = BUILTIN_RULES["tls-expiry"]
    assert classify(tls, 20 * 86400, None) is None
    assert classify(tls, 10 * 86400, None) == "warning"
    assert classify(tls, 2 * 86400, None) == "critical"


# -- the "for" timer ----------------------------------------------------------------------------


def test_for_must_hold_at_every_evaluation():
    rule = ThresholdConfig(name="r", metric="m", warning=1.0, for_seconds=30)
    timer, severity = advance(None, "warning", 0, rule, max_gap=60)
    assert severity is None and timer.since == 0
    timer, severity = advance(timer, "warning", 15, rule, 60)
    assert severity is None
    timer, severity = advance(timer, "warning", 30, rule, 60)
    assert severity == "warning" and timer.since == 0
    # one clean evaluation ends it; the next breach starts from zero again
    timer, severity = advance(timer, None, 45, rule, 60)
    assert timer is None and severity is None
    timer, severity = advance(timer, "warning", 50, rule, 60)
    timer, severity = advance(timer, "warning", 75, rule, 60)
    assert severity is None and timer.since == 50


def test_for_restarts_after_a_gap_nobody_watched():
    rule = ThresholdConfig(name="r", metric="m", warning=1.0, for_seconds=30)
    timer = Timer("warning", since=0, critical_since=None, last_eval_at=10)
    assert advance(timer, "warning", 40, rule, max_gap=60)[1] == "warning"  # resumed: held since 0
    timer, severity = advance(timer, "warning", 100, rule, max_gap=60)  # 90s unseen
    assert severity is None and timer.since == 100


def test_critical_needs_its_own_for():
    rule = ThresholdConfig(name="r", metric="m", warning=1.0, critical=2.0, for_seconds=30)
    timer, _ = advance(None, "warning", 0, rule, 60)
    timer, severity = advance(timer, "critical", 20, rule, 60)
    assert severity is None  # neither held 30s yet
    timer, severity = advance(timer, "critical", 35, rule, 60)
    assert severity == "warning"  # the breach held 35s, critical only 15s
    timer, severity = advance(timer, "critical", 50, rule, 60)
    assert severity == "critical"


def test_critical_only_rule_is_pending_until_held():
    timer, severity = advance(None, "critical", 0, DOWN, 300)
    assert severity is None
    assert advance(timer, "critical", 120, DOWN, 300)[1] == "critical"


# -- readings -------------------------------------------------------------------------------------


def test_metric_readings_match_labels_and_name_the_object():
    samples = [FS(0.95, mountpoint="/", fstype="ext4", device="/dev/vda"),
               FS(0.50, mountpoint="/data", fstype="xfs", device="/dev/vdb"),
               DB_UP(1, database="erp", engine="postgresql")]
    rule = ThresholdConfig(name="root", metric=FS.name, labels={"mountpoint": "/"}, warning=0.9)
    (reading,) = metric_readings(rule, samples, "db1", {})
    assert (reading.target, reading.object, reading.level) == ("db1", "/", "warning")
    assert reading.fingerprint == "root|db1|/"
    (db,) = metric_readings(DOWN, samples, "db1", {})
    assert (db.target, db.object, db.level) == ("erp", "l4agent_database_up", None)


def test_nan_is_no_data():
    assert metric_readings(DISK, [FS(float("nan"), mountpoint="/")], "h", {}) == []


def test_series_object_keeps_identifying_labels():
    assert series_object("m", {"probe": "p", "kind": "tcp"}, "probe") == "m"
    assert series_object("m", {"database": "erp", "catalog": "c1"}, "database") == 'm{catalog="c1"}'


def test_finding_readings_skip_info_and_match_labels():
    findings = [Finding("backup.stale", "critical", "erp", "erp.main", "backup 3d old", "back it up"),
                Finding("backup.stale", "info", "erp", "erp.other", "fine", ""),
                Finding("backup.stale", "warning", "crm", "crm.main", "2d old", ""),
                Finding("perf.blocking", "critical", "erp", "x", "blocked", "")]
    rule = ThresholdConfig(name="backup-stale", check="backup.stale")
    assert [(r.object, r.level) for r in finding_readings(rule, findings)] == [("erp.main", "critical"),
                                                                                ("crm.main", "warning")]
    only_erp = ThresholdConfig(name="b", check="backup.stale", labels={"target": "erp"})
    assert [r.object for r in finding_readings(only_erp, findings)] == ["erp.main"]


# -- built-in rules and overrides --------------------------------------------------------------


def test_builtin_rules_cover_every_server():
    names = {rule.name for rule in effective_rules(parse_config({}, "t.toml"))}
    assert names == set(BUILTIN_RULES)
    disk = BUILTIN_RULES["disk-used"]
    assert (disk.warning, disk.critical, disk.for_seconds) == (0.90, 0.95, 1800)
    assert BUILTIN_RULES["backup-stale"].check == "backup.stale"
    assert BUILTIN_RULES["disk-full-forecast"].check == "capacity.disk_full_forecast"
    assert BUILTIN_RULES["tls-expiry"].warning == 14 * 86400


def test_override_builtin_by_name_keeps_the_other_keys():
    config = parse_config({"thresholds": [{"name": "disk-used", "for": "5m", "labels": {"mountpoint": "/"}},
                                          {"name": "swap-used", "enabled": False}]}, "t.toml")
    rules = {rule.name: rule for rule in effective_rules(config)}
    assert "swap-used" not in rules
    disk = rules["disk-used"]
    assert (disk.metric, disk.warning, disk.critical, disk.for_seconds) == (FS.name, 0.90, 0.95, 300)
    assert disk.labels == {"mountpoint": "/"}
    assert len([r for r in effective_rules(config) if r.name == "disk-used"]) == 1


def test_own_rule_still_needs_a_metric_or_check():
    with pytest.raises(ConfigError) as info:
        parse_config({"thresholds": [{"name": "mine", "warning": 1}]}, "t.toml")
    assert "give exactly one of metric or check" in info.value.lines[0]
