"""The /proc and df parsers of agentless mode (agent/remote/procfs.py, agent/remote/agentless.py).

Real files of this machine are parsed and compared with psutil (what the local collectors use);
hostile output is fuzzed with hypothesis: samples or a clear ParseError/Problem, never a traceback.
"""

from __future__ import annotations

import math
import os
import subprocess

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l4agent.agent.remote import procfs
from l4agent.agent.remote.agentless import HostFacts, build_script, facts_collectors, marker, split_sections
from l4agent.core.samples import Problem, Sample
from l4agent.core.snapshot import Snapshot


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def _snapshot(samples) -> Snapshot:
    return Snapshot(host="t", collected_at=None, samples=list(samples))


def test_cpu_from_proc_stat_matches_psutil():
    samples = procfs.cpu_samples(_read("/proc/stat"), os.sysconf("SC_CLK_TCK"))
    snap = _snapshot(samples)
    assert snap.value("l4agent_cpus") == psutil.cpu_count()
    assert snap.value("l4agent_boot_time_seconds") == pytest.approx(psutil.boot_time(), abs=1)
    for cpu, times in enumerate(psutil.cpu_times(percpu=True)):
        for mode, seconds in times._asdict().items():
            # counters move while we read: a couple of seconds of slack per CPU and mode
            assert snap.value("l4agent_cpu_seconds_total", cpu=str(cpu), mode=mode) == pytest.approx(seconds, abs=3)


def test_memory_from_meminfo_matches_psutil():
    snap = _snapshot(procfs.memory_samples(_read("/proc/meminfo")))
    memory, swap = psutil.virtual_memory(), psutil.swap_memory()
    assert snap.value("l4agent_memory_bytes", kind="total") == memory.total
    for kind in ("available", "used", "free", "buffers", "cached"):
        assert snap.value("l4agent_memory_bytes", kind=kind) == pytest.approx(getattr(memory, kind), rel=0.05, abs=64e6)
    assert snap.value("l4agent_swap_bytes", kind="total") == swap.total


def test_filesystems_from_df_match_statvfs():
    df = subprocess.run(["df", "-Pk"], capture_output=True, text=True, env={"LC_ALL": "C", "PATH": os.defpath}).stdout
    dfi = subprocess.run(["df", "-Pi"], capture_output=True, text=True, env={"LC_ALL": "C", "PATH": os.defpath}).stdout
    snap = _snapshot(procfs.filesystem_samples(_read("/proc/mounts"), df, dfi))
    root = os.statvfs("/")
    assert snap.value("l4agent_filesystem_size_bytes", mountpoint="/") == root.f_blocks * root.f_frsize
    assert snap.value("l4agent_filesystem_free_bytes", mountpoint="/") == pytest.approx(root.f_bavail * root.f_frsize,
                                                                                        abs=256e6)
    assert snap.value("l4agent_filesystem_inodes", mountpoint="/", kind="total") == root.f_files
    assert not snap.find("l4agent_filesystem_size_bytes", mountpoint="/proc")


def test_network_and_tcp_from_proc_net():
    samples = procfs.interface_samples(_read("/proc/net/dev"), _sys_net())
    snap = _snapshot(samples)
    for name, stats in psutil.net_if_stats().items():
        assert snap.value("l4agent_network_up", interface=name) == (1 if stats.isup else 0), name
    lo = psutil.net_io_counters(pernic=True)["lo"]
    assert snap.value("l4agent_network_bytes_total", interface="lo", direction="receive") == pytest.approx(
        lo.bytes_recv, rel=0.05, abs=1e6)
    tcp = _snapshot(procfs.tcp_samples(_read("/proc/net/tcp"), _read("/proc/net/tcp6")))
    assert tcp.value("l4agent_listening_sockets") >= 1


def _sys_net() -> str:
    lines = []
    for name in os.listdir("/sys/class/net"):
        for attribute in ("flags", "operstate"):
            path = f"/sys/class/net/{name}/{attribute}"
            lines.append(f"{path}:{_read(path).strip()}")
    return "\n".join(lines)


