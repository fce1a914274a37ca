"""Helpers for the remote (SSH) tests: the CLI with the test client key and known_hosts, and
direct use of the library against the real sshd fixtures."""

from __future__ import annotations

import json

import pytest

from l4agent.agent.remote.hosts import HostSpec, parse_address
from l4agent.agent.remote.known_hosts import KnownHosts
from l4agent.agent.remote.ssh import Connector


def spec_for(server, name: str | None = None, **kwargs) -> HostSpec:
    """A HostSpec for a test sshd, logging in with the shared client key."""
    address = parse_address(server.address)
    return HostSpec(name=name or str(address), address=address, identity=str(server.client_key_path), **kwargs)


@pytest.fixture
def connector(known_hosts_file):
    """A Connector verifying against the fixture servers' known_hosts, 5s connect timeout."""
    made = Connector(KnownHosts(str(known_hosts_file)), connect_timeout=5)
    yield made
    made.close()


@pytest.fixture
def remote_cli(run_cli, known_hosts_file, ssh_client_key):
    """``l4agent remote ACTION ARGS`` with -i and --known-hosts set; returns the CompletedProcess."""

    def run(action: str, *args: str, timeout: float = 120, env=None, known_hosts=None):
        return run_cli("remote", action, "-i", str(ssh_client_key.path),
                       "--known-hosts", str(known_hosts or known_hosts_file), *args, timeout=timeout, env=env)

    return run


def hosts_json(proc) -> list[dict]:
    """The per-host objects of a ``--format json`` run (fails with stderr when not JSON)."""
    try:
        return json.loads(proc.stdout)["hosts"]
    except (ValueError, KeyError) as exc:
        raise AssertionError(f"not remote JSON ({exc}); rc={proc.returncode}\n"
                             f"stdout: {proc.stdout[:2000]}\nstderr: {proc.stderr[:2000]}") from None


@pytest.fixture
def rogue_and_tame_roles(pg_server):
    """A login role with SUPERUSER (the defect) and its clean twin, a plain login role."""
    rogue, tame = "l4t_remote_rogue", "l4t_remote_tame"
    pg_server.execute_admin([f"CREATE ROLE {rogue} LOGIN SUPERUSER", f"CREATE ROLE {tame} LOGIN"])
    yield rogue, tame
    pg_server.execute_admin([f"DROP ROLE {rogue}", f"DROP ROLE {tame}"])
