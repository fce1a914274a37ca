"""Faults during a real ``l4agent serve`` (1 s interval): the agent keeps serving /metrics,
reports each fault as a metric and one log line, and loses no work record.

Each test breaks one real part: a dedicated PostgreSQL server stopped and started again, the
state directory on a tiny tmpfs filled to the last byte, the SQLite store locked by another
process, a ticket system that accepts the connection and never answers, ``kill -9`` of serve
in the middle of a breach.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import free_port
from tests.e2e.serve_process import ServeProcess
from tests.reliability.serving import log_lines, metric, read_records, records_cli, scrape, wait_for
from tests.support.dbservers import PostgresServer
from tests.support.peers import RecordingHttpServer

pytestmark = pytest.mark.slow


@pytest.fixture
def own_pg():
    """A PostgreSQL server of this test's own: it gets stopped, so not the shared session one."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


def test_database_stopped_and_restarted_during_serve(tmp_path, write_config, own_pg):
    config = write_config(f"""
        [agent]
        interval = "1s"
        state_dir = "{tmp_path}/state"

        [[databases]]
        name = "erp"
        engine = "postgresql"
        dsn = "{own_pg.agent_dsn('postgres')}"
        password_env = "L4T_FAULT_PG_PASSWORD"
        query_timeout = "3s"
        login_timeout = "2s"
        """)
    serve = ServeProcess(config, str(tmp_path / "serve.log"), env={"L4T_FAULT_PG_PASSWORD": own_pg.monitor_password})
    try:
        serve.wait_healthy()
        up = {"database": "erp", "engine": "postgresql"}
        wait_for("database_up 1", lambda: metric(scrape(serve), "l4agent_database_up", **up) == 1, serve=serve)

        own_pg.stop()
        stopped_at = time.monotonic()
        wait_for("database_up 0", lambda: metric(scrape(serve), "l4agent_database_up", **up) == 0, serve=serve)
        # The outage lasts several rounds; /metrics answers promptly all along and collection goes on.
        rounds = metric(scrape(serve), "l4agent_collections_total")
        while time.monotonic() - stopped_at < 5:
            started = time.monotonic()
            text = scrape(serve, timeout=2)
            assert time.monotonic() - started < 1.0
            assert metric(text, "l4agent_database_up", **up) == 0
            assert metric(text, "l4agent_up") == 1
            time.sleep(0.5)
        assert metric(scrape(serve), "l4agent_collections_total") >= rounds + 3

        own_pg.start()  # same port, same data
        wait_for("database_up back to 1", lambda: metric(scrape(serve), "l4agent_database_up", **up) == 1,
                 timeout=30, serve=serve)
        assert metric(scrape(serve), "l4agent_collector_success", collector="database", target="erp") == 1
        time.sleep(1.5)  # a round or two after recovery: nothing more is logged
    finally:
        serve.stop()

    # One clear line when the outage starts and one when it ends, not one per round (the
    # collector's own note that it reconnects once is the only other collection line about it).
    failing = log_lines(serve, "WARNING", "collector database:erp failing")
    assert len(failing) == 1, serve.log()
    assert "cannot reach" in failing[0] or "lost" in failing[0], failing
    assert len(log_lines(serve, "collector database:erp recovered")) == 1, serve.log()
    assert len([line for line in log_lines(serve, "erp") if " collectors." in f" {line}"]) <= 3, serve.log()


# -- the state directory's filesystem fills up ---------------------------------------------------

PROBE_RULE = """
        [[probes]]
        name = "erp-port"
        tcp = "127.0.0.1:{port}"
        timeout = "500ms"

        [[thresholds]]
        name = "erp-port-down"
        metric = "l4agent_probe_success"
        labels = {{ probe = "erp-port" }}
        direction = "below"
        critical = 1
        for = "{for_}"
        summary = "ERP port not answering"

        [diagnostics.capacity]
        enabled = false  # a busy shared disk must not open a "disk full in days" record mid-test
        """


