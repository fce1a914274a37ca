"""Host outage signals read from the kernel: pressure stall (PSI), OOM kills and major faults
(/proc/vmstat), systemd unit state, and the kernel clock's NTP state (adjtimex).

Each function returns plain numbers (base units) or None / an empty result when the host does
not offer the source; it never raises for a missing source (the caller then emits no series).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
from pathlib import Path


def pressure_stall(base: str = "/proc/pressure") -> dict[tuple[str, str], float]:
    """PSI totals: {(resource, kind): seconds} for resource cpu/memory/io, kind some/full.

    `total=` is cumulative stall time in microseconds, returned in seconds. "some": at least
    one task stalled; "full": all non-idle tasks stalled (cpu/full exists since 5.13 and is 0
    at system level). Empty when the kernel has no PSI (CONFIG_PSI off, or booted psi=0:
    the files then fail to read with EOPNOTSUPP).
    """
    out: dict[tuple[str, str], float] = {}
    for resource in ("cpu", "memory", "io"):
        try:
            text = Path(base, resource).read_text()
        except OSError:
            continue
        for line in text.splitlines():
            kind, *fields = line.split()
            for field in fields:
                if field.startswith("total="):
                    out[(resource, kind)] = int(field[6:]) / 1e6
    return out


def vmstat(keys: tuple[str, ...] = ("oom_kill", "pgmajfault"), path: str = "/proc/vmstat") -> dict[str, int]:
    """The named /proc/vmstat counters since boot (one read): ``oom_kill`` = processes killed by
    the kernel OOM killer (4.13+, host-wide), ``pgmajfault`` = page faults that needed disk I/O.
    Missing keys (an older kernel) are absent."""
    wanted = set(keys)
    out: dict[str, int] = {}
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                name, _, value = line.partition(" ")
                if name in wanted:
                    out[name] = int(value)
    except (OSError, ValueError):
        pass
    return out


SYSTEMD_RUN_DIR = "/run/systemd/system"


def systemd_available(run_dir: str = SYSTEMD_RUN_DIR, systemctl: str = "systemctl") -> bool:
    """True when systemd is the running init (sd_booted(): /run/systemd/system exists) and
    systemctl is installed. In a container whose PID 1 is not systemd there is no unit state."""
    return os.path.isdir(run_dir) and shutil.which(systemctl) is not None


def systemd_units_active(units: tuple[str, ...], timeout: float = 5.0, systemctl: str = "systemctl",
                         run_dir: str = SYSTEMD_RUN_DIR) -> dict[str, int] | None:
    """{unit: 1 if its ActiveState is active or reloading, else 0} for every unit, or None when
    systemd is not running here (or systemctl fails: no series then).

    One ``systemctl show --property=ActiveState UNIT...`` for all units: unlike ``is-active`` it
    exits 0 whatever the states, and prints one ``ActiveState=`` block per unit in the order
    asked (an unknown unit is "inactive"). Reading needs no privilege.
    """
    if not units or not systemd_available(run_dir, systemctl):
        return None
    try:
        res = subprocess.run(
            [systemctl, "show", "--property=ActiveState", "--", *units],
            capture_output=True, text=True, timeout=timeout,
            env={"PATH": "/usr/bin:/bin", "LANG": "C", "SYSTEMD_PAGER": ""},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    states = [line.partition("=")[2].strip() for line in res.stdout.splitlines()
              if line.startswith("ActiveState=")]
    if res.returncode != 0 or len(states) != len(units):
        return None
    return {unit: 1 if state in ("active", "reloading") else 0 for unit, state in zip(units, states, strict=True)}


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """struct timex (linux/timex.h, 64-bit layout; ctypes inserts the alignment padding)."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


STA_UNSYNC = 0x0040
STA_NANO = 0x2000
TIME_ERROR = 5


def time_sync() -> dict | None:
    """Kernel NTP state from adjtimex(2) with modes=0 (read-only, no privilege needed).

    Returns {"synchronized": 0/1, "offset_seconds": s, "maxerror_seconds": s,
    "esterror_seconds": s, "clock_state": int, "status": int}. synchronized is 1 when the
    STA_UNSYNC flag is clear and the return value is not TIME_ERROR (the rule timedatectl's
    "System clock synchronized" and chrony/ntpd-driven kernels follow). offset is the
    kernel PLL offset (ns when STA_NANO is set, else µs), in seconds; maxerror/esterror are
    µs in the kernel. A daemon that steps/slews the clock without the kernel PLL (e.g.
    systemd-timesyncd between syncs, chrony with `rtcsync` off still clears UNSYNC) may
    leave offset at 0: it is the kernel's view, not the daemon's measured offset.
    None when adjtimex is unavailable.
    """
    libc_name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(libc_name or None, use_errno=True)
    except OSError:
        return None
    tx = _Timex()
    tx.modes = 0
    state = libc.adjtimex(ctypes.byref(tx))
    if state < 0:
        return None
    scale = 1e-9 if tx.status & STA_NANO else 1e-6
    return {
        "synchronized": int(not (tx.status & STA_UNSYNC) and state != TIME_ERROR),
        "offset_seconds": tx.offset * scale,
        "maxerror_seconds": tx.maxerror * 1e-6,
        "esterror_seconds": tx.esterror * 1e-6,
        "clock_state": state,
        "status": tx.status,
    }
