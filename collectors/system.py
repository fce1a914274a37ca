"""OS collector: CPU, load, memory and swap, filesystems, disk I/O, file descriptors, processes.

Reads the live host with psutil, and /proc directly where psutil would do more work than the
metric needs (process states: one small read per process instead of three).
``bench/growth`` measures what this costs per process and per mount.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import psutil

from l4agent.collectors import hostsignals
from l4agent.collectors.base import Collector
from l4agent.core.samples import Problem, Sample, counter, gauge

CPU_SECONDS = counter("l4agent_cpu_seconds_total", "Seconds the CPUs spent in each mode.")
CPUS = gauge("l4agent_cpus", "Logical CPUs.")
LOAD1 = gauge("l4agent_load1", "1-minute load average.")
LOAD5 = gauge("l4agent_load5", "5-minute load average.")
LOAD15 = gauge("l4agent_load15", "15-minute load average.")
LOAD1_PER_CPU = gauge("l4agent_load1_per_cpu", "1-minute load average divided by the number of logical CPUs.")
MEMORY = gauge("l4agent_memory_bytes", "Memory by kind in bytes (total, available, used, free, buffers, cached).")
MEMORY_AVAILABLE_RATIO = gauge("l4agent_memory_available_ratio", "Available memory as a fraction of total (0-1).")
SWAP = gauge("l4agent_swap_bytes", "Swap by kind in bytes (total, used, free).")
SWAP_USED_RATIO = gauge("l4agent_swap_used_ratio", "Used swap as a fraction of total swap (0-1; 0 without swap).")
FS_SIZE = gauge("l4agent_filesystem_size_bytes", "Filesystem size in bytes.")
FS_FREE = gauge("l4agent_filesystem_free_bytes", "Bytes available to unprivileged users.")
FS_USED_RATIO = gauge("l4agent_filesystem_used_ratio", "Used space as a fraction of what users can use (0-1), like df's Use%.")
FS_INODES = gauge("l4agent_filesystem_inodes", "Inodes by kind (total, free).")
FS_INODES_USED_RATIO = gauge("l4agent_filesystem_inodes_used_ratio", "Used inodes as a fraction of all inodes (0-1).")
DISK_IO_BYTES = counter("l4agent_disk_io_bytes_total", "Bytes read from or written to the block device.")
DISK_IO_OPS = counter("l4agent_disk_io_operations_total", "Completed read or write operations on the block device.")
DISK_IO_TIME = counter("l4agent_disk_io_time_seconds_total",
                       "Seconds spent on completed reads or writes (summed over requests): latency = "
                       "rate(this) / rate(l4agent_disk_io_operations_total).")
DISK_BUSY = counter("l4agent_disk_busy_seconds_total", "Seconds the device had I/O in flight (utilisation).")
PRESSURE_STALL = counter("l4agent_pressure_stall_seconds_total",
                         "Pressure stall (PSI): seconds some or all (kind=full) runnable tasks stalled on the "
                         "resource (cpu, memory, io).")
OOM_KILLS = counter("l4agent_oom_kills_total", "Processes killed by the kernel's out-of-memory killer since boot.")
MAJOR_PAGE_FAULTS = counter("l4agent_major_page_faults_total", "Page faults that needed disk I/O since boot.")
SYSTEMD_UNIT_ACTIVE = gauge("l4agent_systemd_unit_active",
                            "1 when the configured systemd unit is active (or reloading), else 0.")
TIME_SYNC_OFFSET = gauge("l4agent_time_sync_offset_seconds",
                         "The kernel clock's NTP offset (adjtimex), in seconds.")
TIME_SYNCHRONIZED = gauge("l4agent_time_synchronized",
                          "1 when the kernel clock is synchronised by an NTP daemon (adjtimex: STA_UNSYNC clear).")
FD_ALLOCATED = gauge("l4agent_file_descriptors_allocated", "File handles allocated system-wide.")
FD_MAX = gauge("l4agent_file_descriptors_max", "System-wide limit of file handles.")
FD_USED_RATIO = gauge("l4agent_file_descriptors_used_ratio", "Allocated file handles as a fraction of the limit (0-1).")
BOOT_TIME = gauge("l4agent_boot_time_seconds", "Boot time in seconds since the Unix epoch.")
PROCESSES = gauge("l4agent_processes", "Processes by state (running, sleeping, disk_sleep, zombie, stopped, idle, other).")
THREADS = gauge("l4agent_threads", "Threads of all processes.")
CONTEXT_SWITCHES = counter("l4agent_context_switches_total", "Context switches since boot.")
INTERRUPTS = counter("l4agent_interrupts_total", "Interrupts since boot.")

# node_exporter's defaults: pseudo and virtual filesystems say nothing about disk space.
PSEUDO_FSTYPES = frozenset(
    "autofs binfmt_misc bpf cgroup cgroup2 configfs debugfs devpts devtmpfs fusectl hugetlbfs iso9660 "
    "mqueue nsfs overlay proc procfs pstore rpc_pipefs securityfs selinuxfs squashfs erofs sysfs tracefs "
    "efivarfs ramfs nfsd".split()
)
PSEUDO_MOUNTPOINTS = re.compile(r"^/(dev|proc|sys|run/credentials/.+|var/lib/docker/.+|var/lib/containers/storage/.+|snap/.+)($|/)")
# Partitions and whole disks, not loop/ram devices or device-mapper children counted twice.
_SKIP_DISK = re.compile(r"^(loop|ram|zram|fd|sr)\d*")

_PROC_STATES = {"R": "running", "S": "sleeping", "D": "disk_sleep", "Z": "zombie", "T": "stopped",
                "t": "stopped", "I": "idle"}


@dataclass
class SystemCollector(Collector):
    """The local host's OS metrics."""

    name: str = "os"
    proc_root: str = "/proc"
    #: ``[agent] units``: systemd units whose state is reported
    units: tuple[str, ...] = ()
    #: where systemd's runtime directory is (tests point it elsewhere)
    systemd_run_dir: str = hostsignals.SYSTEMD_RUN_DIR
    systemctl: str = "systemctl"

    def __post_init__(self) -> None:
        self._told_no_systemd = False

    def collect(self) -> Iterator[Sample | Problem]:
        yield from self._cpu()
        yield from self._memory()
        yield from self._filesystems()
        yield from self._disks()
        yield from self._file_descriptors()
        yield from self._processes()
        yield from self._kernel_signals()
        yield from self._units()

    def _cpu(self) -> Iterator[Sample]:
        for cpu, times in enumerate(psutil.cpu_times(percpu=True)):
            for mode, seconds in times._asdict().items():
                yield CPU_SECONDS(seconds, cpu=str(cpu), mode=mode)
        cpus = psutil.cpu_count() or 1
        yield CPUS(cpus)
        load1, load5, load15 = os.getloadavg()
        yield LOAD1(load1)
        yield LOAD5(load5)
        yield LOAD15(load15)
        yield LOAD1_PER_CPU(load1 / cpus)
        stats = psutil.cpu_stats()
        yield CONTEXT_SWITCHES(stats.ctx_switches)
        yield INTERRUPTS(stats.interrupts)
        yield BOOT_TIME(psutil.boot_time())

    def _memory(self) -> Iterator[Sample]:
        memory = psutil.virtual_memory()
        for kind in ("total", "available", "used", "free", "buffers", "cached"):
            if hasattr(memory, kind):
                yield MEMORY(getattr(memory, kind), kind=kind)
        yield MEMORY_AVAILABLE_RATIO(memory.available / memory.total if memory.total else 0.0)
        swap = psutil.swap_memory()
        for kind in ("total", "used", "free"):
            yield SWAP(getattr(swap, kind), kind=kind)
        yield SWAP_USED_RATIO(swap.used / swap.total if swap.total else 0.0)

    def _filesystems(self) -> Iterator[Sample | Problem]:
        seen: set[str] = set()
        for part in psutil.disk_partitions(all=True):
            if not is_real_filesystem(part.fstype, part.mountpoint) or part.mountpoint in seen:
                continue
            seen.add(part.mountpoint)
            try:
                st = os.statvfs(part.mountpoint)
            except OSError as exc:
                yield Problem(f"statvfs {part.mountpoint}: {exc.strerror}", target=part.mountpoint)
                continue
            labels = {"mountpoint": part.mountpoint, "fstype": part.fstype, "device": part.device}
            size = st.f_blocks * st.f_frsize
            free_user = st.f_bavail * st.f_frsize
            used = (st.f_blocks - st.f_bfree) * st.f_frsize
            yield FS_SIZE(size, **labels)
            yield FS_FREE(free_user, **labels)
            # df's Use%: used / (used + available to users); root's reserve is not "free".
            denominator = used + free_user
            yield FS_USED_RATIO(used / denominator if denominator else 0.0, **labels)
            if st.f_files:
                yield FS_INODES(st.f_files, kind="total", **labels)
                yield FS_INODES(st.f_ffree, kind="free", **labels)
                yield FS_INODES_USED_RATIO((st.f_files - st.f_ffree) / st.f_files, **labels)

    def _disks(self) -> Iterator[Sample]:
        counters = psutil.disk_io_counters(perdisk=True) or {}
        for device, io in counters.items():
            if _SKIP_DISK.match(device):
                continue
            yield DISK_IO_BYTES(io.read_bytes, device=device, direction="read")
            yield DISK_IO_BYTES(io.write_bytes, device=device, direction="write")
            yield DISK_IO_OPS(io.read_count, device=device, direction="read")
            yield DISK_IO_OPS(io.write_count, device=device, direction="write")
            for direction in ("read", "write"):
                spent = getattr(io, f"{direction}_time", None)
                if spent is not None:
                    yield DISK_IO_TIME(spent / 1000.0, device=device, direction=direction)
            busy = getattr(io, "busy_time", None)
            if busy is not None:
                yield DISK_BUSY(busy / 1000.0, device=device)

    def _kernel_signals(self) -> Iterator[Sample]:
        """PSI, OOM kills and major faults, the clock's sync state: absent sources, no series."""
        for (resource, kind), seconds in sorted(hostsignals.pressure_stall(f"{self.proc_root}/pressure").items()):
            yield PRESSURE_STALL(seconds, resource=resource, kind=kind)
        counters = hostsignals.vmstat(path=f"{self.proc_root}/vmstat")
        if "oom_kill" in counters:
            yield OOM_KILLS(counters["oom_kill"])
        if "pgmajfault" in counters:
            yield MAJOR_PAGE_FAULTS(counters["pgmajfault"])
        clock = hostsignals.time_sync()
        if clock is not None:
            yield TIME_SYNCHRONIZED(clock["synchronized"])
            yield TIME_SYNC_OFFSET(clock["offset_seconds"])

    def _units(self) -> Iterator[Sample | Problem]:
        """``[agent] units``; without systemd as PID 1, no series and one error entry (first round only)."""
        if not self.units:
            return
        states = hostsignals.systemd_units_active(self.units, systemctl=self.systemctl,
                                                  run_dir=self.systemd_run_dir)
        if states is None:
            if not self._told_no_systemd:
                self._told_no_systemd = True
                yield Problem(f"systemd units: systemd is not running as init here ({self.systemd_run_dir} "
                              "missing or systemctl failed); the state of units "
                              f"{', '.join(self.units)} is not reported")
            return
        for unit, active in states.items():
            yield SYSTEMD_UNIT_ACTIVE(active, unit=unit)

    def _file_descriptors(self) -> Iterator[Sample | Problem]:
        try:
            with open(os.path.join(self.proc_root, "sys/fs/file-nr"), encoding="ascii") as handle:
                allocated, _unused, maximum = (int(x) for x in handle.read().split()[:3])
        except (OSError, ValueError) as exc:
            yield Problem(f"file-nr: {exc}")
            return
        yield FD_ALLOCATED(allocated)
        yield FD_MAX(maximum)
        yield FD_USED_RATIO(allocated / maximum if maximum else 0.0)

    def _processes(self) -> Iterator[Sample]:
        states, threads = count_processes(self.proc_root)
        for state in ("running", "sleeping", "disk_sleep", "zombie", "stopped", "idle", "other"):
            yield PROCESSES(states.get(state, 0), state=state)
        yield THREADS(threads)


