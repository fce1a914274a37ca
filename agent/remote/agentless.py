"""Agentless collection: OS and network facts read with standard read-only commands and files in
ONE remote command, parsed here into the same samples the local collectors make.

Nothing is written on the host: the script only runs ``cat``, ``df``, ``uname``, ``getconf`` and
``grep`` on /proc and /sys, with ``LC_ALL=C`` for stable output and ``timeout`` around ``df``
(a hung NFS mount must not hang the read). Sections are separated by marker lines carrying a
random nonce, so no file content can pass for a marker.
"""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from l4agent.agent.remote import procfs
from l4agent.agent.remote.ssh import Session, SshError
from l4agent.collectors.base import Collector
from l4agent.core.samples import Problem, Sample

DF_TIMEOUT = 10  # seconds for each df run on the host

# (section, POSIX sh command); stderr is dropped: a missing file is an empty section.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("uname", "uname -s; uname -n"),
    ("clk_tck", "getconf CLK_TCK"),
    ("stat", "cat /proc/stat"),
    ("loadavg", "cat /proc/loadavg"),
    ("meminfo", "cat /proc/meminfo"),
    ("mounts", "cat /proc/mounts"),
    ("df", "$T df -Pk"),
    ("dfi", "$T df -Pi"),
    ("diskstats", "cat /proc/diskstats"),
    ("pressure", "grep -H . /proc/pressure/cpu /proc/pressure/memory /proc/pressure/io"),
    ("vmstat", "grep -E '^(oom_kill|pgmajfault) ' /proc/vmstat"),
    ("file_nr", "cat /proc/sys/fs/file-nr"),
    ("procs", "cat /proc/[0-9]*/stat"),
    ("net_dev", "cat /proc/net/dev"),
    ("sys_net", "grep -H . /sys/class/net/*/flags /sys/class/net/*/operstate"),
    ("tcp", "cat /proc/net/tcp"),
    ("tcp6", "cat /proc/net/tcp6"),
)
END = "end"


class AgentlessError(SshError):
    """The host's answer cannot be used at all (not Linux, no output)."""


def marker(nonce: str, section: str) -> str:
    return f"@@l4:{nonce}:{section}"


def build_script(nonce: str) -> str:
    """The POSIX sh script, run as ``sh -c '<script>'`` whatever the login shell is."""
    lines = [
        "LC_ALL=C; export LC_ALL",
        f'T=; if command -v timeout >/dev/null 2>&1; then T="timeout {DF_TIMEOUT}"; fi',
    ]
    for name, command in (*SECTIONS, (END, ":")):
        # The echo ends a section whose last line had no newline, so each marker starts a line.
        lines.append(f"echo; echo '{marker(nonce, name)}'; {{ {command}; }} 2>/dev/null")
    return "\n".join(lines) + "\n"


def split_sections(output: str, nonce: str) -> dict[str, str]:
    """Section name -> text, from the script's output; the first of a repeated name wins."""
    prefix = marker(nonce, "")
    sections: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in output.splitlines():
        if line.startswith(prefix):
            if current is not None:
                sections.setdefault(current, "\n".join(lines))
            current, lines = line[len(prefix):], []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections.setdefault(current, "\n".join(lines))
    return sections


@dataclass
class HostFacts:
    """What the script read. ``complete`` is False when the output was cut short."""

    sections: dict[str, str]
    system: str = ""
    hostname: str = ""
    clock_ticks: int = 100
    complete: bool = True

    @classmethod
    def from_output(cls, output: str, nonce: str) -> HostFacts:
        sections = split_sections(output, nonce)
        uname = [ln.strip() for ln in sections.get("uname", "").splitlines() if ln.strip()]
        ticks = sections.get("clk_tck", "").strip()
        return cls(
            sections=sections,
            system=procfs.label(uname[0]) if uname else "",
            hostname=procfs.label(uname[1][:255]) if len(uname) > 1 else "",
            clock_ticks=int(ticks) if procfs.is_uint(ticks) and 0 < int(ticks) <= 100000 else 100,
            complete=END in sections,
        )

    def text(self, name: str) -> str:
        return self.sections.get(name, "")


def read_host(session: Session, timeout: float) -> HostFacts:
    """Run the script on the host (one round trip) and split its output."""
    nonce = secrets.token_hex(8)
    result = session.run("sh -c " + shlex.quote(build_script(nonce)), timeout)
    output = result.stdout.decode("utf-8", "replace")
    facts = HostFacts.from_output(output, nonce)
    if not facts.sections:
        detail = result.stderr_line() or f"exit status {result.exit_status}"
        raise AgentlessError(f"{session.address}: the read-only commands printed nothing usable ({detail})")
    if facts.system != "Linux":
        raise AgentlessError(f"{session.address}: agentless mode reads Linux /proc; this host says "
                             f"{facts.system or 'nothing'!r} (install l4agent there instead)")
    return facts


# -- the collectors ----------------------------------------------------------------------------


Part = tuple[str, Callable[[], list[Sample]]]


@dataclass
class _FactsCollector(Collector):
    """A collector over facts already read: each part parses one file; a part that cannot be
    parsed becomes one error entry, the other parts still report."""

    facts: HostFacts = field(default_factory=lambda: HostFacts({}))

    def parts(self) -> Iterator[Part]:
        raise NotImplementedError

    def collect(self) -> Iterator[Sample | Problem]:
        if not self.facts.complete:
            yield Problem("the host's output was cut short; some values are missing")
        for _what, parse in self.parts():
            try:
                samples = parse()
            except procfs.ParseError as exc:
                yield Problem(str(exc))
                continue
            yield from samples


@dataclass
class RemoteOsCollector(_FactsCollector):
    """``collectors.system`` from the host's /proc and df."""

    name: str = "os"

    def parts(self) -> Iterator[Part]:
        f = self.facts

        def cpus() -> int | None:  # for load1 per CPU; the cpu part reports a bad /proc/stat
            try:
                return procfs.cpu_count(procfs.cpu_samples(f.text("stat"), f.clock_ticks))
            except procfs.ParseError:
                return None

        yield "cpu", lambda: procfs.cpu_samples(f.text("stat"), f.clock_ticks)
        yield "load", lambda: procfs.load_samples(f.text("loadavg"), cpus())
        yield "memory", lambda: procfs.memory_samples(f.text("meminfo"))
        yield "filesystems", lambda: procfs.filesystem_samples(f.text("mounts"), f.text("df"), f.text("dfi"))
        yield "disks", lambda: procfs.disk_samples(f.text("diskstats"))
        yield "pressure", lambda: procfs.pressure_samples(f.text("pressure"))
        yield "vmstat", lambda: procfs.vmstat_samples(f.text("vmstat"))
        yield "file descriptors", lambda: procfs.file_descriptor_samples(f.text("file_nr"))
        yield "processes", lambda: procfs.process_samples(f.text("procs"))


@dataclass
class RemoteNetworkCollector(_FactsCollector):
    """``collectors.network`` from the host's /proc/net and /sys/class/net."""

    name: str = "network"

    def parts(self) -> Iterator[Part]:
        f = self.facts
        yield "interfaces", lambda: procfs.interface_samples(f.text("net_dev"), f.text("sys_net"))
        yield "tcp", lambda: procfs.tcp_samples(f.text("tcp"), f.text("tcp6"))


def facts_collectors(facts: HostFacts, timeout: float = 10.0) -> list[Collector]:
    """The OS and network collectors over ``facts``."""
    return [RemoteOsCollector(facts=facts, timeout=timeout), RemoteNetworkCollector(facts=facts, timeout=timeout)]
