"""security.db_port_exposed on this host's real /proc/net/tcp{,6}: a listener opened on
0.0.0.0:<target's port> beside one on 127.0.0.1:<another target's port>."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from l4agent.collectors.network import listening_sockets
from l4agent.diagnostics.security.db_port_exposed import parse_endpoint, target_port
from l4agent.diagnostics.security.securitykit import is_loopback
from tests.diagnostics.security_helpers import run_check


def listener(address: str, family=socket.AF_INET) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((address, 0))
    sock.listen()
    return sock


@pytest.fixture
def exposed() -> Iterator[int]:
    with listener("0.0.0.0") as sock:
        yield sock.getsockname()[1]


@pytest.fixture
def loopback() -> Iterator[int]:
    with listener("127.0.0.1") as sock:
        yield sock.getsockname()[1]


def config(**ports: int) -> dict:
    """One PostgreSQL target per name, its DSN naming the port."""
    return {"databases": [{"name": name, "engine": "postgresql", "password_env": "UNUSED",
                           "dsn": f"DRIVER={{PostgreSQL Unicode}};SERVER=127.0.0.1;PORT={port};UID=l4"}
                          for name, port in ports.items()],
            "diagnostics": {"security": {"enabled": True}, "security.db_port_exposed": {}}}


def ours(result, *ports):
    return [f for f in result.findings if f.evidence["port"] in ports]


def test_target_port_on_every_address_is_flagged_loopback_is_not(exposed, loopback):
    result = run_check("security.db_port_exposed", config(erp=exposed, reports=loopback))
    [finding] = ours(result, exposed, loopback)
    assert (finding.severity, finding.object) == ("warning", f"0.0.0.0:{exposed}")
    assert finding.summary == f"postgresql port {exposed} listens on every address (target erp)"
    assert finding.recommendation == (
        "if only this host uses it: `listen_addresses = 'localhost'` in postgresql.conf (restart); if other "
        f"hosts must reach it: allow only them in the firewall and add \"0.0.0.0:{exposed}\" to "
        "expected_exposed under [diagnostics.security]")


def test_expected_exposure_is_accepted(exposed):
    data = config(erp=exposed)
    data["diagnostics"]["security"]["expected_exposed"] = [f"0.0.0.0:{exposed}"]
    assert ours(run_check("security.db_port_exposed", data), exposed) == []
    data["diagnostics"]["security"]["expected_exposed"] = [f"*:{exposed}"]
    assert ours(run_check("security.db_port_exposed", data), exposed) == []


def test_a_port_nobody_configured_is_not_judged(exposed):
    assert ours(run_check("security.db_port_exposed", config()), exposed) == []


def test_ipv6_any_address_listener_is_flagged():
    try:
        sock = listener("::", socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 on this host")
    with sock:
        port = sock.getsockname()[1]
        [finding] = ours(run_check("security.db_port_exposed", config(erp=port)), port)
    assert finding.object == f"[::]:{port}"


def test_proc_net_tcp_parsing():
    tcp = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
           "   0: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   108        0 1 1\n"
           "   1: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   108        0 2 1\n"
           "   2: 0500000A:1538 0600000A:D431 01 00000000:00000000 00:00000000 00000000   108        0 3 1\n")
    tcp6 = ("  sl  local_address                         remote_address                        st\n"
            "   0: 00000000000000000000000000000000:1538 00000000000000000000000000000000:0000 0A\n"
            "   1: 00000000000000000000000001000000:0599 00000000000000000000000000000000:0000 0A\n"
            "   2: 0000000000000000FFFF00000100007F:0CEA 00000000000000000000000000000000:0000 0A\n")
    assert listening_sockets(tcp) == [("0.0.0.0", 5432), ("127.0.0.1", 3306)]
    assert listening_sockets(tcp6) == [("::", 5432), ("::1", 1433), ("::ffff:7f00:1", 3306)]
    assert is_loopback("::ffff:7f00:1") and is_loopback("::1") and not is_loopback("::")


def test_ports_from_dsns_and_endpoints_from_the_allow_list():
    assert target_port("mssql", "DRIVER={ODBC Driver 18 for SQL Server};SERVER=tcp:db1,14330;UID=l4") == 14330
    assert target_port("mssql", "DRIVER={ODBC Driver 18 for SQL Server};SERVER=db1\\ERP;UID=l4") is None
    assert target_port("mysql", "DRIVER={MariaDB Unicode};SERVER=db1;PORT=3307") == 3307
    assert parse_endpoint("[::]:5432") == ("::", 5432)
    assert parse_endpoint("*:1433") == ("*", 1433)
    with pytest.raises(ValueError, match="is not ADDRESS:PORT"):
        parse_endpoint("5432")
