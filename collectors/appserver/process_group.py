"""The app server's processes: a group found by name (or regex), user and command line.

One pass over the process table reads only names; the few members then get one ``oneshot()``
read each (memory, CPU, threads, descriptors, sockets). A restart is seen when the group's
oldest member changes (a new pid or start time): the JVM was restarted, by hand, by a
watchdog, or after a crash; ``l4agent_appserver_restarts_total`` counts them.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import psutil

from l4agent.core.samples import Problem, Sample, counter, gauge

PROCESS_MEMBERS = gauge("l4agent_process_members", "Processes in the app server's process group.")
PROCESS_CPU = counter("l4agent_process_cpu_seconds_total",
                      "CPU seconds used by the group's current members, by mode (user, system).")
PROCESS_RESIDENT = gauge("l4agent_process_resident_bytes", "Resident memory of the group's members in bytes.")
PROCESS_THREADS = gauge("l4agent_process_threads", "Threads of the group's members.")
PROCESS_OPEN_FILES = gauge("l4agent_process_open_files",
                           "Open file descriptors (files, sockets, pipes) of the group's members.")
PROCESS_CONNECTIONS = gauge("l4agent_process_connections",
                            "TCP sockets of the group's members by state (established, listen, close_wait, ...).")
PROCESS_UPTIME = gauge("l4agent_process_uptime_seconds", "Seconds since the group's oldest member started.")
PROCESS_START = gauge("l4agent_process_oldest_start_time_seconds",
                      "Start time of the group's oldest member in seconds since the Unix epoch.")
RESTARTS = counter("l4agent_appserver_restarts_total",
                   "Restarts of the app server seen by this agent (the process group's oldest member changed).")

#: up to this many members, sockets are read per process (cheaper than the host-wide table)
PER_PROCESS_SOCKET_READS = 4
#: connection states always exported (0 when none), so the series do not come and go
STANDARD_STATES = ("established", "listen", "close_wait", "time_wait")


@dataclass(frozen=True)
class ProcessMatcher:
    """``process`` is an exact process name or a regular expression matched against the whole
    name; ``user`` an exact user name; ``cmdline`` a regex searched in the space-joined
    command line."""

    process: str
    user: str | None = None
    cmdline: str | None = None

    def __post_init__(self) -> None:
        try:
            name_pattern = re.compile(self.process)
        except re.error:  # "name or regex": what is not a regex is a name
            name_pattern = re.compile(re.escape(self.process))
        object.__setattr__(self, "_name", name_pattern)
        object.__setattr__(self, "_cmdline", re.compile(self.cmdline) if self.cmdline else None)

    def matches(self, proc: psutil.Process) -> bool:
        name = proc.info.get("name") or ""
        if name != self.process and not self._name.fullmatch(name):
            return False
        if self.user is not None and proc.username() != self.user:
            return False
        if self._cmdline is not None and not self._cmdline.search(" ".join(proc.cmdline())):
            return False
        return True


@dataclass
class GroupReading:
    """One read of the group. Times are seconds; ``oldest`` is (pid, start time) or None."""

    count: int = 0
    cpu_user: float = 0.0
    cpu_system: float = 0.0
    resident_bytes: int = 0
    threads: int = 0
    open_files: int = 0
    connections: Counter = field(default_factory=Counter)
    oldest: tuple[int, float] | None = None
    denied: int = 0  # members whose descriptors or sockets this user may not read


def members(matcher: ProcessMatcher) -> list[psutil.Process]:
    """The running processes ``matcher`` accepts (those it may not read are left out)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        try:
            if matcher.matches(proc):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def read_group(matcher: ProcessMatcher, exclude: frozenset[int] = frozenset()) -> GroupReading:
    """Sum the resources of every process ``matcher`` accepts (``exclude``: pids to skip)."""
    reading = GroupReading()
    members: list[psutil.Process] = []
    for proc in psutil.process_iter(["name", "create_time"]):
        if proc.pid in exclude:
            continue
        try:
            if not matcher.matches(proc):
                continue
            _add_member(reading, proc)
            members.append(proc)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue  # ended while being read
        except psutil.AccessDenied:
            reading.denied += 1
    _count_connections(reading, members)
    return reading


