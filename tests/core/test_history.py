"""The forecast history under state_dir: points in and out, throttled recording, retention, and
the daemon plugin recording from a real collection round."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.core.history import DB_SIZE, FS_FREE, FS_SIZE, FS_USED, HISTORY_FILE, History
from l4agent.core.samples import gauge
from l4agent.core.snapshot import Snapshot

T0 = 1_800_000_000.0


def snapshot_at(ts: float, free: float = 40e9, db_size: float = 5e9) -> Snapshot:
    """A snapshot with the series the history keeps, plus one it does not."""
    labels = {"mountpoint": "/data", "fstype": "ext4", "device": "/dev/sdb1"}
    samples = [
        gauge(FS_SIZE, "")(100e9, **labels),
        gauge(FS_FREE, "")(free, **labels),
        gauge("l4agent_filesystem_used_ratio", "")(0.5, **labels),
        gauge(DB_SIZE, "")(db_size, database="erp", catalog="workcube_cf"),
        gauge("l4agent_load1", "")(0.3),
    ]
    return Snapshot("db1", dt.datetime.fromtimestamp(ts, dt.UTC), samples)


def test_points_round_trip_by_exact_labels_and_time(tmp_path):
    history = History.in_state_dir(tmp_path / "state")
    for i in range(5):
        history.record(FS_FREE, {"mountpoint": "/"}, 100.0 - i, ts=T0 + 60 * i)
    history.record(FS_FREE, {"mountpoint": "/var"}, 7.0, ts=T0)
    assert history.points(FS_FREE, {"mountpoint": "/"}) == [(T0 + 60 * i, 100.0 - i) for i in range(5)]
    assert history.points(FS_FREE, {"mountpoint": "/"}, since=T0 + 120) == [(T0 + 120, 98.0), (T0 + 180, 97.0),
                                                                            (T0 + 240, 96.0)]
    assert history.points(FS_FREE, {"mountpoint": "/nowhere"}) == []
    assert history.label_sets(FS_FREE) == [{"mountpoint": "/"}, {"mountpoint": "/var"}]
    journal = sqlite3.connect(tmp_path / "state" / HISTORY_FILE).execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal"
    assert oct(os.stat(tmp_path / "state").st_mode & 0o777) == "0o750"
    history.close()


def test_snapshots_are_recorded_at_most_every_interval(tmp_path):
    history = History.in_state_dir(tmp_path, interval=300)
    assert history.record_snapshot(snapshot_at(T0, free=40e9))
    assert not history.record_snapshot(snapshot_at(T0 + 15, free=39e9))  # the next collection round
    assert history.record_snapshot(snapshot_at(T0 + 300, free=38e9))
    assert history.points(FS_FREE, {"mountpoint": "/data"}) == [(T0, 40e9), (T0 + 300, 38e9)]
    assert history.points(DB_SIZE, {"database": "erp", "catalog": "workcube_cf"}) == [(T0, 5e9), (T0 + 300, 5e9)]
    # df's Used from the used ratio and free bytes: used / (used + free) = 0.5
    assert history.points(FS_USED, {"mountpoint": "/data"})[0] == (T0, 40e9)
    assert history.label_sets("l4agent_load1") == []
    history.close()
    # a restarted daemon continues the rhythm from the newest stored point
    again = History.in_state_dir(tmp_path, interval=300)
    assert not again.record_snapshot(snapshot_at(T0 + 400))
    assert again.record_snapshot(snapshot_at(T0 + 600))
    again.close()


def test_points_older_than_the_retention_are_pruned(tmp_path):
    history = History.in_state_dir(tmp_path, retention=86400)
    history.record(FS_FREE, {"mountpoint": "/"}, 1.0, ts=T0 - 2 * 86400)
    history.record(FS_FREE, {"mountpoint": "/old"}, 1.0, ts=T0 - 2 * 86400)
    history.record(FS_FREE, {"mountpoint": "/"}, 2.0, ts=T0)
    assert history.prune(now=T0) == 2
    assert history.points(FS_FREE, {"mountpoint": "/"}) == [(T0, 2.0)]
    assert history.label_sets(FS_FREE) == [{"mountpoint": "/"}]
    history.close()


def test_existing_is_none_without_a_file_and_reads_without_writing(tmp_path):
    assert History.existing(None) is None
    assert History.existing(tmp_path / "missing") is None
    writer = History.in_state_dir(tmp_path)
    writer.record(FS_FREE, {"mountpoint": "/"}, 5.0, ts=T0)
    reader = History.existing(tmp_path)
    assert reader is not None and reader.points(FS_FREE, {"mountpoint": "/"}) == [(T0, 5.0)]
    with pytest.raises(sqlite3.OperationalError):
        reader.record(FS_FREE, {"mountpoint": "/"}, 6.0)
    reader.close()
    writer.close()


def daemon_config(state_dir) -> object:
    from tests.conftest import free_port

    return parse_config({"agent": {"state_dir": str(state_dir), "listen": f"127.0.0.1:{free_port()}"}}, "test.toml")


def test_the_daemon_plugin_records_a_real_collection_round(tmp_path):
    from l4agent.agent.daemon import Daemon

    daemon = Daemon(daemon_config(tmp_path / "state"))
    assert daemon.history is not None
    try:
        snapshot = daemon.collect_now()
        daemon.collect_now()  # a second round within the interval is not recorded
    finally:
        daemon.stop()
    history = History.existing(tmp_path / "state")
    mountpoints = [labels["mountpoint"] for labels in history.label_sets(FS_FREE)]
    assert "/" in mountpoints
    root = history.points(FS_FREE, {"mountpoint": "/"})
    assert root == [(snapshot.collected_at.timestamp(), snapshot.value(FS_FREE, mountpoint="/"))]
    assert len(history.points(FS_SIZE, {"mountpoint": "/"})) == 1
    assert len(history.points(FS_USED, {"mountpoint": "/"})) == 1
    history.close()


def test_an_unusable_state_dir_disables_history_with_one_warning(tmp_path, caplog):
    from l4agent.agent.daemon import Daemon

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with caplog.at_level(logging.WARNING, logger="l4agent.agent.daemon"):
        daemon = Daemon(daemon_config(blocker / "state"))
    try:
        daemon.collect_now()  # collection goes on
    finally:
        daemon.stop()
    warnings = [r.getMessage() for r in caplog.records if r.name == "l4agent.agent.daemon"]
    assert len(warnings) == 1 and warnings[0].startswith(f"history disabled: cannot open {blocker}/state/history")
