"""The diagnostics service in ``serve``: diagnostics rerun every diagnostics_interval, the latest
result is kept for the status page and the records engine, subscribers are told, and /metrics
exports l4agent_diagnostic_findings{check,severity,target}."""

from __future__ import annotations

import re
import time

from l4agent.agent.configuration import parse_config
from l4agent.agent.daemon import Daemon
from tests.diagnostics.checkrun import PASSWORD_ENV
from tests.e2e.serve_process import ServeProcess, http_get
from tests.support.promtools import promtool_check_metrics

QUIET = {family: {"enabled": False} for family in ("perf", "schema", "security", "capacity", "app", "caching",
                                                    "replication", "config", "integrity", "backup.no_point_in_time")}


def _series(body: str, check: str, target: str) -> list[str]:
    lines = re.findall(r"^l4agent_diagnostic_findings\{.*$", body, re.M)
    return [line for line in lines if f'check="{check}"' in line and f'target="{target}"' in line]


def test_serve_reruns_diagnostics_and_exports_the_findings(pg_server, pg_db, tmp_path, write_config):
    backups = tmp_path / "backups"
    backups.mkdir()
    disabled = "\n".join(f"[diagnostics.{family}]\nenabled = false" for family in QUIET)
    config = write_config(f"""
        [agent]
        interval = "1s"
        diagnostics_interval = "1s"
        state_dir = "{tmp_path}/state"
        [[databases]]
        name = "pg"
        engine = "postgresql"
        dsn = "{pg_server.agent_dsn(pg_db)}"
        password_env = "L4T_SERVE_PG_PASSWORD"
        backup_dirs = ["{backups}"]
        rpo = "1h"
    """ + disabled.replace("\n", "\n        ") + "\n")
    serve = ServeProcess(config, str(tmp_path / "serve.log"), env={"L4T_SERVE_PG_PASSWORD": pg_server.monitor_password})
    try:
        serve.wait_healthy()

        def scrape() -> str:
            status, body = http_get(serve.url + "/metrics")
            assert status == 200
            return body

        deadline = time.monotonic() + 30
        while not _series(body := scrape(), "backup.dir_stale", "pg"):
            assert time.monotonic() < deadline, f"no finding exported: {serve.log()}"
            time.sleep(0.2)
        assert _series(body, "backup.dir_stale", "pg") == [
            'l4agent_diagnostic_findings{check="backup.dir_stale",severity="critical",target="pg"} 1.0']
        assert "l4agent_diagnostics_duration_seconds" in body
        # figures the checks measured are exported too: the lifecycle check's days of support left
        assert 'l4agent_version_support_days_left{component="postgresql:pg"}' in body
        assert promtool_check_metrics(body) == ""

        (backups / "erp.dump").write_bytes(b"fresh backup")  # the next run must see it
        deadline = time.monotonic() + 30
        while _series(scrape(), "backup.dir_stale", "pg"):
            assert time.monotonic() < deadline, f"diagnostics did not rerun: {serve.log()}"
            time.sleep(0.2)
        assert pg_server.monitor_password not in serve.log()
    finally:
        assert serve.stop() == 0


def test_latest_result_is_kept_and_every_subscriber_is_told(pg_server, pg_db, tmp_path):
    import os

    os.environ[PASSWORD_ENV["postgresql"]] = pg_server.monitor_password
    entry = {"name": "pg", "engine": "postgresql", "dsn": pg_server.agent_dsn(pg_db),
             "password_env": PASSWORD_ENV["postgresql"], "backup_dirs": [str(tmp_path / "missing")]}
    config = parse_config({"agent": {"state_dir": str(tmp_path / "state")},
                           "databases": [entry], "diagnostics": {**QUIET, "lifecycle": {"enabled": False}}},
                          "<test>")  # the web server is never started
    daemon = Daemon(config)
    told = []

    def broken(result):
        raise RuntimeError("subscriber bug")

    daemon.findings_subscribers[:0] = [broken]  # first in line: the others are still told
    daemon.findings_subscribers.append(told.append)
    assert daemon.diagnostics_result is None and daemon.diagnostics.samples() == []

    result = daemon.diagnostics.run_once()

    assert daemon.diagnostics_result is result and told == [result]
    assert [(f.check, f.object) for f in result.findings] == [("backup.dir_stale", str(tmp_path / "missing"))]
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in daemon.diagnostics.samples()}
    key = ("l4agent_diagnostic_findings", (("check", "backup.dir_stale"), ("severity", "critical"), ("target", "pg")))
    assert samples[key] == 1.0
    daemon.runner.close()
