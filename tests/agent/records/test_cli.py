"""``l4agent records list|show|close`` as a user runs them, and what they do with a bad store."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import textwrap

from l4agent.agent.records.engine import RecordEngine
from l4agent.agent.records.store import Store, store_path
from tests.agent.records.conftest import VALUE

RULE = """
[[thresholds]]
name = "value-high"
metric = "l4agent_test_value"
warning = 0.8
recommendation = "Lower the value. Tell the owner."
"""


def config_file(tmp_path, extra: str = "") -> str:
    path = tmp_path / "l4agent.toml"
    path.write_text(textwrap.dedent(f"""
        [agent]
        state_dir = "{tmp_path}/state"
        hostname = "db1"
        environment = "qa"
        [[sinks]]
        type = "command"
        name = "erp"
        command = ["true"]
        """) + extra)
    path.chmod(0o600)
    return str(path)


def seed(tmp_path, config_path: str) -> None:
    """Two records through the real engine: #1 resolved, #2 open (a different object). The rule
    watches this test's own metric, which only this process declares: the file the commands read
    does not name it (an unknown metric is a config error there)."""
    import tomllib

    from l4agent.agent.configuration import parse_config

    with open(config_path, encoding="utf-8") as handle:
        config = parse_config(tomllib.loads(handle.read() + RULE), config_path)
    store = Store.open(store_path(config.agent.state_dir))
    engine = RecordEngine(store, config, "db1", sinks=["erp"], rules=list(config.thresholds))
    engine.evaluate_samples([VALUE(0.9, catalog="a")], now=1000)
    engine.evaluate_samples([VALUE(0.1, catalog="a"), VALUE(0.95, catalog="b")], now=1015)
    store.close()


def test_list_show_close(tmp_path, run_cli):
    config = config_file(tmp_path)
    empty = run_cli("records", "list", "--format", "json", "-c", config)
    assert (empty.returncode, json.loads(empty.stdout)) == (0, {"records": []})
    assert not os.path.exists(tmp_path / "state")  # reading never creates a store
    seed(tmp_path, config)

    listed = json.loads(run_cli("records", "list", "--format", "json", "-c", config).stdout)["records"]
    assert [r["id"] for r in listed] == [2, 1]  # newest first
    first = listed[1]
    for field in ("id", "fingerprint", "status", "priority", "environment", "opened_at", "sla_due_at", "host",
                  "related", "problems", "requests", "result", "evidence", "notes"):
        assert field in first
    assert (first["status"], first["result"], first["environment"], first["priority"]) == \
        ("resolved", "Passed", "qa", "P4")
    assert first["opened_at"] == "1970-01-01T00:16:40Z"
    assert first["notes"] == [{"at": "1970-01-01T00:16:55Z", "text": first["notes"][0]["text"]}]
    assert first["related"] == {"host": "db1", "target": "db1", "object": 'l4agent_test_value{catalog="a"}',
                                "url": "http://127.0.0.1:9847/"}
    only_open = json.loads(run_cli("records", "list", "--status", "open", "--format", "json", "-c", config).stdout)
    assert [r["id"] for r in only_open["records"]] == [2]
    table = run_cli("records", "list", "-c", config).stdout
    assert table.splitlines()[0].split()[:3] == ["id", "status", "prio"] and "resolved" in table

    shown = run_cli("records", "show", "1", "-c", config)
    assert shown.returncode == 0
    text = shown.stdout
    assert text.startswith("# Work record #1: l4agent_test_value on db1: l4agent_test_value{catalog=\"a\"}")
    assert "## Requests and recommendations\n\n1. Lower the value.\n2. Tell the owner.\n3. The agent re-tests" in text
    assert "## Result\n\nPassed: the re-test was clean at 1970-01-01T00:16:55Z." in text
    assert "## Delivery\n\n- erp: 2 pending" in text

    closed = run_cli("records", "close", "2", "--note", "owner accepts the risk", "-c", config)
    assert closed.returncode == 0 and "closed work record #2" in closed.stdout
    record = json.loads(run_cli("records", "show", "2", "--format", "json", "-c", config).stdout)
    assert record["status"] == "closed" and record["notes"][-1]["text"] == "closed by hand: owner accepts the risk"
    assert record["deliveries"]["erp"]["pending"] == 2  # opened + closed, for serve to deliver

    again = run_cli("records", "close", "2", "-c", config)
    assert again.returncode == 2 and "already closed" in again.stderr
    missing = run_cli("records", "show", "99", "-c", config)
    assert missing.returncode == 2 and "no work record #99" in missing.stderr


def test_corrupt_store_is_reported_and_left_alone(tmp_path, run_cli):
    config = config_file(tmp_path)
    os.makedirs(tmp_path / "state")
    path = store_path(str(tmp_path / "state"))
    with open(path, "wb") as handle:
        handle.write(b"garbage " * 512)
    done = run_cli("records", "list", "-c", config)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: the work-record store {path} is corrupt")
    assert done.stdout == "" and open(path, "rb").read() == b"garbage " * 512


def test_serve_moves_a_corrupt_store_aside_and_says_so(tmp_path, caplog):
    from l4agent.agent.configuration import load_config
    from l4agent.agent.daemon import Daemon

    config = load_config(config_file(tmp_path))
    os.makedirs(tmp_path / "state")
    path = store_path(str(tmp_path / "state"))
    with open(path, "wb") as handle:
        handle.write(b"garbage " * 512)
    with caplog.at_level(logging.ERROR):
        daemon = Daemon(config)
    try:
        moved = [name for name in os.listdir(tmp_path / "state") if ".corrupt-" in name]
        assert len(moved) == 1
        assert open(tmp_path / "state" / moved[0], "rb").read() == b"garbage " * 512
        assert any("is corrupt" in r.message and "moved aside" in r.message for r in caplog.records)
        assert daemon.records.store.list_records() == []  # and records work again
    finally:
        daemon.records.stop()


def test_locked_store_is_a_clear_error(tmp_path, run_cli):
    config = config_file(tmp_path)
    seed(tmp_path, config)
    other = sqlite3.connect(store_path(str(tmp_path / "state")), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        done = run_cli("records", "close", "2", "-c", config)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert done.returncode == 3
    assert "is locked by another process" in done.stderr
    record = json.loads(run_cli("records", "show", "2", "--format", "json", "-c", config).stdout)
    assert record["status"] == "open"  # nothing half-written; close again now that it is free
    assert run_cli("records", "close", "2", "-c", config).returncode == 0
