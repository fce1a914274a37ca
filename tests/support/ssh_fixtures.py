"""pytest fixtures: real OpenSSH servers on loopback (see :mod:`tests.support.sshservers`).

All SSH servers of a session accept the same client key (``ssh_client_key``), so one
``-i KEY`` works for a target and its jump host. Session-scoped servers are shared: a test that
drops files into ``bin_dir`` must remove them again (``server.clear_bin_dir()``).
"""

from __future__ import annotations

import pytest

from tests.support.sshservers import (
    BogusBannerServer,
    ClientKey,
    HangingServer,
    SshServer,
    closed_port,
)

__all__ = [
    "ssh_client_key",
    "ssh_server",
    "ssh_agent_server",
    "ssh_jump_server",
    "hanging_ssh_host",
    "bogus_banner_host",
    "closed_ssh_port",
    "known_hosts_file",
]


def _serve(request, server):
    """Start *server*, register its teardown, return it."""
    request.addfinalizer(server.close)
    return server.start()


@pytest.fixture(scope="session")
def ssh_client_key(tmp_path_factory) -> ClientKey:
    """The ed25519 client key pair every test SSH server accepts for user ``l4test``."""
    return ClientKey.generate(tmp_path_factory.mktemp("ssh-client"))


@pytest.fixture(scope="session")
def ssh_server(request, ssh_client_key) -> SshServer:
    """Agentless target: nothing extra on the PATH (``bin_dir`` stays empty)."""
    return _serve(request, SshServer(client_key=ssh_client_key, name="target"))


@pytest.fixture(scope="session")
def ssh_agent_server(request, ssh_client_key) -> SshServer:
    """Target for agent mode: tests install an ``l4agent`` wrapper into its ``bin_dir``."""
    return _serve(request, SshServer(client_key=ssh_client_key, name="agent-target"))


@pytest.fixture(scope="session")
def ssh_jump_server(request, ssh_client_key) -> SshServer:
    """Bastion with TCP forwarding; reaches the targets over loopback (own address 127.0.0.2)."""
    return _serve(request, SshServer("127.0.0.2", client_key=ssh_client_key, name="jump"))


@pytest.fixture(scope="session")
def hanging_ssh_host(request) -> HangingServer:
    """Accepts TCP connections and never sends the SSH banner."""
    server = HangingServer()
    request.addfinalizer(server.close)
    return server.start()


@pytest.fixture(scope="session")
def bogus_banner_host(request) -> BogusBannerServer:
    """Answers with an HTTP error instead of an SSH banner, then closes."""
    server = BogusBannerServer()
    request.addfinalizer(server.close)
    return server.start()


@pytest.fixture
def closed_ssh_port() -> int:
    """A loopback port (on 127.0.0.1) with nothing listening: connections are refused."""
    return closed_port()


@pytest.fixture
def known_hosts_file(tmp_path, ssh_server, ssh_agent_server, ssh_jump_server):
    """A fresh known_hosts file holding the host keys of the three SSH servers."""
    path = tmp_path / "known_hosts"
    path.write_text("".join(s.known_hosts_line() + "\n"
                            for s in (ssh_server, ssh_agent_server, ssh_jump_server)))
    return path
