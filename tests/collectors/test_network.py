"""Network collector against the live machine, and probes against real loopback endpoints."""

from __future__ import annotations

import socket

from collectors.base import Sample
from collectors.network import NetworkCollector, count_tcp_states
from collectors.probes import ProbeCollector


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
