"""The SQLite store: WAL, schema version and migrations, corrupt and locked files."""

from __future__ import annotations

import os
import sqlite3
import stat
import time

import pytest

from l4agent.agent.records import store as store_module
from l4agent.agent.records.store import (
    SCHEMA_VERSION,
    Store,
    StoreCorrupt,
    StoreError,
    StoreLocked,
    StoreMissing,
)


def test_new_store_is_wal_versioned_and_private(tmp_path):
    path = str(tmp_path / "state" / "records.sqlite")
    store = Store.open(path)
    try:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.schema_version == SCHEMA_VERSION
        assert len(store.store_id) == 32
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    finally:
        store.close()
    with pytest.raises(StoreMissing):
        Store.open(str(tmp_path / "other.sqlite"), create=False)
    assert not os.path.exists(tmp_path / "other.sqlite")


def test_migrations_run_in_order_and_only_once(tmp_path, monkeypatch):
    path = str(tmp_path / "records.sqlite")
    Store.open(path).close()
    extra = "CREATE TABLE later_addition (x INTEGER); INSERT INTO later_addition VALUES (1)"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, extra])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    for _ in range(2):
        store = Store.open(path)
        assert store.schema_version == SCHEMA_VERSION + 1
        assert store.conn.execute("SELECT COUNT(*) FROM later_addition").fetchone()[0] == 1
        store.close()


def test_a_newer_store_is_refused_untouched(tmp_path):
    path = str(tmp_path / "records.sqlite")
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this l4agent understands"):
        Store.open(path)


def test_corrupt_store_is_an_error_or_moved_aside_never_replaced(tmp_path):
    path = str(tmp_path / "records.sqlite")
    garbage = b"this is not SQLite, it is somebody's precious data" * 100
    with open(path, "wb") as handle:
        handle.write(garbage)
    with pytest.raises(StoreCorrupt, match=f"{path} is corrupt"):
        Store.open(path)
    with open(path, "rb") as handle:
        assert handle.read() == garbage  # a reader never touches it
    store = Store.open(path, repair=True)
    try:
        assert store.recovered_from and store.recovered_from.startswith(path + ".corrupt-")
        with open(store.recovered_from, "rb") as handle:
            assert handle.read() == garbage  # moved, byte for byte
        assert store.list_records() == []
    finally:
        store.close()


def test_damaged_pages_are_detected(tmp_path):
    path = str(tmp_path / "records.sqlite")
    store = Store.open(path)
    with store.transaction() as tx:
        for i in range(300):
            tx.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"k{i}", "v" * 200))
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    with open(path, "r+b") as handle:  # scribble over the middle of the file, past the header
        handle.seek(4096 * 3)
        handle.write(b"\xff" * 4096 * 4)
    with pytest.raises(StoreCorrupt):
        Store.open(path)


def test_locked_store_is_a_clear_error_and_nothing_is_lost(tmp_path):
    path = str(tmp_path / "records.sqlite")
    store = Store.open(path, busy_timeout=0.3)
    with store.transaction() as tx:
        tx.conn.execute("INSERT INTO meta (key, value) VALUES ('kept', 'yes')")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        started = time.monotonic()
        with pytest.raises(StoreLocked, match="is locked by another process"):
            with store.transaction() as tx:
                tx.conn.execute("INSERT INTO meta (key, value) VALUES ('lost?', 'no')")
        assert time.monotonic() - started < 3
        assert store._read("SELECT value FROM meta WHERE key = 'kept'")[0][0] == "yes"  # reads still work
    finally:
        other.execute("ROLLBACK")
        other.close()
    with store.transaction() as tx:  # once released, writes work again
        tx.conn.execute("INSERT INTO meta (key, value) VALUES ('after', 'yes')")
    store.close()