class Port:
    """A loopback port the test opens (the probe succeeds) and closes (the breach)."""

    def __init__(self):
        self.port = free_port()
        self.listener: socket.socket | None = None

    def open(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None


@pytest.fixture
def erp_port():
    port = Port()
    yield port
    port.close()


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 1 MiB tmpfs mounted on tmp_path/state (unmounted afterwards)."""
    mountpoint = tmp_path / "state"
    mountpoint.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "l4agent-test", str(mountpoint)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def fill(directory) -> str:
    """Write a filler file until the filesystem has not one byte left; returns its path."""
    path = os.path.join(directory, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return path


def test_full_state_dir_keeps_serving_and_loses_no_record(tmp_path, write_config, tiny_tmpfs, erp_port):
    erp_port.open()
    config = write_config(f"""
        [agent]
        interval = "1s"
        state_dir = "{tiny_tmpfs}"
        """ + PROBE_RULE.format(port=erp_port.port, for_="2s"))
    serve = ServeProcess(config, str(tmp_path / "serve.log"))
    store = os.path.join(tiny_tmpfs, "records.sqlite")
    try:
        serve.wait_healthy()
        wait_for("store ok", lambda: metric(scrape(serve), "l4agent_work_records_store_ok") == 1, serve=serve)

        filler = fill(tiny_tmpfs)
        erp_port.close()  # the breach starts while the disk is full
        breach_started = time.time()
        wait_for("store_ok 0", lambda: metric(scrape(serve), "l4agent_work_records_store_ok") == 0, serve=serve)
        # Full for several rounds, well past the rule's 2s "for": metrics stay fresh meanwhile.
        rounds = metric(scrape(serve), "l4agent_collections_total")
        time.sleep(4)
        text = scrape(serve)
        assert metric(text, "l4agent_collections_total") >= rounds + 3
        assert metric(text, "l4agent_probe_success", probe="erp-port") == 0
        assert metric(text, "l4agent_work_records_store_ok") == 0
        assert metric(text, "l4agent_work_records_backlog") >= 3
        assert read_records(store, "erp-port-down") == []  # nothing could be written yet

        os.unlink(filler)  # space returns
        space_back = time.time()
        wait_for("store ok again", lambda: metric(scrape(serve), "l4agent_work_records_store_ok") == 1, serve=serve)
        (opened,) = wait_for("the record", lambda: read_records(store, "erp-port-down"), serve=serve)
        assert metric(scrape(serve), "l4agent_work_records_backlog") == 0
    finally:
        serve.stop()

    # What was evaluated while the disk was full was kept and written once space returned, at its
    # own time: the record opened when the breach had held 2s, not 2s after the disk had room again.
    assert opened["status"] == "open" and opened["notes"] == []
    assert breach_started + 1.5 <= opened["opened_at"] <= breach_started + 4.5, opened["opened_at"] - breach_started
    assert opened["opened_at"] < space_back
    # One line when writing starts failing and one when it works again, not one per round.
    assert len(log_lines(serve, "ERROR", "work records not written")) == 1, serve.log()
    assert len(log_lines(serve, "work records written again")) == 1, serve.log()


# -- the SQLite store locked by another process -----------------------------------------------------

HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")  # the write lock, as a stuck 'l4agent records close' would hold it
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
conn.execute("ROLLBACK")
"""


def test_store_locked_by_another_process_during_serve(tmp_path, write_config, erp_port):
    erp_port.open()
    config = write_config(f"""
        [agent]
        interval = "1s"
        state_dir = "{tmp_path}/state"
        """ + PROBE_RULE.format(port=erp_port.port, for_="1s"))
    serve = ServeProcess(config, str(tmp_path / "serve.log"))
    store = str(tmp_path / "state" / "records.sqlite")
    holder = None
    try:
        serve.wait_healthy()
        wait_for("store ok", lambda: metric(scrape(serve), "l4agent_work_records_store_ok") == 1, serve=serve)
        holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, store], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "locked"
        erp_port.close()  # the breach starts while the store is locked
        breach_started = time.time()

        def scrape_promptly() -> str:
            started = time.monotonic()
            text = scrape(serve, timeout=3)
            assert time.monotonic() - started < 1.5  # a scrape never waits for the locked store
            return text

        wait_for("store_ok 0", lambda: metric(scrape_promptly(), "l4agent_work_records_store_ok") == 0,
                 serve=serve)
        text = scrape_promptly()
        assert metric(text, "l4agent_probe_success", probe="erp-port") == 0
        assert metric(text, "l4agent_work_records_backlog") >= 1
        assert read_records(store, "erp-port-down") == []
        holder.stdin.close()  # the other process lets go
        assert holder.wait(10) == 0
        (record,) = wait_for("the record", lambda: read_records(store, "erp-port-down"), serve=serve)
        wait_for("store ok again", lambda: metric(scrape(serve), "l4agent_work_records_store_ok") == 1, serve=serve)
        assert metric(scrape(serve), "l4agent_work_records_backlog") == 0
    finally:
        if holder is not None and holder.poll() is None:
            holder.kill()
            holder.wait()
        serve.stop()

    assert record["status"] == "open"
    assert breach_started + 0.5 <= record["opened_at"] <= breach_started + 3.5, record["opened_at"] - breach_started
    failed = log_lines(serve, "ERROR", "work records not written")
    assert len(failed) == 1 and "locked by another process" in failed[0], serve.log()
    assert len(log_lines(serve, "work records written again")) == 1, serve.log()


# -- a sink that never answers ---------------------------------------------------------------------------