def _count_connections(reading: GroupReading, members: list[psutil.Process]) -> None:
    """TCP sockets by state. Each per-process read parses the host's whole socket table, so a
    large group reads that table once for every process instead and keeps the group's pids."""
    if len(members) <= PER_PROCESS_SOCKET_READS:
        for proc in members:
            try:
                for conn in proc.net_connections(kind="tcp"):
                    reading.connections[conn.status.lower()] += 1
            except psutil.AccessDenied:
                reading.denied += 1
            except psutil.NoSuchProcess:
                continue
        return
    pids = {proc.pid for proc in members}
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.pid in pids:
                reading.connections[conn.status.lower()] += 1
    except psutil.AccessDenied:
        reading.denied += 1


def _add_member(reading: GroupReading, proc: psutil.Process) -> None:
    with proc.oneshot():
        memory = proc.memory_info()
        cpu = proc.cpu_times()
        threads = proc.num_threads()
        started = proc.info.get("create_time") or proc.create_time()
        reading.count += 1
        reading.resident_bytes += memory.rss
        reading.cpu_user += cpu.user
        reading.cpu_system += cpu.system
        reading.threads += threads
        if reading.oldest is None or started < reading.oldest[1]:
            reading.oldest = (proc.pid, started)
        try:
            reading.open_files += proc.num_fds()
        except psutil.AccessDenied:
            reading.denied += 1


class ProcessGroup:
    """A process group read every collection round; remembers its oldest member to count restarts."""

    def __init__(self, group: str, matcher: ProcessMatcher):
        self.group = group
        self.matcher = matcher
        self.restarts = 0
        self._oldest: tuple[int, float] | None = None

    def read(self) -> GroupReading:
        reading = read_group(self.matcher, exclude=frozenset({os.getpid()}))
        if reading.oldest is not None:
            if self._oldest is not None and not _same_process(self._oldest, reading.oldest):
                self.restarts += 1
            self._oldest = reading.oldest
        return reading

    def collect(self) -> Iterator[Sample | Problem]:
        reading = self.read()
        group = self.group
        yield PROCESS_MEMBERS(reading.count, group=group)
        yield PROCESS_CPU(round(reading.cpu_user, 3), group=group, mode="user")
        yield PROCESS_CPU(round(reading.cpu_system, 3), group=group, mode="system")
        yield PROCESS_RESIDENT(reading.resident_bytes, group=group)
        yield PROCESS_THREADS(reading.threads, group=group)
        yield PROCESS_OPEN_FILES(reading.open_files, group=group)
        for state in sorted(set(STANDARD_STATES) | set(reading.connections)):
            yield PROCESS_CONNECTIONS(reading.connections.get(state, 0), group=group, state=state)
        if reading.oldest is not None:
            yield PROCESS_START(round(reading.oldest[1], 3), group=group)
            yield PROCESS_UPTIME(round(max(0.0, time.time() - reading.oldest[1]), 3), group=group)
        yield RESTARTS(self.restarts, appserver=group)
        if reading.count == 0:
            yield Problem(f"no process matches process = {self.matcher.process}{self._filters()}")
        if reading.denied:
            yield Problem(f"{reading.denied} process(es) of the group could not be read fully (permission denied): "
                          "run the agent as the app server's user or give it CAP_SYS_PTRACE")

    def _filters(self) -> str:
        text = ""
        if self.matcher.user:
            text += f", process_user = {self.matcher.user}"
        if self.matcher.cmdline:
            text += f", process_cmdline = {self.matcher.cmdline}"
        return text


def _same_process(a: tuple[int, float], b: tuple[int, float]) -> bool:
    # start times are derived from boot time and clock ticks: equal for one process, but
    # compare with a little slack in case the boot time estimate moves by a tick
    return a[0] == b[0] and abs(a[1] - b[1]) < 0.5
