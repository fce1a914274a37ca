"""Network collector against the live machine, and probes against real loopback endpoints."""

from __future__ import annotations

import socket

from l4agent.collectors.network import NetworkCollector, count_tcp_states, tcp_states_netlink
from l4agent.collectors.probes import ProbeCollector
from l4agent.core.samples import Sample


def test_loopback_interface_and_tcp_states():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        samples = [s for s in NetworkCollector().collect() if isinstance(s, Sample)]
    interfaces = {s.labels["interface"] for s in samples if s.name == "l4agent_network_bytes_total"}
    assert "lo" in interfaces
    directions = {s.labels["direction"] for s in samples if s.name == "l4agent_network_errors_total"}
    assert directions == {"receive", "transmit"}
    listening = [s.value for s in samples if s.name == "l4agent_tcp_connections" and s.labels["state"] == "listen"]
    assert listening[0] >= 1
    assert [s.value for s in samples if s.name == "l4agent_listening_sockets"] == listening


def test_count_tcp_states_parses_proc_format():
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:2686 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n"
        "   1: 0100007F:2686 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n"
        "   2: 0100007F:2686 0100007F:9C41 01 00000000:00000000 00:00000000 00000000     0        0 3 1\n"
        "garbage\n"
    )
    assert count_tcp_states(table) == {"listen": 1, "established": 2}


def _proc_tcp_states() -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path, encoding="ascii") as handle:
                for state, number in count_tcp_states(handle.read()).items():
                    counts[state] = counts.get(state, 0) + number
        except FileNotFoundError:
            pass
    return counts


def test_netlink_counts_what_proc_net_tcp_lists():
    """sock_diag (the fast path) and /proc/net/tcp{,6} (the fallback) count the same sockets:
    60 loopback connections of our own (both ends), IPv4 and IPv6 listeners, one closed half."""
    with socket.socket() as listener, socket.socket(socket.AF_INET6) as listener6:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        listener6.bind(("::1", 0))
        listener6.listen()
        before = tcp_states_netlink()
        clients = [socket.create_connection(listener.getsockname()) for _ in range(60)]
        servers = [listener.accept()[0] for _ in clients]
        servers[0].close()  # its peer goes to close_wait
        try:
            netlink, proc = tcp_states_netlink(), _proc_tcp_states()
        finally:
            for sock in clients + servers[1:]:
                sock.close()
    assert netlink is not None, "sock_diag netlink unavailable"
    assert netlink.get("established", 0) - before.get("established", 0) >= 110
    assert netlink.get("close_wait", 0) >= 1
    assert netlink.get("listen", 0) >= 2
    # Other processes open and close sockets meanwhile: compare what ours dominate.
    for state in ("established", "listen", "close_wait"):
        assert abs(netlink.get(state, 0) - proc.get(state, 0)) <= 10, (state, netlink, proc)


def test_collector_falls_back_to_proc_files(tmp_path):
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp").write_text(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:2686 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n")
    samples = [s for s in NetworkCollector(proc_root=str(tmp_path)).collect() if isinstance(s, Sample)]
    assert [s.value for s in samples if s.name == "l4agent_listening_sockets"] == [1.0]


def probe(**kwargs) -> dict[str, float]:
    collector = ProbeCollector(target="p", **kwargs)
    return {s.name: s.value for s in collector.collect()}


def test_tcp_probe_open_and_closed_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        up = probe(tcp_host="127.0.0.1", tcp_port=port, probe_timeout=2)
    assert up["l4agent_probe_success"] == 1
    assert 0 < up["l4agent_probe_duration_seconds"] < 2
    down = probe(tcp_host="127.0.0.1", tcp_port=port, probe_timeout=2)  # listener closed now
    assert down["l4agent_probe_success"] == 0


def test_dns_probe_of_localhost_and_of_nothing():
    assert probe(dns="localhost", probe_timeout=2)["l4agent_probe_success"] == 1
    assert probe(dns="no-such-host.invalid", probe_timeout=2)["l4agent_probe_success"] == 0
