"""Parsers from the text of /proc files and ``df -P`` to the samples the local collectors make.

The metric specs, filters and helpers are the ones ``collectors.system`` and
``collectors.network`` use on the local host, and the values are computed the way psutil
computes them there, so an agentless host reads exactly like one running the agent.

The text comes from a host we do not control: every parser either returns samples or raises
:class:`ParseError` naming the file and line. Malformed single lines (a device name with a
space, a process that exited mid-read) are skipped; a file that yields nothing usable is an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from l4agent.collectors import network as net
from l4agent.collectors import system as os_
from l4agent.core.samples import Sample

# psutil's cpu_times fields on Linux, in /proc/stat column order.
CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice")
DISK_SECTOR_BYTES = 512  # /proc/diskstats counts 512-byte sectors whatever the device's own size
IFF_UP = 0x1
MAX_LABEL = 256  # characters; longer names from the host are cut
MAX_COUNTER = 2 ** 64  # kernel counters are at most unsigned 64-bit


class ParseError(ValueError):
    """Output that cannot be read; the message names the file and what was wrong."""


def _int(text: str, where: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ParseError(f"{where}: expected an integer, got {text[:40]!r}") from None
    if abs(value) >= MAX_COUNTER:
        raise ParseError(f"{where}: {text[:40]}... is out of range for a kernel counter")
    return value


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ParseError(f"{where}: expected a number, got {text[:40]!r}") from None
    if not math.isfinite(value):
        raise ParseError(f"{where}: expected a finite number, got {text[:40]!r}")
    return value


def is_uint(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts '²', which ``int`` refuses)."""
    return text.isascii() and text.isdigit()


def label(text: str) -> str:
    """A label value from the host: printable and bounded."""
    return "".join(ch if ch.isprintable() else "?" for ch in text[:MAX_LABEL])


def _finite(samples: Iterable[Sample]) -> list[Sample]:
    """Drop values that overflowed to infinity (absurd integers from a hostile host)."""
    return [s for s in samples if math.isfinite(s.value)]


