"""Issue 17 item 15: ``remote --parallel N`` bounds memory whatever the hosts send. Ten real SSH
sessions (loopback sshd) whose ``l4agent`` answers 60 MB, or 3.4 MiB of valid JSON holding
~60,000 samples each; the peak RSS of ``l4agent remote collect`` is measured."""

from __future__ import annotations

import subprocess
import threading
import time

import psutil
import pytest

from tests.agent.remote.conftest import hosts_json
from tests.conftest import REPO, cli_command, cli_env

HOSTS = 10
ANSWER = r"""#!/bin/sh
exec python3 -c '
import sys
n = int(sys.argv[1])
out = sys.stdout
out.write("{\"host\": \"h\", \"collected_at\": \"2026-01-01T00:00:00Z\", \"errors\": [], \"samples\": [")
item = "{\"name\": \"l4agent_x\", \"labels\": {\"i\": \"%d\"}, \"value\": 1}"
for start in range(0, n, 10000):
    out.write(("," if start else "") + ",".join(item % i for i in range(start, min(n, start + 10000))))
out.write("]}")
' COUNT
"""


def peak_rss(argv: list[str]) -> tuple[subprocess.CompletedProcess, int]:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
                               cwd=REPO)
    peak = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        handle = psutil.Process(process.pid)
        while not stop.is_set():
            try:
                peak = max(peak, handle.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stdout, stderr = process.communicate(timeout=300)
    stop.set()
    watcher.join()
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr), peak


@pytest.mark.parametrize("count, limit_mb", [(1_100_000, 150), (60_000, 320)], ids=["60MB-each", "3.4MiB-json-each"])
def test_fleet_memory_is_bounded(tmp_path, ssh_agent_server, known_hosts_file, ssh_client_key, count, limit_mb):
    ssh_agent_server.install_script("l4agent", ANSWER.replace("COUNT", str(count)))
    try:
        inventory = tmp_path / "inventory.toml"
        inventory.write_text("".join(f'[[hosts]]\nname = "h{i}"\nhost = "{ssh_agent_server.address}"\n'
                                     for i in range(HOSTS)))
        argv = cli_command("remote", "collect", "-i", str(ssh_client_key.path), "--known-hosts",
                           str(known_hosts_file), "--inventory", str(inventory), "--parallel", str(HOSTS),
                           "--format", "json")
        done, peak = peak_rss(argv)
    finally:
        ssh_agent_server.clear_bin_dir()
    hosts = hosts_json(done)
    print(f"{HOSTS} hosts x {count} samples, --parallel {HOSTS}: peak RSS {peak / 2**20:.0f} MiB")
    assert len(hosts) == HOSTS
    if count > 500_000:
        assert all(not h["ok"] and "more than 4 MiB" in h["error"] for h in hosts)
    else:
        assert all(h["ok"] for h in hosts), [h["error"] for h in hosts]
        assert all(len(h["result"]["samples"]) == 10000 for h in hosts)
        assert all("cut to 10000 items" in h["result"]["errors"][-1]["error"] for h in hosts)
    assert peak < limit_mb * 2**20, f"peak RSS {peak / 2**20:.0f} MiB"
