"""deploy/grafana/l4agent-dashboard.json: a well-formed dashboard model whose every PromQL
expression promtool accepts and names only metrics the agent exports."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import REPO
from tests.deploy.exported import PROMETHEUS_METRICS, exported_metric_names, promql_metric_names
from tests.support.promtools import promtool_check_rules

DASHBOARD = REPO / "deploy" / "grafana" / "l4agent-dashboard.json"
# What Grafana substitutes before a query reaches Prometheus (multi-value variables become a regex).
TEMPLATE_VALUES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h",
                   "$instance": ".+", "$database": ".+", "$appserver": ".+"}


@pytest.fixture(scope="module")
def model() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels(model: dict) -> list[dict]:
    """Every panel, rows included, with the panels of collapsed rows."""
    out = []
    for panel in model["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def expressions(model: dict) -> list[tuple[str, str]]:
    """(panel title, expr) for every query target."""
    return [(p["title"], t["expr"]) for p in panels(model) for t in p.get("targets", [])]


def substitute(expr: str) -> str:
    for variable, value in sorted(TEMPLATE_VALUES.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace("${" + variable[1:] + "}", value).replace(variable, value)
    assert "$" not in expr, f"unknown template variable in {expr}"
    return expr


def test_model_has_uid_title_and_the_instance_variable(model):
    assert model["uid"] == "l4agent"
    assert model["title"]
    assert isinstance(model["schemaVersion"], int)
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    instance = variables["instance"]
    assert instance["type"] == "query" and "l4agent_up" in instance["definition"]
    assert instance["multi"] and instance["includeAll"]


def test_rows_for_host_database_app_and_findings(model):
    rows = [p["title"] for p in model["panels"] if p["type"] == "row"]
    assert len(rows) == 4
    for word in ("Host", "Database", "App", "Findings"):
        assert any(word in row for row in rows), (word, rows)


def test_panels_are_laid_out_on_the_grid_without_overlap(model):
    ids = [p["id"] for p in panels(model)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: dict[tuple[int, int], str] = {}
    for panel in panels(model):
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for y in range(pos["y"], pos["y"] + pos["h"]):
            for x in range(pos["x"], pos["x"] + pos["w"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_every_query_uses_the_datasource_variable_and_filters_by_instance(model):
    for panel in panels(model):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            assert '$instance"' in target["expr"], f"{panel['title']}: {target['expr']} ignores $instance"


def test_every_expression_is_valid_promql(model, tmp_path):
    """promtool parses each query, wrapped as a recording rule (JSON is YAML)."""
    rules = [{"record": f"l4agent_dashboard:panel_{i}", "expr": substitute(expr)}
             for i, (_, expr) in enumerate(expressions(model))]
    rules += [{"record": f"l4agent_dashboard:variable_{v['name']}",
               "expr": substitute(re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", v["definition"]))}
              for v in model["templating"]["list"] if v["type"] == "query"]
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}, indent=1))
    rc, out = promtool_check_rules(path)
    assert rc == 0, out
    assert f"SUCCESS: {len(rules)} rules found" in out


def test_a_broken_expression_is_caught(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text(json.dumps({"groups": [{"name": "x", "rules": [
        {"record": "x:y", "expr": substitute('sum by (instance (l4agent_up{instance=~"$instance"})')}]}]}))
    rc, out = promtool_check_rules(path)
    assert rc != 0


def test_expressions_name_only_exported_metrics(model):
    exported = exported_metric_names() | PROMETHEUS_METRICS
    named = set()
    for title, expr in expressions(model):
        names = promql_metric_names(substitute(expr))
        assert names, f"{title}: no metric in {expr}"
        assert not names - exported, f"{title}: {expr} names metrics the agent does not export: {names - exported}"
        named |= names
    # The dashboard covers every layer.
    for metric in ("l4agent_filesystem_used_ratio", "l4agent_database_up", "l4agent_backup_age_seconds",
                   "l4agent_appserver_up", "l4agent_diagnostic_findings", "l4agent_work_records_open"):
        assert metric in named


def test_outage_signals_have_panels(model):
    named = set()
    for _, expr in expressions(model):
        named |= promql_metric_names(substitute(expr))
    assert {"l4agent_disk_io_time_seconds_total", "l4agent_pressure_stall_seconds_total", "l4agent_oom_kills_total",
            "l4agent_major_page_faults_total", "l4agent_systemd_unit_active", "l4agent_time_synchronized",
            "l4agent_time_sync_offset_seconds", "l4agent_database_replica_running",
            "l4agent_database_replication_lag_seconds", "l4agent_database_replication_slot_retained_bytes",
            "l4agent_database_xid_age", "l4agent_database_multixact_age", "l4agent_database_identity_usage_ratio",
            "l4agent_database_connections_max", "l4agent_database_temp_bytes_total",
            "l4agent_database_tmp_disk_tables_total", "l4agent_database_slow_queries_total",
            "l4agent_database_innodb_history_length", "l4agent_database_checkpoints_total",
            "l4agent_database_wal_bytes_total", "l4agent_database_last_checkdb_age_seconds"} <= named
