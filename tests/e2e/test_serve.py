"""``l4agent serve`` end to end: a real Prometheus scrapes it, promtool checks the live scrape,
SIGTERM ends it cleanly, and the one-shot commands print what people and scripts expect."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.e2e.serve_process import ServeProcess, http_get
from tests.support.promtools import promtool_check_metrics


@pytest.fixture
def serve(tmp_path, write_config):
    config = write_config(f"""
        [agent]
        interval = "1s"
        state_dir = "{tmp_path}/state"
        [[probes]]
        name = "closed-port"
        tcp = "127.0.0.1:1"
        timeout = "500ms"
    """)
    process = ServeProcess(config, str(tmp_path / "serve.log"))
    process.wait_healthy()
    yield process
    process.stop()


def test_prometheus_scrapes_the_agent(serve, prometheus_factory):
    prometheus = prometheus_factory([f"127.0.0.1:{serve.port}"])
    up = prometheus.wait_for_series('l4agent_up{job="test"}', timeout=30)
    assert up[0]["value"][1] == "1"
    cpu = prometheus.wait_for_series('sum(rate(l4agent_cpu_seconds_total[5s])) > 0', timeout=30)
    assert float(cpu[0]["value"][1]) > 0
    probe = prometheus.query('l4agent_probe_success{probe="closed-port"}')
    assert probe and probe[0]["value"][1] == "0"
    success = prometheus.query('l4agent_collector_success{collector="os"}')
    assert success[0]["value"][1] == "1"


def test_live_scrape_passes_promtool_and_is_served_from_cache(serve):
    status, body = http_get(serve.url + "/metrics")
    assert status == 200
    assert promtool_check_metrics(body) == ""
    # Scrapes read the cached collection: many in a row cost no collection each.
    started = time.monotonic()
    for _ in range(20):
        assert http_get(serve.url + "/metrics")[0] == 200
    assert time.monotonic() - started < 5
    assert http_get(serve.url + "/healthz") == (200, "ok\n")
    status, page = http_get(serve.url + "/")
    assert status == 200 and "/metrics" in page
    assert http_get(serve.url + "/nope")[0] == 404


def test_sigterm_stops_serve_within_two_seconds(serve):
    serve.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = serve.process.wait(5)
    assert code == 0
    assert time.monotonic() - started < 2


def test_collect_json_table_and_prom(run_cli):
    result = run_cli("collect", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"host", "collected_at", "samples", "errors"}
    assert data["collected_at"].endswith("Z") and data["errors"] == []
    names = {s["name"] for s in data["samples"]}
    for required in ("l4agent_up", "l4agent_build_info", "l4agent_collector_duration_seconds",
                     "l4agent_collector_success", "l4agent_cpu_seconds_total", "l4agent_load1",
                     "l4agent_memory_bytes", "l4agent_filesystem_used_ratio", "l4agent_disk_io_bytes_total",
                     "l4agent_network_bytes_total", "l4agent_network_errors_total", "l4agent_tcp_connections"):
        assert required in names, required
    table = run_cli("collect", "--format", "table")
    assert table.returncode == 0
    assert "== os ==" in table.stdout and "== network ==" in table.stdout and "no errors" in table.stdout
    assert "filesystem_used_ratio" in table.stdout and " %" in table.stdout
    prom = run_cli("collect", "--format", "prom")
    assert promtool_check_metrics(prom.stdout) == ""


def test_collect_exits_3_when_a_target_fails(run_cli, write_config):
    # A database target whose driver does not exist: one error entry, exit 3, the rest printed.
    config = write_config("""
        [[databases]]
        name = "ghost"
        engine = "postgresql"
        dsn = "DRIVER={No Such Driver};SERVER=127.0.0.1;PORT=1;UID=x"
    """)
    result = run_cli("collect", "-c", config, "--format", "json")
    data = json.loads(result.stdout)
    assert [e["target"] for e in data["errors"]] == ["ghost"]
    assert "odbc-postgresql" in data["errors"][0]["error"]
    assert result.returncode == 3
    assert "l4agent_up" in {s["name"] for s in data["samples"]}


def test_textfile_command(run_cli, tmp_path):
    out = tmp_path / "l4agent.prom"
    result = run_cli("textfile", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert promtool_check_metrics(out.read_text()) == ""


def test_version_and_help(run_cli):
    from l4agent import __version__

    assert run_cli("--version").stdout == f"l4agent {__version__}\n"
    help_text = run_cli("--help").stdout
    for command in ("collect", "diagnose", "serve", "config", "textfile"):
        assert command in help_text
    assert run_cli("collect", "--format", "xml").returncode == 2