def is_real_filesystem(fstype: str, mountpoint: str) -> bool:
    """False for pseudo filesystems and mounts under /proc, /sys, /dev (a container's / is kept)."""
    if mountpoint == "/":
        return True
    return fstype not in PSEUDO_FSTYPES and not PSEUDO_MOUNTPOINTS.match(mountpoint)


def count_processes(proc_root: str = "/proc") -> tuple[dict[str, int], int]:
    """(processes per state, total threads) from /proc/<pid>/stat: one read per process.

    os.open/os.read rather than open(): a Python file object costs an fstat, a buffer and a
    second read to see EOF, three times the cost of the one read a line under 1 KiB needs."""
    states: dict[str, int] = {}
    threads = 0
    try:
        entries = os.listdir(proc_root)
    except OSError:
        entries = []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            fd = os.open(f"{proc_root}/{entry}/stat", os.O_RDONLY)
        except OSError:
            continue  # exited since listdir
        try:
            data = os.read(fd, 4096)
        except OSError:
            continue
        finally:
            os.close(fd)
        # "pid (comm) S ..." - comm may hold spaces and parentheses: split after the last ')'.
        fields = data[data.rfind(b")") + 2:].split(None, 18)
        if len(fields) < 18:
            continue
        state = _PROC_STATES.get(fields[0].decode("ascii", "replace"), "other")
        states[state] = states.get(state, 0) + 1
        threads += int(fields[17])
    return states, threads


def from_config(config) -> list[Collector]:
    return [SystemCollector(timeout=config.agent.collector_timeout, units=config.agent.units)]