def test_a_hung_sink_holds_up_neither_the_other_sink_nor_collection(tmp_path, write_config, erp_port, http_sink):
    stuck = RecordingHttpServer()
    stuck.hang()  # accepts the connection, reads the request, never answers
    config = write_config(f"""
        [agent]
        interval = "1s"
        state_dir = "{tmp_path}/state"

        [records]
        retry_initial = "200ms"
        retry_max = "1s"

        [[sinks]]
        type = "webhook"
        name = "stuck"
        url = "{stuck.url}/hook"
        timeout = "2s"

        [[sinks]]
        type = "webhook"
        name = "tickets"
        url = "{http_sink.url}/hook"
        """ + PROBE_RULE.format(port=erp_port.port, for_="0s"))
    serve = ServeProcess(config, str(tmp_path / "serve.log"))
    try:
        serve.wait_healthy()  # the port is closed: the record opens in the first rounds
        stuck.wait_for(1, timeout=15)
        opened = http_sink.wait_for(1, timeout=5)[0].json()  # the other sink gets it meanwhile
        assert opened["event"] == "opened"
        # While the stuck sink holds its connection, rounds go on every second and scrapes answer.
        before = metric(scrape(serve), "l4agent_collections_total")
        time.sleep(3)
        text = scrape(serve, timeout=2)
        assert metric(text, "l4agent_collections_total") >= before + 2
        assert metric(text, "l4agent_sink_deliveries_total", sink="tickets") == 1
        assert metric(text, "l4agent_sink_pending_events", sink="stuck") == 1
        wait_for("the stuck sink's timeout counted as a failure",
                 lambda: metric(scrape(serve), "l4agent_sink_delivery_failures_total", sink="stuck") >= 1, serve=serve)
        stuck.release()  # it answers again: the retry delivers the same event
        wait_for("delivery to the recovered sink",
                 lambda: metric(scrape(serve), "l4agent_sink_pending_events", sink="stuck") == 0, serve=serve)
    finally:
        serve.stop()
        stuck.close()
    keys = {request.headers["idempotency-key"] for request in stuck.requests}
    assert keys == {opened["idempotency_key"]}  # retried, never a different event


# -- kill -9 in the middle of a breach -------------------------------------------------------------------

def test_kill_9_during_a_breach_and_restarts_keep_records_exact(tmp_path, write_config, erp_port):
    erp_port.open()
    config = write_config(f"""
        [agent]
        interval = "1s"
        state_dir = "{tmp_path}/state"
        """ + PROBE_RULE.format(port=erp_port.port, for_="2s"))
    store = str(tmp_path / "state" / "records.sqlite")
    log = str(tmp_path / "serve.log")
    serve = ServeProcess(config, log)
    try:
        serve.wait_healthy()
        wait_for("a clean round stored", lambda: metric(scrape(serve), "l4agent_work_records_store_ok") == 1,
                 serve=serve)
        erp_port.close()
        breach_started = time.time()
        time.sleep(1.2)  # the breach is pending ("for" 2s) ...
        serve.kill()  # ... when serve dies without a chance to clean up
        serve = ServeProcess(config, log)
        serve.wait_healthy()
        (record,) = wait_for("the record", lambda: read_records(store, "erp-port-down"), serve=serve)
        # The "for" timer survived the kill: the record opened once the breach had held 2s, not 2s
        # after the restart began counting again.
        assert record["opened_at"] - breach_started < 2 + 4, record["opened_at"] - breach_started
        for pause in (0.3, 1.7):  # twice more, at different moments of a round
            time.sleep(pause)
            serve.kill()
            serve = ServeProcess(config, log)
            serve.wait_healthy()
        rounds = metric(scrape(serve), "l4agent_collections_total")
        wait_for("three rounds after the last restart",
                 lambda: metric(scrape(serve), "l4agent_collections_total") >= rounds + 3, serve=serve)
        erp_port.open()
        wait_for("resolution", lambda: read_records(store, "erp-port-down")[0]["status"] == "resolved", serve=serve)
    finally:
        serve.stop()

    (final,) = [r for r in records_cli(config, "list")["records"] if r["fingerprint"].startswith("erp-port-down|")]
    assert final["id"] == record["id"] and (final["status"], final["result"]) == ("resolved", "Passed")
    notes = [note["text"] for note in final["notes"]]
    assert len(notes) == 1 and notes[0].startswith("recovered:"), notes  # the kills added nothing
    with contextlib.closing(sqlite3.connect(store)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kinds = [row[0] for row in conn.execute("SELECT kind FROM events WHERE record_id = ? ORDER BY id",
                                                (record["id"],))]
        assert kinds == ["opened", "resolved"]  # one event per change, none replayed twice
        assert conn.execute("SELECT COUNT(*) FROM series WHERE rule = 'erp-port-down'").fetchone()[0] == 0
