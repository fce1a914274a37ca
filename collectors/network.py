"""Network collector: per-interface traffic, errors and drops; TCP connections by state.

TCP states are counted from /proc/net/tcp{,6} directly: psutil.net_connections() also maps
every socket to its process, which costs far more than a count and needs root.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

import psutil

from collectors.base import Collector, Problem, Sample, counter, gauge

NET_BYTES = counter("l4agent_network_bytes_total", "Bytes received or sent on the interface.")
NET_PACKETS = counter("l4agent_network_packets_total", "Packets received or sent on the interface.")
NET_ERRORS = counter("l4agent_network_errors_total", "Receive or transmit errors on the interface.")
NET_DROPS = counter("l4agent_network_drops_total", "Packets dropped on receive or transmit.")
NET_UP = gauge("l4agent_network_up", "1 when the interface is up.")
TCP_CONNECTIONS = gauge("l4agent_tcp_connections", "TCP sockets by state (IPv4 and IPv6).")
LISTENING_SOCKETS = gauge("l4agent_listening_sockets", "Listening TCP sockets (IPv4 and IPv6).")

# Kernel TCP state numbers (include/net/tcp_states.h) to the names ss and netstat use.
TCP_STATES = {
    "01": "established", "02": "syn_sent", "03": "syn_recv", "04": "fin_wait1", "05": "fin_wait2",
    "06": "time_wait", "07": "close", "08": "close_wait", "09": "last_ack", "0A": "listen", "0B": "closing",
}


@dataclass
class NetworkCollector(Collector):
    """The local host's interfaces and TCP sockets."""

    name: str = "network"
    proc_root: str = "/proc"

    def collect(self) -> Iterator[Sample | Problem]:
        stats = psutil.net_if_stats()
        for interface, io in psutil.net_io_counters(pernic=True).items():
            for direction, nbytes, packets, errors, drops in (
                ("receive", io.bytes_recv, io.packets_recv, io.errin, io.dropin),
                ("transmit", io.bytes_sent, io.packets_sent, io.errout, io.dropout),
            ):
                yield NET_BYTES(nbytes, interface=interface, direction=direction)
                yield NET_PACKETS(packets, interface=interface, direction=direction)
                yield NET_ERRORS(errors, interface=interface, direction=direction)
                yield NET_DROPS(drops, interface=interface, direction=direction)
            if interface in stats:
                yield NET_UP(1 if stats[interface].isup else 0, interface=interface)
        counts: dict[str, int] = dict.fromkeys(TCP_STATES.values(), 0)
        for path in ("net/tcp", "net/tcp6"):
            try:
                with open(f"{self.proc_root}/{path}", encoding="ascii") as handle:
                    for state, number in count_tcp_states(handle.read()).items():
                        counts[state] = counts.get(state, 0) + number
            except FileNotFoundError:
                continue  # no IPv6 on this host
            except OSError as exc:
                yield Problem(f"{path}: {exc.strerror}")
        for state, number in counts.items():
            yield TCP_CONNECTIONS(number, state=state)
        yield LISTENING_SOCKETS(counts.get("listen", 0))


def count_tcp_states(table: str) -> dict[str, int]:
    """Count sockets per state in the text of /proc/net/tcp or /proc/net/tcp6."""
    counts: dict[str, int] = {}
    for line in table.splitlines()[1:]:
        fields = line.split(None, 4)
        if len(fields) < 4:
            continue
        state = TCP_STATES.get(fields[3].upper(), "unknown")
        counts[state] = counts.get(state, 0) + 1
    return counts


def listening_sockets(table: str) -> list[tuple[str, int]]:
    """(address, port) of every LISTEN socket in the text of /proc/net/tcp or /proc/net/tcp6;
    addresses as ipaddress prints them ("0.0.0.0", "::", "::ffff:127.0.0.1")."""
    listeners = []
    for line in table.splitlines()[1:]:
        fields = line.split(None, 4)
        if len(fields) < 4 or fields[3].upper() != "0A":
            continue
        address_hex, _, port_hex = fields[1].partition(":")
        raw = bytes.fromhex(address_hex)
        # The kernel prints each 32-bit word of the address in host (little-endian) byte order.
        packed = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
        listeners.append((str(ipaddress.ip_address(packed)), int(port_hex, 16)))
    return listeners


def from_config(config) -> list[Collector]:
    return [NetworkCollector(timeout=config.agent.collector_timeout)]
