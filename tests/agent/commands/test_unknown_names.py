"""Issue 15, 4: unknown names are usage or config errors (exit 2, one line each), never a run
that "finds nothing": a ``--check`` prefix matching no check, a ``--target`` naming no target,
a ``[[thresholds]]`` on a metric the agent does not export or on a check that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

from l4agent.agent.metric_names import exported_metric_names
from l4agent.diagnostics.registry import all_checks, check_ids

REPO = Path(__file__).resolve().parents[3]


def test_a_check_prefix_matching_nothing_is_exit_2(run_cli, write_config, tmp_path):
    path = write_config(f'[agent]\nstate_dir = "{tmp_path}"\n')
    done = run_cli("diagnose", "-c", path, "--check", "nosuch", "--check", "schema.no_primary_keys")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "usage error: --check 'nosuch' matches no check (l4agent diagnose --list shows them)",
        "usage error: --check 'schema.no_primary_keys' matches no check (l4agent diagnose --list shows them)"]


def test_a_target_naming_nothing_is_exit_2(run_cli, write_config, tmp_path):
    path = write_config(f'[agent]\nstate_dir = "{tmp_path}"\n')
    done = run_cli("diagnose", "-c", path, "--target", "nosuch")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("usage error: --target 'nosuch' names no target (configured: ")
    assert "(connect)" not in done.stderr


def test_thresholds_on_unknown_metric_or_check_are_config_errors(run_cli, write_config, tmp_path):
    path = write_config(f"""\
        [agent]
        state_dir = "{tmp_path}"

        [[thresholds]]
        metric = "l4agent_filesystem_use_ratio"
        warning = 0.8

        [[thresholds]]
        check = "schema.no_primary_keys"

        [[thresholds]]
        name = "fine"
        metric = "l4agent_filesystem_used_ratio"
        warning = 0.8
        """)
    for command in (("config", "check"), ("diagnose", "--check", "schema")):
        done = run_cli(*command, "-c", path)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.splitlines() == [
            f"config error: {path}: thresholds[0].metric: 'l4agent_filesystem_use_ratio' is not a metric the agent "
            "exports (did you mean 'l4agent_filesystem_used_ratio'?)",
            f"config error: {path}: thresholds[1].check: 'schema.no_primary_keys' is not a check id "
            "(l4agent diagnose --list shows them); did you mean 'schema.no_primary_key'?",
        ]


def test_every_declared_metric_is_known_and_every_check_id_too():
    declared = set()
    for package in ("agent", "collectors", "exporters", "diagnostics", "dbaccess"):
        for path in (REPO / package).rglob("*.py"):
            declared |= set(re.findall(r'\b(?:gauge|counter)\(\s*"(l4agent_[a-z0-9_]+)"', path.read_text()))
    assert declared and declared <= exported_metric_names(), sorted(declared - exported_metric_names())
    assert check_ids() == {check.id for check in all_checks()}
