"""Fixtures for the work-record tests: a real SQLite store in tmp_path and engines over it."""

from __future__ import annotations

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.agent.records.engine import RecordEngine
from l4agent.agent.records.store import Store, store_path
from l4agent.core.samples import gauge

VALUE = gauge("l4agent_test_value", "A value the tests set.")


def make_config(tmp_path, thresholds=(), records=None, agent=None, sinks=(), **extra):
    data = {"agent": {"state_dir": str(tmp_path / "state"), "hostname": "db1", "interval": "15s",
                      **(agent or {})},
            "thresholds": [dict(t) for t in thresholds],
            "records": dict(records or {}),
            "sinks": [dict(s) for s in sinks], **extra}
    return parse_config(data, str(tmp_path / "l4agent.toml"))


@pytest.fixture
def store(tmp_path):
    opened = Store.open(store_path(str(tmp_path / "state")))
    yield opened
    opened.close()


@pytest.fixture
def engine_for(tmp_path, store):
    """engine_for(thresholds=[...], records={...}, agent={...}, sinks=[...]) -> RecordEngine on ``store``,
    with only the given rules (no built-ins) unless builtins=True."""

    def make(thresholds=(), records=None, agent=None, sinks=(), builtins=False, **extra):
        config = make_config(tmp_path, thresholds, records, agent, sinks, **extra)
        rules = None if builtins else list(config.thresholds)
        return RecordEngine(store, config, "db1", sinks=[s.name for s in config.sinks], rules=rules)

    return make