def _lines_or_error(text: str, where: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ParseError(f"{where}: empty (not readable on the host?)")
    return lines


# -- CPU, load ---------------------------------------------------------------------------------


def cpu_samples(stat: str, clock_ticks: int) -> list[Sample]:
    """/proc/stat: per-CPU seconds by mode, CPU count, context switches, interrupts, boot time."""
    where = "/proc/stat"
    samples: list[Sample] = []
    seen: set[str] = set()
    extras: dict[str, Sample] = {}
    for number, line in enumerate(_lines_or_error(stat, where), 1):
        fields = line.split()
        key = fields[0]
        here = f"{where} line {number}"
        if re.fullmatch(r"cpu\d{1,6}", key) and key not in seen:
            seen.add(key)
            cpu = key[3:]
            for mode, value in zip(CPU_MODES, fields[1:], strict=False):
                samples.append(os_.CPU_SECONDS(_int(value, here) / clock_ticks, cpu=cpu, mode=mode))
        elif key == "ctxt" and len(fields) > 1:
            extras.setdefault(key, os_.CONTEXT_SWITCHES(_int(fields[1], here)))
        elif key == "intr" and len(fields) > 1:
            extras.setdefault(key, os_.INTERRUPTS(_int(fields[1], here)))
        elif key == "btime" and len(fields) > 1:
            extras.setdefault(key, os_.BOOT_TIME(_int(fields[1], here)))
    if not seen:
        raise ParseError(f"{where}: no cpuN lines")
    return _finite([*samples, os_.CPUS(len(seen)), *extras.values()])


def load_samples(loadavg: str, cpus: int | None) -> list[Sample]:
    """/proc/loadavg: 1, 5 and 15-minute load, and load1 per CPU (when the CPU count is known)."""
    where = "/proc/loadavg"
    fields = _lines_or_error(loadavg, where)[0].split()
    if len(fields) < 3:
        raise ParseError(f"{where}: expected three load averages, got {len(fields)} fields")
    load1, load5, load15 = (_number(f, where) for f in fields[:3])
    samples = [os_.LOAD1(load1), os_.LOAD5(load5), os_.LOAD15(load15)]
    return samples + ([os_.LOAD1_PER_CPU(load1 / cpus)] if cpus else [])


def cpu_count(samples: Iterable[Sample]) -> int | None:
    return next((int(s.value) for s in samples if s.spec is os_.CPUS), None)


# -- memory ------------------------------------------------------------------------------------


def memory_samples(meminfo: str) -> list[Sample]:
    """/proc/meminfo, computed as psutil.virtual_memory()/swap_memory() do on Linux."""
    where = "/proc/meminfo"
    kib: dict[str, int] = {}
    for number, line in enumerate(_lines_or_error(meminfo, where), 1):
        name, _, rest = line.partition(":")
        fields = rest.split()
        if fields and name not in kib:
            kib[name.strip()] = _int(fields[0], f"{where} line {number}") * 1024
    if "MemTotal" not in kib or "MemFree" not in kib:
        raise ParseError(f"{where}: MemTotal or MemFree missing")
    total, free = kib["MemTotal"], kib["MemFree"]
    buffers = kib.get("Buffers", 0)
    cached = kib.get("Cached", 0) + (kib.get("SReclaimable", 0) if "Cached" in kib else 0)
    available = kib.get("MemAvailable", free + buffers + cached)
    if available < 0:
        available = 0
    elif available > total:  # psutil's rule for a miscalculated MemAvailable
        available = free
    used = total - available
    samples = [os_.MEMORY(total, kind="total"), os_.MEMORY(available, kind="available"),
               os_.MEMORY(used, kind="used"), os_.MEMORY(free, kind="free"),
               os_.MEMORY(buffers, kind="buffers"), os_.MEMORY(cached, kind="cached"),
               os_.MEMORY_AVAILABLE_RATIO(available / total if total else 0.0)]
    swap_total, swap_free = kib.get("SwapTotal", 0), kib.get("SwapFree", 0)
    swap_used = swap_total - swap_free
    samples += [os_.SWAP(swap_total, kind="total"), os_.SWAP(swap_used, kind="used"),
                os_.SWAP(swap_free, kind="free"), os_.SWAP_USED_RATIO(swap_used / swap_total if swap_total else 0.0)]
    return _finite(samples)


# -- filesystems -------------------------------------------------------------------------------


def _unescape_mount(text: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes (``\\040``)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def _df_rows(text: str, where: str) -> dict[str, tuple[int, int, int]]:
    """``df -P`` rows by mountpoint: the three numeric columns after the device."""
    rows: dict[str, tuple[int, int, int]] = {}
    for line in text.splitlines():
        fields = line.split(None, 5)
        if len(fields) < 6 or not all(is_uint(f) for f in fields[1:4]):
            continue  # the header, a device name with spaces, or "-" for inode counts
        rows.setdefault(fields[5], (int(fields[1]), int(fields[2]), int(fields[3])))
    if text.strip() and not rows:
        raise ParseError(f"{where}: no readable rows")
    return rows


def filesystem_samples(mounts: str, df_blocks: str, df_inodes: str) -> list[Sample]:
    """Sizes and inodes of the real filesystems in /proc/mounts, from ``df -Pk`` and ``df -Pi``.

    Same selection and arithmetic as ``SystemCollector._filesystems`` (statvfs there):
    used ratio = used / (used + available to users), like df's Use%.
    """
    if not df_blocks.strip():
        raise ParseError("df -Pk: no output (df missing, or stopped after hanging on a mount)")
    blocks = _df_rows(df_blocks, "df -Pk")
    inodes = _df_rows(df_inodes, "df -Pi")
    samples: list[Sample] = []
    seen: set[str] = set()
    for line in _lines_or_error(mounts, "/proc/mounts"):
        fields = line.split()
        if len(fields) < 3:
            continue
        device, mountpoint, fstype = (_unescape_mount(f) for f in fields[:3])
        if not os_.is_real_filesystem(fstype, mountpoint) or mountpoint in seen:
            continue
        seen.add(mountpoint)
        if mountpoint not in blocks:
            continue  # df could not stat it (permissions, or it timed out)
        size_k, used_k, avail_k = blocks[mountpoint]
        labels = {"mountpoint": label(mountpoint), "fstype": label(fstype), "device": label(device)}
        used, free_user = used_k * 1024, avail_k * 1024
        samples += [os_.FS_SIZE(size_k * 1024, **labels), os_.FS_FREE(free_user, **labels),
                    os_.FS_USED_RATIO(used / (used + free_user) if used + free_user else 0.0, **labels)]
        if inodes.get(mountpoint, (0,))[0]:
            total, _used, free = inodes[mountpoint]
            samples += [os_.FS_INODES(total, kind="total", **labels), os_.FS_INODES(free, kind="free", **labels),
                        os_.FS_INODES_USED_RATIO((total - free) / total, **labels)]
    return _finite(samples)


# -- disks, file descriptors, processes ---------------------------------------------------------


def disk_samples(diskstats: str) -> list[Sample]:
    """/proc/diskstats as psutil.disk_io_counters(perdisk=True) reads it (kernel 2.6+ layouts)."""
    samples: list[Sample] = []
    seen: set[str] = set()
    for number, line in enumerate(_lines_or_error(diskstats, "/proc/diskstats"), 1):
        fields = line.split()
        if len(fields) == 14 or len(fields) >= 18:
            name, columns, times = fields[2], (3, 5, 7, 9, 12), (6, 10)
        elif len(fields) == 7:  # an old-style partition line: no busy time, no read/write time
            name, columns, times = fields[2], (3, 4, 5, 6, None), None
        else:
            continue
        if os_._SKIP_DISK.match(name) or name in seen:
            continue
        seen.add(name)
        here = f"/proc/diskstats line {number}"
        reads, read_sectors, writes, write_sectors = (_int(fields[c], here) for c in columns[:4])
        busy_ms = _int(fields[columns[4]], here) if columns[4] is not None else 0
        read_ms, write_ms = (_int(fields[c], here) for c in times) if times else (0, 0)
        device = label(name)
        samples += [
            os_.DISK_IO_BYTES(read_sectors * DISK_SECTOR_BYTES, device=device, direction="read"),
            os_.DISK_IO_BYTES(write_sectors * DISK_SECTOR_BYTES, device=device, direction="write"),
            os_.DISK_IO_OPS(reads, device=device, direction="read"),
            os_.DISK_IO_OPS(writes, device=device, direction="write"),
            os_.DISK_IO_TIME(read_ms / 1000.0, device=device, direction="read"),
            os_.DISK_IO_TIME(write_ms / 1000.0, device=device, direction="write"),
            os_.DISK_BUSY(busy_ms / 1000.0, device=device),
        ]
    return _finite(samples)


def pressure_samples(pressure: str) -> list[Sample]:
    """``grep -H . /proc/pressure/{cpu,memory,io}``: "FILE:some avg10=.. total=MICROSECONDS" lines.
    No lines (a kernel without PSI) is no series, as locally."""
    samples: list[Sample] = []
    for line in pressure.splitlines():
        path, _, rest = line.partition(":")
        resource = path.rsplit("/", 1)[-1]
        fields = rest.split()
        if resource not in ("cpu", "memory", "io") or not fields or fields[0] not in ("some", "full"):
            continue
        for item in fields[1:]:
            if item.startswith("total="):
                samples.append(os_.PRESSURE_STALL(_int(item[6:], f"/proc/pressure/{resource}") / 1e6,
                                                  resource=resource, kind=fields[0]))
    return _finite(samples)


def vmstat_samples(vmstat: str) -> list[Sample]:
    """/proc/vmstat's oom_kill and pgmajfault counters (absent on old kernels: no series)."""
    samples: list[Sample] = []
    for line in vmstat.splitlines():
        name, _, value = line.partition(" ")
        if name == "oom_kill":
            samples.append(os_.OOM_KILLS(_int(value.strip(), "/proc/vmstat oom_kill")))
        elif name == "pgmajfault":
            samples.append(os_.MAJOR_PAGE_FAULTS(_int(value.strip(), "/proc/vmstat pgmajfault")))
    return _finite(samples)


def file_descriptor_samples(file_nr: str) -> list[Sample]:
    """/proc/sys/fs/file-nr: allocated, unused, maximum."""
    where = "/proc/sys/fs/file-nr"
    fields = _lines_or_error(file_nr, where)[0].split()
    if len(fields) < 3:
        raise ParseError(f"{where}: expected three numbers, got {len(fields)} fields")
    allocated, maximum = _int(fields[0], where), _int(fields[2], where)
    return _finite([os_.FD_ALLOCATED(allocated), os_.FD_MAX(maximum),
                    os_.FD_USED_RATIO(allocated / maximum if maximum else 0.0)])


def process_samples(proc_stats: str) -> list[Sample]:
    """The concatenated /proc/<pid>/stat lines: processes by state and total threads.

    As in ``collectors.system.count_processes``: the fields after the last ')' (a command name
    may hold spaces, parentheses, even newlines: a fragment without ')' is skipped).
    """
    states: dict[str, int] = {}
    threads = 0
    for line in proc_stats.splitlines():
        cut = line.rfind(")")
        if cut < 0:
            continue
        fields = line[cut + 2:].split()
        if len(fields) < 18 or not is_uint(fields[17]):
            continue
        state = os_._PROC_STATES.get(fields[0], "other")
        states[state] = states.get(state, 0) + 1
        threads += int(fields[17])
    if not states:
        raise ParseError("/proc/<pid>/stat: no process could be read")
    samples = [os_.PROCESSES(states.get(s, 0), state=s)
               for s in ("running", "sleeping", "disk_sleep", "zombie", "stopped", "idle", "other")]
    return _finite([*samples, os_.THREADS(threads)])


# -- network -----------------------------------------------------------------------------------


def interface_samples(net_dev: str, sys_net: str) -> list[Sample]:
    """/proc/net/dev counters per interface, and "up" as psutil.net_if_stats() says it.

    ``sys_net`` is ``grep -H . /sys/class/net/*/flags /sys/class/net/*/operstate``. psutil's
    isup is the kernel's IFF_RUNNING: administratively up and operstate up (or unknown, as lo).
    """
    where = "/proc/net/dev"
    samples: list[Sample] = []
    seen: list[str] = []
    for number, line in enumerate(_lines_or_error(net_dev, where), 1):
        name, colon, rest = line.rpartition(":")
        name = name.strip()
        fields = rest.split()
        if not colon or not name or len(fields) < 16 or name in seen:
            continue  # the two header lines
        here = f"{where} line {number}"
        values = [_int(f, here) for f in fields[:16]]
        seen.append(name)
        interface = label(name)
        for direction, offset in (("receive", 0), ("transmit", 8)):
            nbytes, packets, errors, drops = values[offset:offset + 4]
            samples += [net.NET_BYTES(nbytes, interface=interface, direction=direction),
                        net.NET_PACKETS(packets, interface=interface, direction=direction),
                        net.NET_ERRORS(errors, interface=interface, direction=direction),
                        net.NET_DROPS(drops, interface=interface, direction=direction)]
    if not seen:
        raise ParseError(f"{where}: no interfaces")
    flags, operstate = _sys_net(sys_net)
    for name in seen:
        if name in flags and name in operstate:
            running = bool(flags[name] & IFF_UP) and operstate[name] in ("up", "unknown")
            samples.append(net.NET_UP(1 if running else 0, interface=label(name)))
    return _finite(samples)


def _sys_net(text: str) -> tuple[dict[str, int], dict[str, str]]:
    flags: dict[str, int] = {}
    operstate: dict[str, str] = {}
    for line in text.splitlines():
        path, _, value = line.partition(":")
        parts = path.split("/")
        if len(parts) < 2 or not value:
            continue
        name, attribute = parts[-2], parts[-1]
        if attribute == "flags":
            try:
                flags[name] = int(value.strip(), 16)
            except ValueError:
                continue
        elif attribute == "operstate":
            operstate[name] = value.strip()
    return flags, operstate


def tcp_samples(tcp: str, tcp6: str) -> list[Sample]:
    """TCP sockets by state from /proc/net/tcp and tcp6, counted by the network collector's helper."""
    if not tcp.strip() and not tcp6.strip():
        raise ParseError("/proc/net/tcp: empty (not readable on the host?)")
    counts: dict[str, int] = dict.fromkeys(net.TCP_STATES.values(), 0)
    for table in (tcp, tcp6):
        for state, number in net.count_tcp_states(table).items():
            counts[state] = counts.get(state, 0) + number
    return [*(net.TCP_CONNECTIONS(n, state=label(s)) for s, n in counts.items()),
            net.LISTENING_SOCKETS(counts.get("listen", 0))]

