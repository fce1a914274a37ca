"""The database collector against a real SQL Server (opt-in: ``-m mssql_live`` with ``L4_MSSQL_DSN``
set, the DSN without a password, which comes from ``L4_MSSQL_PASSWORD``).

Run it with the monitoring login of the README's "Database grants" section: every step must
succeed under exactly those grants, and the values must be plausible. A fault check (a wrong
password) proves the one-line error on the real driver.
"""

from __future__ import annotations

import json
import os

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.collectors.database.collector import from_config
from l4agent.collectors.runner import CollectionRunner

pytestmark = [
    pytest.mark.mssql_live,
    pytest.mark.skipif(not os.environ.get("L4_MSSQL_DSN"), reason="set L4_MSSQL_DSN to run against SQL Server"),
    pytest.mark.timeout(120),
]


def live_config(**extra):
    target = {"name": "live", "engine": "mssql", "dsn": os.environ["L4_MSSQL_DSN"], **extra}
    if os.environ.get("L4_MSSQL_PASSWORD") and "password_env" not in extra:
        target["password_env"] = "L4_MSSQL_PASSWORD"
    return parse_config({"databases": [target]}, "live.toml")


def test_whole_collector_against_sql_server():
    runner = CollectionRunner(from_config(live_config()), host="testhost")
    try:
        snapshot = runner.run_once()
        again = runner.run_once()  # the kept connection serves a second round
    finally:
        runner.close()
    assert snapshot.errors == [] and again.errors == []
    assert snapshot.value("l4agent_database_up", database="live", engine="mssql") == 1
    [info] = snapshot.find("l4agent_database_info", database="live")
    assert info.labels["version"][:2].isdigit()
    for metric in ("l4agent_database_sessions", "l4agent_database_active_sessions",
                   "l4agent_database_blocked_sessions", "l4agent_database_longest_transaction_seconds",
                   "l4agent_database_connections", "l4agent_database_connections_max",
                   "l4agent_database_cache_hit_ratio", "l4agent_database_deadlocks_total",
                   "l4agent_database_transactions_total"):
        assert snapshot.find(metric, database="live"), metric
    assert snapshot.value("l4agent_database_size_bytes", database="live", catalog="master", kind="data") > 0
    assert snapshot.value("l4agent_database_size_bytes", database="live", catalog="master", kind="log") > 0
    assert 0 < snapshot.value("l4agent_database_cache_hit_ratio", database="live") <= 1
    assert snapshot.value("l4agent_database_connections", database="live") >= 1
    # master and msdb exist everywhere: each has a backup age or is flagged as never backed up
    for catalog in ("master", "msdb"):
        assert snapshot.find("l4agent_backup_missing", database="live", catalog=catalog) or \
            snapshot.find("l4agent_backup_preferred_replica", database="live", catalog=catalog)


def test_wrong_password_is_one_line(monkeypatch):
    monkeypatch.setenv("L4_TEST_MSSQL_WRONG", "not-the-password-1")
    runner = CollectionRunner(from_config(live_config(password_env="L4_TEST_MSSQL_WRONG")), host="testhost")
    try:
        snapshot = runner.run_once()
    finally:
        runner.close()
    [error] = snapshot.errors
    assert error["error"].startswith("database 'live': login failed for user ")
    assert "not-the-password-1" not in json.dumps(snapshot.to_dict())
    assert snapshot.value("l4agent_database_up", database="live", engine="mssql") == 0