def test_processes_from_concatenated_stat_lines():
    text = "\n".join([
        "1 (systemd) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0",
        "42 (odd) name)) R 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 7 0 2 0 0",
        "43 (with",  # a command name holding a newline: the fragment is skipped ...
        "newline) Z 1 43 43 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0",  # ... the rest still parses
        "garbage",
    ])
    snap = _snapshot(procfs.process_samples(text))
    assert snap.value("l4agent_processes", state="sleeping") == 1
    assert snap.value("l4agent_processes", state="running") == 1
    assert snap.value("l4agent_processes", state="zombie") == 1
    assert snap.value("l4agent_threads") == 9


def test_mountpoint_escapes_and_pseudo_filesystems():
    mounts = "/dev/sdb1 /srv/my\\040data ext4 rw 0 0\nproc /proc proc rw 0 0\n"
    df = ("Filesystem 1024-blocks Used Available Capacity Mounted on\n"
          "/dev/sdb1 1000 600 300 67% /srv/my data\n")
    snap = _snapshot(procfs.filesystem_samples(mounts, df, ""))
    labels = {"mountpoint": "/srv/my data", "fstype": "ext4", "device": "/dev/sdb1"}
    assert snap.value("l4agent_filesystem_size_bytes", **labels) == 1000 * 1024
    assert snap.value("l4agent_filesystem_used_ratio", **labels) == pytest.approx(600 / 900)
    assert len(snap.samples) == 3  # no inode rows, nothing for /proc


@pytest.mark.parametrize("parse, text, fragment", [
    (lambda t: procfs.cpu_samples(t, 100), "", "/proc/stat: empty"),
    (lambda t: procfs.cpu_samples(t, 100), "cpu0 1 x 3", "/proc/stat line 1: expected an integer, got 'x'"),
    (lambda t: procfs.cpu_samples(t, 100), "intr 5", "no cpuN lines"),
    (lambda t: procfs.load_samples(t, 2), "nan 1 1 1/2 3", "expected a finite number"),
    (lambda t: procfs.load_samples(t, 2), "0.5", "expected three load averages"),
    (procfs.memory_samples, "SwapTotal: 0 kB", "MemTotal or MemFree missing"),
    (procfs.file_descriptor_samples, "12 0", "expected three numbers"),
    (procfs.process_samples, "no processes", "no process could be read"),
    (lambda t: procfs.interface_samples(t, ""), "Inter-|\n face |", "no interfaces"),
    (lambda t: procfs.tcp_samples(t, ""), "", "/proc/net/tcp: empty"),
    (lambda t: procfs.filesystem_samples("/dev/x / ext4 rw 0 0", t, ""), "", "df -Pk: no output"),
])
def test_parse_errors_name_the_file(parse, text, fragment):
    with pytest.raises(procfs.ParseError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


def test_sections_use_the_nonce_markers():
    nonce = "abc123"
    output = (f"junk before\n{marker(nonce, 'uname')}\nLinux\nhost1\n\n"
              f"@@l4:forged:stat\n{marker(nonce, 'stat')}\ncpu0 1 2 3\n{marker(nonce, 'stat')}\nsecond copy\n"
              f"{marker(nonce, 'end')}\n")
    sections = split_sections(output, nonce)
    assert sections["uname"] == "Linux\nhost1\n\n@@l4:forged:stat"
    assert sections["stat"] == "cpu0 1 2 3"  # the first of a repeated section wins
    facts = HostFacts.from_output(output, nonce)
    assert (facts.system, facts.hostname, facts.complete) == ("Linux", "host1", True)
    assert "abc123" in build_script(nonce)


def test_the_script_runs_here_and_parses_completely():
    """The real script, run by the local sh, gives every sample and no error."""
    nonce = "n0nce"
    output = subprocess.run(["sh", "-c", build_script(nonce)], capture_output=True, text=True, timeout=60).stdout
    facts = HostFacts.from_output(output, nonce)
    items = [item for c in facts_collectors(facts) for item in c.collect()]
    problems = [i.message for i in items if isinstance(i, Problem)]
    assert problems == []
    names = {i.name for i in items if isinstance(i, Sample)}
    for expected in ("l4agent_cpu_seconds_total", "l4agent_cpus", "l4agent_load1", "l4agent_load1_per_cpu",
                     "l4agent_memory_bytes", "l4agent_swap_bytes", "l4agent_filesystem_used_ratio",
                     "l4agent_filesystem_inodes", "l4agent_disk_io_bytes_total", "l4agent_file_descriptors_max",
                     "l4agent_processes", "l4agent_threads", "l4agent_context_switches_total",
                     "l4agent_network_bytes_total", "l4agent_network_up", "l4agent_tcp_connections",
                     "l4agent_listening_sockets"):
        assert expected in names, expected


# -- hostile output ----------------------------------------------------------------------------

_TOKENS = st.one_of(
    st.sampled_from(["cpu", "cpu0", "cpu1", "ctxt", "intr", "btime", "MemTotal:", "MemFree:", "MemAvailable:",
                     "kB", "/", "/dev/sda1", "ext4", "proc", "0A", "01", "lo:", "eth0:", ")", "(", "nan", "inf",
                     "-1", "0", "0x1003", "up", "unknown", "Linux", "%", "\\040", ":", "1024-blocks", "Filesystem"]),
    st.integers(min_value=-(10 ** 30), max_value=10 ** 400).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=8),
)
_LINES = st.lists(st.lists(_TOKENS, max_size=20).map(" ".join), max_size=25).map("\n".join)
_PARSERS = [
    lambda t: procfs.cpu_samples(t, 100),
    lambda t: procfs.load_samples(t, 4),
    procfs.memory_samples,
    lambda t: procfs.filesystem_samples(t, t, t),
    procfs.disk_samples,
    procfs.file_descriptor_samples,
    procfs.process_samples,
    lambda t: procfs.interface_samples(t, t),
    lambda t: procfs.tcp_samples(t, t),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(_LINES, st.text(max_size=400)), which=st.integers(0, len(_PARSERS) - 1))
