"""Steady-state overhead of ``l4agent serve`` with every local collector at a 15s interval for
5 minutes (``--quick``: 60s): CPU % of one core and resident memory over time (no leak: RSS at
the end within 5 % of RSS after the first minute).

Every local collector: os, network, a TCP and a DNS probe, and an app server (an HTTP probe and
a process group of a stand-in app server: Python's http.server on loopback). Prometheus is
played by one /metrics scrape every 15s. CPU is the utime+stime delta of the serve process from
/proc/<pid>/stat after start-up (its first collection and first diagnostics run, reported on
their own); RSS is sampled every 5s.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

from bench.common import (
    FIRST_DIAGNOSTICS,
    Report,
    Scraper,
    ServeProcess,
    cpu_seconds,
    free_port,
    mib,
    num,
    rss_bytes,
    thread_count,
)

INTERVAL = 15.0
TARGET_CPU_PERCENT = 1.0
TARGET_RSS_BYTES = 40 * 1024 * 1024
TARGET_GROWTH = 0.05


def _app_server() -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return proc, port


def run(quick: bool) -> Report:
    report = Report("steady", quick)
    duration = 60.0 if quick else 300.0
    first_mark = 20.0 if quick else 60.0
    app, app_port = _app_server()
    extra = f"""
        [[probes]]
        name = "self-port"
        tcp = "127.0.0.1:{{port}}"

        [[probes]]
        name = "resolver"
        dns = "localhost"

        [[appservers]]
        name = "stand-in"
        url = "http://127.0.0.1:{app_port}/"
        process = "python3?(\\\\.\\\\d+)?"
        process_cmdline = "http\\\\.server"
        """
    samples = []
    try:
        time.sleep(0.5)  # the stand-in app server binds its port
        with ServeProcess(interval=f"{INTERVAL:g}s", extra_config=extra) as agent:
            # Start-up (imports, first collection, the first diagnostics run) is not steady state:
            # measured on its own, then the clock starts.
            diagnosed = agent.wait_for_metric(FIRST_DIAGNOSTICS, timeout=60)
            startup = {"cpu_seconds": cpu_seconds(agent.pid), "rss_bytes": rss_bytes(agent.pid),
                       "first_diagnostics_run": diagnosed}
            scraper = Scraper(agent.url)
            started, cpu_start = time.monotonic(), cpu_seconds(agent.pid)
            next_scrape = started
            while (elapsed := time.monotonic() - started) < duration:
                if time.monotonic() >= next_scrape:
                    _, body = scraper.scrape()
                    next_scrape += INTERVAL
                samples.append({"t": elapsed, "cpu_seconds": cpu_seconds(agent.pid) - cpu_start,
                                "rss_bytes": rss_bytes(agent.pid), "threads": thread_count(agent.pid)})
                time.sleep(min(5.0, max(0.05, duration - elapsed)))
            wall = time.monotonic() - started
            cpu = cpu_seconds(agent.pid) - cpu_start
            samples.append({"t": wall, "cpu_seconds": cpu, "rss_bytes": rss_bytes(agent.pid),
                            "threads": thread_count(agent.pid)})
            errors = [line for line in body.decode().splitlines()
                      if line.startswith("l4agent_collector_success") and line.endswith(" 0.0")]
            scraper.close()
    finally:
        app.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            app.wait(5)
    cpu_percent = cpu / wall * 100
    at_mark = next(s for s in samples if s["t"] >= first_mark)
    end = samples[-1]
    growth = (end["rss_bytes"] - at_mark["rss_bytes"]) / at_mark["rss_bytes"]
    peak = max(s["rss_bytes"] for s in samples)
    report.data = {"startup": startup, "duration_seconds": wall, "interval_seconds": INTERVAL, "cpu_seconds": cpu,
                   "cpu_percent_of_one_core": cpu_percent, "rss_growth": growth, "rss_peak_bytes": peak,
                   "samples": samples, "failing_collectors": errors}
    rows = [[f"{s['t']:.0f}", mib(s["rss_bytes"]), num(s["cpu_seconds"], 2), str(s["threads"])]
            for s in samples if round(s["t"]) % 30 < 5 or s is samples[-1]]
    report.table(f"l4agent serve, every local collector at {INTERVAL:g}s, {wall:.0f}s (samples every 30s)",
                 ["t s", "RSS MiB", "CPU s (cumulative)", "threads"], rows)
    summary_rows = [
        ["CPU % of one core", f"{cpu_percent:.3f}", f"< {TARGET_CPU_PERCENT:g}",
         "met" if cpu_percent < TARGET_CPU_PERCENT else "MISSED"],
        ["RSS peak (MiB)", mib(peak), f"<= {TARGET_RSS_BYTES / 1048576:.0f}",
         "met" if peak <= TARGET_RSS_BYTES else "MISSED"],
        [f"RSS growth {at_mark['t']:.0f}s -> {end['t']:.0f}s", f"{growth * 100:+.2f}%", f"within ±{TARGET_GROWTH * 100:.0f}%",
         "met" if abs(growth) <= TARGET_GROWTH else "MISSED"],
        ["CPU ms per collection round (approx.)", num(cpu / max(1.0, wall / INTERVAL) * 1000, 1), "", ""],
        ["start-up CPU s (imports, first collection" + (", first diagnostics run)" if diagnosed else ")"),
         num(startup["cpu_seconds"], 2), "", ""],
        ["RSS after start-up (MiB)", mib(startup["rss_bytes"]), "", ""],
    ]
    report.table("Steady state against the targets", ["figure", "value", "target", ""], summary_rows)
    if errors:
        report.notes.append("collectors failing during the run: " + "; ".join(errors))
    return report
