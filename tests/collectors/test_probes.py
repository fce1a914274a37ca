"""Network probes against real loopback endpoints: success, and a failure that says why."""

from __future__ import annotations

import socket

from l4agent.collectors.probes import ProbeCollector
from tests.support.dbservers import free_port


def samples_of(collector) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in collector.collect()}


def test_an_open_port_succeeds_without_a_failure_reason():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        found = samples_of(ProbeCollector(target="web", tcp_host="127.0.0.1", tcp_port=port, probe_timeout=2))
    assert found[("l4agent_probe_success", (("kind", "tcp"), ("probe", "web")))] == 1
    assert not [key for key in found if key[0] == "l4agent_probe_failure_info"]


def test_a_closed_port_fails_as_refused_and_a_bad_name_as_dns():
    refused = samples_of(ProbeCollector(target="db", tcp_host="127.0.0.1", tcp_port=free_port(), probe_timeout=2))
    assert refused[("l4agent_probe_success", (("kind", "tcp"), ("probe", "db")))] == 0
    assert refused[("l4agent_probe_failure_info", (("kind", "tcp"), ("probe", "db"), ("reason", "refused")))] == 1
    dns = samples_of(ProbeCollector(target="n", dns="no-such-host.invalid", probe_timeout=3))
    assert dns[("l4agent_probe_failure_info", (("kind", "dns"), ("probe", "n"), ("reason", "dns")))] == 1
