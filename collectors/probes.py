"""Network probes from ``[[probes]]``: TCP connect time to host:port, DNS resolution time.

Each probe is its own collector, so one slow endpoint never delays another. A probe that
fails is data (``l4agent_probe_success=0``), not a collector error.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from l4agent.collectors.base import Collector
from l4agent.core.samples import Sample, gauge

PROBE_SUCCESS = gauge("l4agent_probe_success", "1 when the probe's last attempt succeeded, else 0.")
PROBE_DURATION = gauge("l4agent_probe_duration_seconds", "Time the probe's last attempt took in seconds.")
PROBE_FAILURE = gauge("l4agent_probe_failure_info",
                      "1 for why the probe's last attempt failed: refused, timeout, dns, unreachable or error "
                      "(absent while it succeeds).")


@dataclass
class ProbeResult:
    ok: bool
    seconds: float
    error: str | None = None
    #: refused | timeout | dns | unreachable | error (None when ok)
    reason: str | None = None


def failure_reason(exc: BaseException) -> str:
    """A failed connect or lookup in one word, for a label and a record title."""
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "unreachable"
    return "error"


def tcp_connect(host: str, port: int, timeout: float) -> ProbeResult:
    """Time a TCP connect (including name resolution) to host:port."""
    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        return ProbeResult(False, time.perf_counter() - started, exc.strerror or str(exc) or "timed out",
                           failure_reason(exc))
    return ProbeResult(True, time.perf_counter() - started)


def dns_resolve(name: str, timeout: float) -> ProbeResult:
    """Time a getaddrinfo() of ``name``; the resolver has no timeout of its own, so bound it."""
    outcome: list[ProbeResult] = []
    started = time.perf_counter()

    def resolve() -> None:
        try:
            socket.getaddrinfo(name, None)
            outcome.append(ProbeResult(True, time.perf_counter() - started))
        except OSError as exc:
            outcome.append(ProbeResult(False, time.perf_counter() - started, str(exc), "dns"))

    thread = threading.Thread(target=resolve, name=f"dns-{name}", daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else ProbeResult(False, timeout, f"timed out after {timeout:g}s", "timeout")


@dataclass
class ProbeCollector(Collector):
    """One configured probe."""

    name: str = "probe"
    tcp_host: str | None = None
    tcp_port: int | None = None
    dns: str | None = None
    probe_timeout: float = 2.0

    def collect(self) -> Iterator[Sample]:
        if self.dns:
            result = dns_resolve(self.dns, self.probe_timeout)
            kind = "dns"
        else:
            result = tcp_connect(self.tcp_host, self.tcp_port, self.probe_timeout)
            kind = "tcp"
        yield PROBE_SUCCESS(1 if result.ok else 0, probe=self.target, kind=kind)
        yield PROBE_DURATION(round(result.seconds, 6), probe=self.target, kind=kind)
        if not result.ok:
            yield PROBE_FAILURE(1, probe=self.target, kind=kind, reason=result.reason or "error")


def from_config(config) -> list[Collector]:
    return [
        ProbeCollector(target=p.name, tcp_host=p.tcp_host, tcp_port=p.tcp_port, dns=p.dns,
                       probe_timeout=p.timeout, timeout=p.timeout + 1.0)
        for p in config.probes
    ]
