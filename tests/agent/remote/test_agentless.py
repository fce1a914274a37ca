"""Agentless collection over real SSH (agent/remote/agentless.py, jobs.py): the same samples as
the local collectors, values that agree with psutil on this same machine, nothing written on
the host."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import psutil
import pytest

from tests.agent.remote.conftest import hosts_json
from tests.conftest import REPO, cli_command, cli_env


def _index(samples: list[dict]) -> dict[tuple, float]:
    return {(s["name"], tuple(sorted(s["labels"].items()))): s["value"] for s in samples}


def _value(index: dict, name: str, **labels) -> float:
    return index[(name, tuple(sorted(labels.items())))]


def _files_of(user: str, home: str) -> set[str]:
    """Files (with mtimes) the user owns where the user may write: the home directory, and
    the top level of the world-writable folders."""
    import pwd

    uid = pwd.getpwnam(user).pw_uid
    paths = [os.path.join(d, n) for d, dirs, files in os.walk(home) for n in dirs + files]
    for shared in ("/tmp", "/var/tmp", "/dev/shm"):
        paths += [os.path.join(shared, n) for n in os.listdir(shared)]
    found = set()
    for path in paths:
        try:
            stat = os.lstat(path)
        except OSError:
            continue
        if stat.st_uid == uid:
            found.add(f"{path}:{stat.st_mtime_ns}")
    return found


def _run_cli(*args: str):
    return subprocess.run(cli_command(*args), capture_output=True, text=True, env=cli_env(), timeout=120, cwd=REPO)


@pytest.fixture(scope="module")
def agentless_run(ssh_server, ssh_client_key, tmp_path_factory):
    """One agentless collect of the (agentless) ssh_server, with psutil read right around it."""
    known_hosts = ssh_server.write_known_hosts(tmp_path_factory.mktemp("agentless") / "known_hosts")
    before_files = _files_of(ssh_server.user, ssh_server.home)
    before = {"cpu": psutil.cpu_times(percpu=True), "boot": psutil.boot_time()}
    started = time.monotonic()
    proc = _run_cli("remote", "collect", ssh_server.address, "-i", str(ssh_client_key.path),
                    "--known-hosts", str(known_hosts), "--format", "json")
    elapsed = time.monotonic() - started
    after = {"cpu": psutil.cpu_times(percpu=True), "memory": psutil.virtual_memory(), "swap": psutil.swap_memory(),
             "net": psutil.net_io_counters(pernic=True), "root": os.statvfs("/")}
    written = _files_of(ssh_server.user, ssh_server.home) - before_files
    return {"proc": proc, "before": before, "after": after, "elapsed": elapsed, "written": written}


def test_agentless_collect_succeeds(agentless_run):
    proc = agentless_run["proc"]
    assert proc.returncode == 0, proc.stderr
    (host,) = hosts_json(proc)
    assert (host["mode"], host["ok"], host["error"]) == ("agentless", True, None)
    assert host["result"]["errors"] == []
    assert host["result"]["host"] == socket.gethostname()


def test_same_metric_names_and_labels_as_the_local_collectors(agentless_run):
    local = json.loads(_run_cli("collect", "--format", "json", "--collector", "os", "--collector", "network").stdout)
    remote = hosts_json(agentless_run["proc"])[0]["result"]
    # The kernel clock's sync state needs adjtimex(2) on the host itself: agentless has no reader for it.
    local_only = {"l4agent_time_synchronized", "l4agent_time_sync_offset_seconds"}
    def shape(samples):
        return {(s["name"], tuple(sorted(s["labels"]))) for s in samples if s["name"] not in local_only}
    assert shape(remote["samples"]) == shape(local["samples"])
    def series(samples, name):
        return {tuple(sorted(s["labels"].items())) for s in samples if s["name"] == name}
    for name in ("l4agent_cpu_seconds_total", "l4agent_memory_bytes", "l4agent_network_up",
                 "l4agent_tcp_connections", "l4agent_processes"):
        assert series(remote["samples"], name) == series(local["samples"], name), name
    # Mounts come and go while other tests run: compare the root filesystem's series.
    def root(samples):
        return {k for k in series(samples, "l4agent_filesystem_size_bytes") if ("mountpoint", "/") in k}
    assert root(remote["samples"]) == root(local["samples"]) != set()


def test_os_values_agree_with_psutil(agentless_run):
    index = _index(hosts_json(agentless_run["proc"])[0]["result"]["samples"])
    after, before = agentless_run["after"], agentless_run["before"]
    slack = agentless_run["elapsed"] + 1  # counters keep moving while we read
    assert _value(index, "l4agent_cpus") == psutil.cpu_count()
    assert _value(index, "l4agent_boot_time_seconds") == pytest.approx(before["boot"], abs=1)
    for cpu, (low, high) in enumerate(zip(before["cpu"], after["cpu"], strict=True)):
        for mode in ("user", "system", "idle"):
            value = _value(index, "l4agent_cpu_seconds_total", cpu=str(cpu), mode=mode)
            assert getattr(low, mode) - 0.05 <= value <= getattr(high, mode) + 0.05, (cpu, mode)
    memory = after["memory"]
    assert _value(index, "l4agent_memory_bytes", kind="total") == memory.total
    assert _value(index, "l4agent_memory_bytes", kind="available") == pytest.approx(memory.available, rel=0.1)
    assert _value(index, "l4agent_swap_bytes", kind="total") == after["swap"].total
    root = after["root"]
    labels = next(dict(k[1]) for k in index if k[0] == "l4agent_filesystem_size_bytes" and ("mountpoint", "/") in k[1])
    assert _value(index, "l4agent_filesystem_size_bytes", **labels) == root.f_blocks * root.f_frsize
    assert _value(index, "l4agent_filesystem_inodes", kind="total", **labels) == root.f_files
    with open("/proc/sys/fs/file-nr") as handle:
        assert _value(index, "l4agent_file_descriptors_max") == int(handle.read().split()[2])
    lo = after["net"]["lo"]
    received = _value(index, "l4agent_network_bytes_total", interface="lo", direction="receive")
    assert lo.bytes_recv - 50e6 * slack <= received <= lo.bytes_recv


def test_nothing_is_written_on_the_host(agentless_run):
    assert agentless_run["written"] == set()
