"""Issue 17 item 1: N processes opening one empty state_dir at the same moment all succeed
(records store and history), repeated; and the files are 0600 whatever the umask."""

from __future__ import annotations

import multiprocessing
import os
import stat
import traceback

import pytest

from l4agent.agent.records.store import SCHEMA_VERSION, Store, store_path
from l4agent.core.history import HISTORY_FILE, History

PROCESSES = 5
TRIALS = 30


def _open_both(state_dir: str, barrier, results) -> None:
    try:
        barrier.wait(10)
        store = Store.open(store_path(state_dir), busy_timeout=10.0)
        version = store.schema_version
        store.close()
        history = History.in_state_dir(state_dir)
        history.record("l4agent_filesystem_free_bytes", {"mountpoint": "/"}, 1.0)
        history.close()
        results.put(("ok", version))
    except BaseException:  # noqa: BLE001 - the failure is the test's finding
        results.put(("fail", traceback.format_exc(limit=3)))


def test_concurrent_first_open_never_fails(tmp_path):
    context = multiprocessing.get_context("fork")
    failures = []
    for trial in range(TRIALS):
        state_dir = str(tmp_path / f"s{trial}")
        barrier = context.Barrier(PROCESSES)
        results = context.Queue()
        workers = [context.Process(target=_open_both, args=(state_dir, barrier, results)) for _ in range(PROCESSES)]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(30)
        failures += [detail for kind, detail in outcomes if kind == "fail"]
        assert all(detail == SCHEMA_VERSION for kind, detail in outcomes if kind == "ok")
    assert not failures, f"{len(failures)} of {TRIALS * PROCESSES} opens failed:\n{failures[0]}"


@pytest.mark.parametrize("opener", ["store", "history"])
def test_state_files_are_private_whatever_the_umask(tmp_path, opener):
    old = os.umask(0o022)
    try:
        if opener == "store":
            Store.open(store_path(str(tmp_path))).close()
            path = store_path(str(tmp_path))
        else:
            History.in_state_dir(tmp_path).close()
            path = str(tmp_path / HISTORY_FILE)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
