"""deploy/prometheus: the alerting rules pass promtool, their unit tests pass, they name only
metrics the agent exports, and their levels are the agent's built-in thresholds."""

from __future__ import annotations

import re
import shutil

import pytest

from l4agent.agent.thresholds import BUILTIN_RULES
from tests.conftest import REPO
from tests.deploy.exported import PROMETHEUS_METRICS, exported_metric_names, promql_metric_names
from tests.support.promtools import find_binary, promtool_check_rules, promtool_test_rules

PROMETHEUS = REPO / "deploy" / "prometheus"
RULES = PROMETHEUS / "l4agent-rules.yml"
RULE_TESTS = PROMETHEUS / "l4agent-rules.test.yml"


def parse_rules(text: str) -> list[dict[str, str]]:
    """The alerts of a rules file as {alert, expr, for, severity} (our file's layout: one key per
    line, expressions on one line); enough to compare levels without a YAML library."""
    alerts: list[dict[str, str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("- alert:"):
            alerts.append({"alert": stripped.split(":", 1)[1].strip(), "for": "0m"})
        elif alerts and re.match(r"^(expr|for|severity):", stripped):
            key, value = stripped.split(":", 1)
            alerts[-1][key] = value.strip()
    return alerts


def _seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+)([smhd])", text))


def _level(text: str) -> float:
    """``0.90`` or ``14 * 86400`` -> the number."""
    value = 1.0
    for factor in text.split("*"):
        value *= float(factor)
    return value


def test_promtool_check_rules_is_clean():
    rc, out = promtool_check_rules(RULES)
    assert rc == 0, out
    assert "SUCCESS" in out


def test_rule_unit_tests_pass(tmp_path):
    # promtool resolves rule_files relative to the test file: run it on copies side by side.
    shutil.copy(RULES, tmp_path / RULES.name)
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    rc, out = promtool_test_rules(tmp_path / RULE_TESTS.name)
    assert rc == 0, out
    assert "SUCCESS" in out


def test_unit_tests_cover_disk_database_down_and_backup_age():
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert {"L4agentFilesystemFull", "L4agentDatabaseDown", "L4agentBackupStale"} <= tested
    # backups of every engine (issue 15): dump folders, the WAL archive, the agent's backup findings
    assert {"L4agentBackupFileStale", "L4agentWalArchiveFailing", "L4agentBackupFinding"} <= tested


def test_backup_alerts_cover_every_engine_and_not_only_full_backups():
    alerts = parse_rules(RULES.read_text())
    exprs = {a["alert"]: a["expr"] for a in alerts}
    assert 'type="file"' in exprs["L4agentBackupFileStale"]
    assert "l4agent_backup_archive_failures_total" in exprs["L4agentWalArchiveFailing"]
    assert 'check=~"backup' in exprs["L4agentBackupFinding"]


def test_a_broken_rule_unit_test_fails(tmp_path):
    """The unit tests can fail: a disk rule with a shorter `for` fires early and is caught."""
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    (tmp_path / RULES.name).write_text(RULES.read_text().replace("for: 30m", "for: 10m"))
    rc, out = promtool_test_rules(tmp_path / RULE_TESTS.name)
    assert rc != 0
    assert "L4agentFilesystemFull" in out


def test_rules_name_only_exported_metrics():
    exported = exported_metric_names() | PROMETHEUS_METRICS
    for alert in parse_rules(RULES.read_text()):
        unknown = promql_metric_names(alert["expr"]) - exported
        assert not unknown, f"{alert['alert']}: {alert['expr']} names metrics the agent does not export: {unknown}"


@pytest.mark.parametrize("name", [name for name, rule in BUILTIN_RULES.items() if rule.metric])
def test_levels_mirror_the_builtin_thresholds(name):
    """Every built-in metric threshold has one alert per severity with the same level, the
    same direction and the same `for`: Prometheus users get the agent's own picture."""
    rule = BUILTIN_RULES[name]
    operator = ">" if rule.direction == "above" else "<"
    alerts = [a for a in parse_rules(RULES.read_text())
              if re.fullmatch(rf"{rule.metric}(\{{[^}}]*\}})?\s*[<>]\s*[\d.* ]+", a["expr"])]
    for severity, level in (("warning", rule.warning), ("critical", rule.critical)):
        if level is None:
            assert not [a for a in alerts if a["severity"] == severity], f"{name}: no {severity} level built in"
            continue
        matching = [a for a in alerts if a["severity"] == severity]
        assert len(matching) == 1, f"{name}: expected one {severity} alert on {rule.metric}, got {matching}"
        alert = matching[0]
        op, value = re.search(r"([<>])\s*([\d.* ]+)$", alert["expr"]).groups()
        assert op == operator, alert
        assert _level(value) == pytest.approx(level), alert
        assert _seconds(alert["for"]) == rule.for_seconds, alert


def test_scrape_config_example_is_valid(tmp_path):
    """promtool check config accepts the example once its rule_files path points at the rules."""
    import subprocess

    text = (PROMETHEUS / "scrape-config.example.yml").read_text()
    assert "job_name: l4agent" in text  # the rules' up{job="l4agent"} depends on it
    config = tmp_path / "prometheus.yml"
    config.write_text(text.replace("/etc/prometheus/rules/l4agent-rules.yml", str(RULES)))
    proc = subprocess.run([find_binary("promtool"), "check", "config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout + proc.stderr


def test_promql_metric_name_extraction():
    assert promql_metric_names('1 - sum by (instance) (rate(l4agent_cpu_seconds_total{mode=~"idle|x"}[5m]))') == {
        "l4agent_cpu_seconds_total"}
    assert promql_metric_names('absent(up{job="l4agent"}) or vector(0)') == {"up"}
    assert promql_metric_names("max by (a) (foo) > bool 2 * 86400 unless on(a) bar") == {"foo", "bar"}


def test_outage_signal_alerts_exist_and_are_unit_tested():
    alerts = {a["alert"] for a in parse_rules(RULES.read_text())}
    assert {"L4agentReplicaStopped", "L4agentReplicationLag", "L4agentReplicationSlotRetention",
            "L4agentXidWraparound", "L4agentIdentityExhaustion", "L4agentConnectionsSaturated",
            "L4agentCheckdbOld"} <= alerts
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert {"L4agentReplicaStopped", "L4agentIdentityExhaustion"} <= tested
