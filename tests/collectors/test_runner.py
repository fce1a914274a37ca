"""The runner: a collector that raises and one that hangs never keep the others from reporting."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from l4agent.collectors.base import Collector
from l4agent.collectors.runner import CollectionRunner
from l4agent.core.samples import Problem, gauge

VALUE = gauge("l4agent_test_value", "test")


@dataclass
class Fine(Collector):
    name: str = "fine"

    def collect(self):
        yield VALUE(42)


@dataclass
class Raises(Collector):
    name: str = "broken"
    target: str = "erp"

    def collect(self):
        yield VALUE(1, which="partial")
        raise RuntimeError("login failed for PWD=hunter2;")


@dataclass
class Hangs(Collector):
    name: str = "hung"
    timeout: float = 0.3
    release: threading.Event = None

    def collect(self):
        self.release.wait(10)
        yield VALUE(7, which="late")


@dataclass
class Partial(Collector):
    name: str = "partial"

    def collect(self):
        yield VALUE(3, which="partial-ok")
        yield Problem("one query failed", target="cat1")


def status(snapshot, name, metric="l4agent_collector_success"):
    return snapshot.value(metric, collector=name)


def test_failures_and_hangs_are_isolated():
    release = threading.Event()
    runner = CollectionRunner([Fine(), Raises(), Hangs(release=release), Partial()], host="h")
    started = time.monotonic()
    snapshot = runner.run_once()
    elapsed = time.monotonic() - started
    assert elapsed < 2, "a hung collector must cost its own timeout, not more"
    assert snapshot.value("l4agent_test_value") == 42
    assert status(snapshot, "fine") == 1
    assert status(snapshot, "broken") == 0
    assert status(snapshot, "hung") == 0
    assert status(snapshot, "partial") == 0
    assert snapshot.value("l4agent_test_value", which="partial-ok") == 3
    assert snapshot.value("l4agent_test_value", which="partial") is None  # a raising run's samples are dropped
    errors = {(e["collector"], e["target"]): e["error"] for e in snapshot.errors}
    assert errors[("broken", "erp")] == "login failed for PWD=***;"
    assert errors[("hung", None)] == "timed out after 0.3s"
    assert errors[("partial", "cat1")] == "one query failed"
    assert snapshot.value("l4agent_up") == 1
    assert snapshot.find("l4agent_build_info")[0].labels["version"]

    # Still hung at the next round: not started twice, reported as hung.
    second = runner.run_once()
    assert any("still running" in e["error"] for e in second.errors if e["collector"] == "hung")
    release.set()
    time.sleep(0.1)
    third = runner.run_once()
    assert status(third, "hung") == 1 and third.value("l4agent_test_value", which="late") == 7
