"""Network collector: per-interface traffic, errors and drops; TCP connections by state.

TCP states are counted from one sock_diag netlink dump per address family (what ``ss`` does):
reading /proc/net/tcp{,6} makes the kernel format a line per socket and walk its hash table
page by page, 5-6x the cost at 8,000 sockets (bench/growth). Where netlink is unavailable
(a sandbox without NETLINK_SOCK_DIAG) the /proc files are read instead. psutil.net_connections()
also maps every socket to its process, which costs far more than a count and needs root.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import psutil

from l4agent.collectors.base import Collector
from l4agent.core.samples import Problem, Sample, counter, gauge

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
        netlink = tcp_states_netlink() if self.proc_root == "/proc" else None
        if netlink is not None:
            for state, number in netlink.items():
                counts[state] = counts.get(state, 0) + number
        else:
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


# sock_diag (linux/sock_diag.h, linux/inet_diag.h): a dump request for every TCP socket of
# one address family, and where the state sits in each reply (after the 16-byte nlmsghdr,
# inet_diag_msg starts with idiag_family, idiag_state).
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST_DUMP = 0x01 | 0x300
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_ALL_STATES = 0xFFFFFFFF
_NLMSG_HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
_DIAG_REQUEST = struct.Struct("=BBBBI48x")  # family, protocol, ext, pad, states, inet_diag_sockid
_STATE_OFFSET = _NLMSG_HEADER.size + 1
_STATE_NAMES = {int(number, 16): name for number, name in TCP_STATES.items()}


def tcp_states_netlink(timeout: float = 5.0) -> dict[str, int] | None:
    """Sockets per state over IPv4 and IPv6 from sock_diag dumps; None when netlink is not
    available (the caller reads /proc/net/tcp instead). IPv6 that the kernel lacks counts 0."""
    counts: dict[str, int] = {}
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as sock:
            sock.settimeout(timeout)
            for family in (socket.AF_INET, socket.AF_INET6):
                if not _dump_tcp_states(sock, family, counts) and family == socket.AF_INET:
                    return None
    except OSError:
        return None
    return counts


def _dump_tcp_states(sock: socket.socket, family: int, counts: dict[str, int]) -> bool:
    """Add one family's sockets to ``counts``; False when the kernel refused the dump."""
    request = _DIAG_REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, _ALL_STATES)
    sock.send(_NLMSG_HEADER.pack(_NLMSG_HEADER.size + len(request), _SOCK_DIAG_BY_FAMILY,
                                 _NLM_F_REQUEST_DUMP, family, 0) + request)
    per_state = [0] * 256
    header = _NLMSG_HEADER.unpack_from
    while True:
        data = sock.recv(1 << 17)
        offset, end = 0, len(data)
        while offset + _NLMSG_HEADER.size <= end:
            length, kind = header(data, offset)[:2]
            if kind == _NLMSG_DONE:
                for number, count in enumerate(per_state):
                    if count:
                        state = _STATE_NAMES.get(number, "unknown")
                        counts[state] = counts.get(state, 0) + count
                return True
            if kind == _NLMSG_ERROR:
                return False
            per_state[data[offset + _STATE_OFFSET]] += 1
            offset += (length + 3) & ~3
        if not data:
            return False


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
