"""The trends recorder inside serve: CPU busy from the counters between collections and the
available memory, written into the real history file every interval."""

from __future__ import annotations

import datetime as dt

import pytest

from l4agent.collectors import system
from l4agent.core.history import History
from l4agent.core.snapshot import Snapshot
from l4agent.exporters.report import inputs as sources
from l4agent.exporters.report.trends import TrendRecorder, busy_ratio, cpu_totals


def snap(ts: float, idle: float, user: float, memory: float = 0.5) -> Snapshot:
    samples = [system.CPU_SECONDS(idle / 2, cpu="0", mode="idle"), system.CPU_SECONDS(idle / 2, cpu="1", mode="idle"),
               system.CPU_SECONDS(user, cpu="0", mode="user"), system.MEMORY_AVAILABLE_RATIO(memory)]
    return Snapshot("db1", dt.datetime.fromtimestamp(ts, dt.UTC), samples, [])


def test_busy_ratio_between_two_collections():
    assert cpu_totals(snap(0, 100, 50).samples) == (100, 150)
    assert busy_ratio((100, 150), (130, 220)) == pytest.approx(1 - 30 / 70)
    assert busy_ratio((100, 150), (100, 150)) is None  # no time passed
    assert busy_ratio((100, 150), (10, 20)) is None  # counters reset (reboot)


def test_records_one_point_per_interval(tmp_path):
    history = History.in_state_dir(tmp_path)
    recorder = TrendRecorder(history, interval=300)
    t0 = 1_800_000_000.0
    recorder(snap(t0, 100, 0))
    recorder(snap(t0 + 15, 110, 5))  # too soon to record, but the live value is known
    assert recorder.latest_busy == pytest.approx(5 / 15)
    recorder(snap(t0 + 300, 300, 100, memory=0.42))
    assert history.points(sources.CPU_BUSY, {}) == [(t0 + 300, pytest.approx(100 / 300))]
    assert history.points(sources.MEMORY_AVAILABLE, {}) == [(t0 + 300, 0.42)]
    recorder(snap(t0 + 400, 400, 100))
    assert len(history.points(sources.CPU_BUSY, {})) == 1
    recorder.stop()


def test_a_broken_history_never_stops_collection(tmp_path):
    history = History.in_state_dir(tmp_path)
    history.close()  # every write now fails
    recorder = TrendRecorder(history, interval=0)
    recorder(snap(1.0, 1, 1))
    recorder(snap(2.0, 2, 2))  # logged, not raised
