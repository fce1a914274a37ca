"""Issue 17 item 3: a worker thread that dies makes /healthz 503 and ends ``serve`` non-zero
(the unit then restarts it), instead of "starting" forever."""

from __future__ import annotations

import os
import signal
import threading
import time

from click.testing import CliRunner

from l4agent.agent.daemon import Daemon
from tests.agent.records.conftest import make_config
from tests.conftest import free_port
from tests.e2e.serve_process import http_get


class Died(BaseException):
    """Something no ``except Exception`` in the loop catches (as OverflowError once did)."""


def test_dead_collect_loop_makes_the_daemon_unhealthy(tmp_path, monkeypatch):
    config = make_config(tmp_path, agent={"listen": f"127.0.0.1:{free_port()}"})
    daemon = Daemon(config)

    def die():
        raise Died("collector bug")

    monkeypatch.setattr(daemon.runner, "run_once", die)
    monkeypatch.setattr(threading, "excepthook", lambda args: None)  # quiet: the death is the test
    daemon.start()
    try:
        waited = threading.Thread(target=daemon.wait)
        waited.start()
        waited.join(10)
        assert not waited.is_alive(), "wait() must return when a worker thread dies"
        assert daemon.failure == "worker thread collect-loop died"
        status, body = http_get(f"http://127.0.0.1:{daemon.web.port}/healthz")
        assert status == 503 and "collect-loop died" in body
    finally:
        daemon.stop()


def test_serve_exits_non_zero_when_a_worker_dies(tmp_path, monkeypatch):
    from l4agent.agent.cli import main

    config = tmp_path / "l4agent.toml"
    config.write_text(f'[agent]\nstate_dir = "{tmp_path}/state"\nhostname = "db1"\n')
    config.chmod(0o600)

    def die(self):
        raise Died("collector bug")

    monkeypatch.setattr(Daemon, "collect_now", die)
    monkeypatch.setattr(threading, "excepthook", lambda args: None)
    started = time.monotonic()
    # Bounded: a serve that does not notice would run on; SIGTERM after 10 s ends it (exit 0).
    watchdog = threading.Timer(10.0, os.kill, (os.getpid(), signal.SIGTERM))
    watchdog.start()
    try:
        result = CliRunner().invoke(main, ["serve", "-c", str(config), "--listen", f"127.0.0.1:{free_port()}"])
    finally:
        watchdog.cancel()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    assert time.monotonic() - started < 9
    assert result.exit_code == 1, result.output
    assert "worker thread collect-loop died" in result.output
