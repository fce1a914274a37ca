"""The work-record service while its SQLite file is locked by another process, in-process on a
real store: collection hands evaluations over without waiting, ``stop()`` still takes under a
second, and the in-memory backlog is bounded (the oldest go first, said once in the log)."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time

import pytest

from l4agent.agent.records import service as service_module
from l4agent.agent.records.service import RecordsService
from l4agent.agent.records.store import Store, store_path
from l4agent.core.snapshot import Snapshot
from l4agent.core.units import utcnow
from tests.agent.records.conftest import VALUE, make_config

RULE = {"name": "value-high", "metric": VALUE.name, "warning": 0.8}


@contextlib.contextmanager
def locked(path: str):
    """Another process's write lock on the store (as a stuck ``records close`` would hold it)."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.fixture
def service(tmp_path):
    config = make_config(tmp_path, [RULE])
    store = Store.open(store_path(config.agent.state_dir), busy_timeout=2.0)
    service = RecordsService(config, "db1", store)
    yield service
    if not service.stopped:
        service.stop()


def snapshot(value: float) -> Snapshot:
    return Snapshot(host="db1", collected_at=utcnow(), samples=[VALUE(value)])


def test_collection_never_waits_and_stop_takes_under_a_second(service):
    service.start()
    with locked(service.store.path):
        started = time.monotonic()
        for _ in range(3):
            service.on_snapshot(snapshot(0.9))  # what the collection thread calls each round
        assert time.monotonic() - started < 0.2  # handed over, not written while it waits
        time.sleep(0.3)  # the writer is now waiting for the lock
        started = time.monotonic()
        service.stop()
        assert time.monotonic() - started < 1.0


def test_backlog_is_bounded_and_the_overflow_said_once(service, monkeypatch, caplog):
    monkeypatch.setattr(service_module, "BACKLOG_LIMIT", 5)
    monkeypatch.setattr(service.store, "busy_timeout", 0.05)
    service.store.conn.execute("PRAGMA busy_timeout = 50")
    with locked(service.store.path), caplog.at_level(logging.ERROR):
        for value in range(12):
            service.on_snapshot(snapshot(0.81 + value / 100))  # not started: written (or not) at once
        assert len(service._backlog) == 5 and service.dropped == 7 and not service.store_ok
    dropped = [r for r in caplog.records if "oldest are being dropped" in r.getMessage()]
    assert len(dropped) == 1
    assert len([r for r in caplog.records if "work records not written" in r.getMessage()]) == 1
    released = time.time()
    service.on_snapshot(snapshot(0.95))  # the lock is gone: the kept rounds are written, in order
    assert service.store_ok and not service._backlog
    (record,) = service.store.list_records()
    assert record.opened_at < released  # opened by the oldest round kept, at its own time
    assert record.last_value == 0.95
