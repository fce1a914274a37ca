"""The clock jumping (an NTP step, a VM resumed, someone setting the date by hand).

The daemon's own timers (the collection schedule, /healthz staleness, web-server deadlines)
run on the monotonic clock: proven by running a real Daemon while ``time.time`` jumps an
hour back and then a day forward. Work records need wall-clock times (they are what people
read); the engine, fed an injected clock, shows that a jump back or forward neither breaks a
"for" timer nor silences or floods the notes, and the outbox does not sit out a jump back.
"""

from __future__ import annotations

import time

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.agent.records.engine import RecordEngine
from l4agent.agent.records.outbox import Outbox
from l4agent.agent.records.sinks import build_sinks
from l4agent.agent.records.store import Store, store_path
from tests.agent.records.conftest import VALUE, make_config
from tests.conftest import free_port
from tests.e2e.serve_process import http_get

T0 = 1_800_000_000.0  # an ordinary wall-clock time (2027)
STEP = 15.0  # the collection interval the engine tests evaluate at
HOUR = 3600.0
RULE = {"name": "value-high", "metric": VALUE.name, "warning": 0.80}


@pytest.fixture
def store(tmp_path):
    opened = Store.open(store_path(str(tmp_path / "state")))
    yield opened
    opened.close()


@pytest.fixture
def engine_for(tmp_path, store):
    """engine_for(thresholds, records=..., sinks=...) -> a RecordEngine on the real store."""

    def make(thresholds, records=None, sinks=()):
        config = make_config(tmp_path, thresholds, records, sinks=sinks)
        return RecordEngine(store, config, "db1", sinks=[s.name for s in config.sinks], rules=list(config.thresholds))

    return make


class JumpingClock:
    """``time.time`` plus an offset the test changes; everything else keeps the real clocks."""

    def __init__(self, monkeypatch):
        self.offset = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)


def test_daemon_timers_ignore_wall_clock_jumps(tmp_path, monkeypatch):
    from l4agent.agent.daemon import Daemon

    config = parse_config({"agent": {"interval": "200ms", "state_dir": str(tmp_path / "state"),
                                     "listen": f"127.0.0.1:{free_port()}"}}, str(tmp_path / "l4agent.toml"))
    daemon = Daemon(config)
    clock = JumpingClock(monkeypatch)
    daemon.start()
    try:
        url = f"http://127.0.0.1:{daemon.web.port}"

        def rounds_in(seconds: float) -> int:
            before = daemon.runner._rounds
            time.sleep(seconds)
            return daemon.runner._rounds - before

        assert rounds_in(1.0) >= 3
        clock.offset = -HOUR  # back an hour: a wall-clock schedule would wait an hour for the next round
        assert rounds_in(1.0) >= 3
        assert http_get(url + "/healthz", timeout=2) == (200, "ok\n")
        clock.offset = +24 * HOUR  # a day forward: no burst of catch-up rounds, /healthz not "stale"
        assert 3 <= rounds_in(1.0) <= 7
        assert http_get(url + "/healthz", timeout=2) == (200, "ok\n")
        assert http_get(url + "/metrics", timeout=2)[0] == 200
    finally:
        daemon.stop()


def evaluate(engine, times, value=0.85):
    for now in times:
        engine.evaluate_samples([VALUE(value)], now=now)


def rounds(start: float, count: int) -> list[float]:
    return [start + STEP * i for i in range(count)]


def test_for_timer_keeps_counting_across_a_jump_back(engine_for, store):
    engine = engine_for([{**RULE, "for": "1m"}])
    evaluate(engine, rounds(T0, 4))  # held 45 s of the 60 s
    assert store.list_records() == []
    evaluate(engine, rounds(T0 + 60 - HOUR, 2))  # the clock went back an hour between two rounds
    (record,) = store.list_records()  # open after the 60 s it really held (give or take a round),
    assert record.opened_at == T0 + 75 - HOUR  # not an hour later


def test_renote_after_a_jump_back_comes_within_the_renote_interval(engine_for, store):
    engine = engine_for([RULE], records={"renote_interval": "1h"})
    evaluate(engine, rounds(T0, 4 * 60 + 1))  # open at T0, an hour of the same breach
    (record,) = store.list_records()
    assert [note.at for note in record.notes] == [T0 + HOUR]
    back = T0 + HOUR + STEP - HOUR  # the clock goes back an hour
    evaluate(engine, rounds(back, 4 * 60 + 1))  # ... and another hour of the same breach follows
    (record,) = store.list_records()
    assert len(record.notes) == 2, [(n.at - T0, n.text) for n in record.notes]  # one more, not none,
    assert record.notes[1].at == back + HOUR  # an hour after the jump, not two
    assert all("still in breach" in note.text for note in record.notes)


def test_jump_forward_opens_nothing_new_and_notes_once(engine_for, store):
    engine = engine_for([{**RULE, "for": "1m"}], records={"renote_interval": "1h"})
    evaluate(engine, rounds(T0, 10))
    (opened,) = store.list_records()
    evaluate(engine, rounds(T0 + 150 + 24 * HOUR, 10))  # a day forward (a VM resumed)
    (record,) = store.list_records()
    assert record.id == opened.id and record.status == "open"
    assert len(record.notes) <= 1


def test_resolution_and_reopen_across_a_jump_back(engine_for, store):
    engine = engine_for([RULE], records={"reopen_window": "1h"})
    evaluate(engine, rounds(T0, 3))
    evaluate(engine, [T0 + 45], value=0.5)  # resolved
    evaluate(engine, [T0 + 60 - HOUR])  # breached again, the clock an hour back
    (record,) = store.list_records()
    assert record.status == "open" and record.notes[-1].text.startswith("re-opened")


def test_outbox_retry_is_not_held_back_by_a_jump_back(tmp_path, engine_for, store, http_sink):
    sinks = [{"type": "webhook", "name": "hook", "url": http_sink.url + "/hook"}]
    config = make_config(tmp_path, [RULE], {"retry_initial": "1s", "retry_max": "10s"}, sinks=sinks)
    engine = engine_for([RULE], sinks=sinks)
    outbox = Outbox(store, build_sinks(config.sinks), config.records.retry_initial, config.records.retry_max)
    evaluate(engine, [time.time()])
    http_sink.down()
    assert 0 < outbox.deliver_due("hook") <= 10 * 1.2  # refused: retry in a few seconds
    http_sink.up()
    # The clock goes back an hour: the retry planned "a few seconds from now" is due at once,
    # not an hour and a few seconds from now.
    assert outbox.deliver_due("hook", now=time.time() - HOUR) is None
    assert len(http_sink.wait_for(1, timeout=5)) == 1

