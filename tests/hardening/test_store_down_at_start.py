"""Issue 17 item 2: a store that cannot be opened when ``serve`` starts is retried, the
evaluations meanwhile are kept in memory, and /records says 503 (not an empty 200) until then."""

from __future__ import annotations

import json
import os
import time
from types import SimpleNamespace

from l4agent.agent.daemon import Daemon
from l4agent.core.snapshot import Snapshot
from l4agent.core.units import utcnow
from tests.agent.records.conftest import VALUE, make_config


def wait_for(what, predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_store_unopenable_at_start_is_retried_and_the_backlog_kept(tmp_path):
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where state_dir's parent should be\n")  # makedirs fails, as on a full disk
    config = make_config(tmp_path, [{"name": "value-high", "metric": VALUE.name, "warning": 0.8}],
                         agent={"state_dir": str(blocker / "state")})
    daemon = Daemon(config)
    service = daemon.records
    assert service is not None, "records must not be turned off for good"
    service.start()
    try:
        started = time.time()
        for _ in range(3):
            service.on_snapshot(Snapshot(host="db1", collected_at=utcnow(), samples=[VALUE(0.9)]))
        time.sleep(0.3)
        page = service.records_page(SimpleNamespace(query={"format": ["json"]}))
        assert page.status == 503, "an empty 200 would say 'no records' while none can be read"
        assert len(service._backlog) == 3 and not service.store_ok
        assert "l4agent_work_records_store_ok" in str([s.name for s in service.samples()])

        os.unlink(blocker)  # space returns
        wait_for("the store opened and the backlog written", lambda: service.store_ok and not service._backlog)
        page = service.records_page(SimpleNamespace(query={"format": ["json"]}))
        assert page.status == 200
        (record,) = json.loads(page.body)["records"]
        assert record["status"] == "open"
        assert service.store.list_records()[0].opened_at < started + 1.0  # at the time of the first round
    finally:
        service.stop()