def test_parsers_never_crash(text, which):
    try:
        samples = _PARSERS[which](text)
    except procfs.ParseError as exc:
        assert str(exc)
        return
    assert all(isinstance(s, Sample) and math.isfinite(s.value) for s in samples)
    assert all(len(v) <= procfs.MAX_LABEL and v.isprintable() for s in samples for v in s.labels.values())


_SECTION_NAMES = ["uname", "clk_tck", "stat", "loadavg", "meminfo", "mounts", "df", "dfi", "diskstats", "file_nr",
                  "procs", "net_dev", "sys_net", "tcp", "tcp6", "end", "bogus"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_SECTION_NAMES), st.one_of(_LINES, st.text(max_size=200))), max_size=20))
def test_hostile_host_output_never_crashes_the_collectors(parts):
    nonce = "f00d"
    output = "".join(f"{marker(nonce, name)}\n{body}\n" for name, body in parts)
    facts = HostFacts.from_output(output, nonce)
    for collector in facts_collectors(facts):
        for item in collector.collect():
            assert isinstance(item, Sample | Problem)
            if isinstance(item, Sample):
                assert math.isfinite(item.value)
            else:
                assert item.message and "Traceback" not in item.message


def test_disk_times_pressure_and_vmstat_like_the_local_collector():
    disks = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in procfs.disk_samples(
        "   8       0 sda 100 0 800 250 40 0 320 1500 0 1600 1750 0 0 0 0 10 5\n")}
    assert disks[("l4agent_disk_io_time_seconds_total", (("device", "sda"), ("direction", "read")))] == 0.25
    assert disks[("l4agent_disk_io_time_seconds_total", (("device", "sda"), ("direction", "write")))] == 1.5
    assert disks[("l4agent_disk_busy_seconds_total", (("device", "sda"),))] == 1.6
    psi = procfs.pressure_samples("/proc/pressure/cpu:some avg10=0.10 avg60=0.00 avg300=0.00 total=2500000\n"
                                  "/proc/pressure/io:full avg10=0 avg60=0 avg300=0 total=4000000\n")
    assert {(s.labels["resource"], s.labels["kind"]): s.value for s in psi} == {("cpu", "some"): 2.5,
                                                                               ("io", "full"): 4.0}
    assert procfs.pressure_samples("") == []  # a kernel without PSI: no series
    vm = procfs.vmstat_samples("oom_kill 3\npgmajfault 17\n")
    assert {s.name: s.value for s in vm} == {"l4agent_oom_kills_total": 3, "l4agent_major_page_faults_total": 17}
