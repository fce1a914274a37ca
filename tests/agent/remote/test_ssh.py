"""SSH connections against real OpenSSH servers (agent/remote/ssh.py, known_hosts.py): host keys,
identities, jump host, timeouts, bounded commands."""

from __future__ import annotations

import base64
import socket
import subprocess
import threading
import time

import paramiko
import psutil
import pytest

from l4agent.agent.remote.hosts import HostSpec, parse_address
from l4agent.agent.remote.known_hosts import KnownHosts, fingerprint
from l4agent.agent.remote.ssh import CommandTimeout, Connector, SshError, load_identity
from tests.agent.remote.conftest import spec_for
from tests.support.sshservers import ClientKey


def _fingerprint_of(server) -> str:
    keytype, b64 = server.host_key_public.split()[:2]
    return fingerprint(paramiko.PKey.from_type_string(keytype, base64.b64decode(b64)))


def test_runs_a_command_and_reports_exit_status(connector, ssh_server):
    session = connector.open(spec_for(ssh_server))
    try:
        result = session.run("echo out; echo err >&2; exit 7", timeout=10)
        assert (result.exit_status, result.stdout, result.stderr) == (7, b"out\n", b"err\n")
        assert session.run("id -un", timeout=10).stdout.strip() == b"l4test"
    finally:
        session.close()


def test_command_timeout_and_output_cap(connector, ssh_server):
    session = connector.open(spec_for(ssh_server))
    try:
        started = time.monotonic()
        with pytest.raises(CommandTimeout, match="did not finish within 1s"):
            session.run("sleep 3", timeout=1)  # short: a closed channel does not stop it
        assert time.monotonic() - started < 3
        with pytest.raises(SshError, match="printed more than 1 MiB"):
            session.run("head -c 3000000 /dev/zero", timeout=10, max_stdout=1024 * 1024)
        assert session.run("echo still-usable", timeout=10).stdout == b"still-usable\n"
    finally:
        session.close()


def test_unknown_host_key_is_refused_with_its_fingerprint(tmp_path, ssh_server):
    known = tmp_path / "known_hosts"
    connector = Connector(KnownHosts(str(known)), connect_timeout=5)
    with pytest.raises(SshError) as caught:
        connector.open(spec_for(ssh_server))
    message = str(caught.value)
    assert caught.value.unreachable
    assert f"host key of [127.0.0.1]:{ssh_server.port} is not in {known}" in message
    assert _fingerprint_of(ssh_server) in message and "ssh-ed25519" in message
    assert "--accept-new" in message
    assert not known.exists()  # nothing recorded without --accept-new


class SwitchableProxy:
    """A TCP relay on 127.0.0.1: the same address, whichever sshd ``target`` points at (a
    reinstalled server, or a man in the middle)."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((self.target.host, self.target.port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._copy, args=(a, b), daemon=True).start()

    @staticmethod
    def _copy(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def test_accept_new_records_once_then_refuses_a_changed_key(tmp_path, ssh_server, ssh_agent_server):
    known = tmp_path / "ssh" / "known_hosts"  # the folder does not exist yet either
    proxy = SwitchableProxy(ssh_server)
    try:
        spec = HostSpec("t", parse_address(f"l4test@127.0.0.1:{proxy.port}"), identity=str(ssh_server.client_key_path))
        Connector(KnownHosts(str(known), accept_new=True), connect_timeout=5).open(spec).close()
        assert known.read_text() == f"[127.0.0.1]:{proxy.port} {ssh_server.host_key_public}\n"
        assert oct(known.stat().st_mode & 0o777) == "0o600"
        # a second run knows the key now: accepted, nothing appended
        Connector(KnownHosts(str(known), accept_new=True), connect_timeout=5).open(spec).close()
        assert known.read_text().count("\n") == 1
        # The same address now answers with another host key: refused even with --accept-new.
        proxy.target = ssh_agent_server
        with pytest.raises(SshError) as caught:
            Connector(KnownHosts(str(known), accept_new=True), connect_timeout=5).open(spec)
        message = str(caught.value)
        assert f"HOST KEY CHANGED for [127.0.0.1]:{proxy.port}" in message
        assert _fingerprint_of(ssh_agent_server) in message and _fingerprint_of(ssh_server) in message
        assert "ssh-keygen -R" in message
        assert known.read_text().count("\n") == 1  # not overwritten
    finally:
        proxy.close()


def test_revoked_key_is_refused(tmp_path, ssh_server):
    known = tmp_path / "known_hosts"
    known.write_text(ssh_server.known_hosts_line() + "\n"
                     + "@revoked * " + ssh_server.host_key_public + "\n"
                     + "garbage line with bad base64 !!!\n")
    with pytest.raises(SshError, match="marked @revoked"):
        Connector(KnownHosts(str(known)), connect_timeout=5).open(spec_for(ssh_server))


def test_hashed_known_hosts_entries_work(tmp_path, ssh_server):
    known = tmp_path / "known_hosts"
    hashed = paramiko.HostKeys().hash_host(f"[127.0.0.1]:{ssh_server.port}")
    known.write_text(f"{hashed} {ssh_server.host_key_public}\n")
    Connector(KnownHosts(str(known)), connect_timeout=5).open(spec_for(ssh_server)).close()


def test_wrong_identity_is_refused(tmp_path, connector, ssh_server):
    stranger = ClientKey.generate(tmp_path, "stranger")
    spec = HostSpec("t", parse_address(ssh_server.address), identity=str(stranger.path))
    with pytest.raises(SshError) as caught:
        connector.open(spec)
    assert caught.value.unreachable
    assert f"login refused for user 'l4test' (tried key {stranger.path}" in str(caught.value)


def test_identity_file_problems_are_clear(tmp_path):
    with pytest.raises(ValueError, match="No such file"):
        load_identity(str(tmp_path / "missing"))
    (tmp_path / "notakey").write_text("hello\n")
    with pytest.raises(ValueError, match="not a private key"):
        load_identity(str(tmp_path / "notakey"))
    encrypted = tmp_path / "enc"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "s3cret-pass", "-f", str(encrypted)], check=True)
    with pytest.raises(ValueError, match="is encrypted: load it into ssh-agent"):
        load_identity(str(encrypted))


def test_jump_host_reaches_the_target(connector, ssh_jump_server, ssh_server):
    spec = spec_for(ssh_server, jump=parse_address(ssh_jump_server.address))
    session = connector.open(spec)
    try:
        client_ip, client_port, *_ = session.run("echo $SSH_CONNECTION", timeout=10).stdout.decode().split()
        # The TCP connection the target sees is owned by the bastion's sshd, not by us.
        owners = {c.pid for c in psutil.net_connections("tcp")
                  if c.laddr == (client_ip, int(client_port)) and c.status == psutil.CONN_ESTABLISHED}
        jump_pids = {p.pid for p in psutil.Process(ssh_jump_server.pid).children(True)}
    finally:
        session.close()
    assert owners and owners <= jump_pids


def test_dead_jump_host_fails_fast_for_every_host_behind_it(connector, ssh_server, closed_ssh_port):
    jump = parse_address(f"l4test@127.0.0.1:{closed_ssh_port}")
    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(SshError, match=f"jump host .*connection refused on port {closed_ssh_port}"):
            connector.open(spec_for(ssh_server, jump=jump))
    assert time.monotonic() - started < 2


def test_jump_host_cannot_reach_target(connector, ssh_jump_server, closed_ssh_port):
    spec = HostSpec("t", parse_address(f"l4test@127.0.0.1:{closed_ssh_port}"),
                    identity=str(ssh_jump_server.client_key_path), jump=parse_address(ssh_jump_server.address))
    with pytest.raises(SshError, match=f"could not connect to 127.0.0.1:{closed_ssh_port}"):
        connector.open(spec)


@pytest.mark.parametrize("fixture, fragment", [
    ("hanging_ssh_host", "no SSH protocol banner within 2s"),
    ("bogus_banner_host", "no SSH protocol banner"),
])
def test_hostile_listeners_are_unreachable(request, known_hosts_file, fixture, fragment):
    stub = request.getfixturevalue(fixture)
    connector = Connector(KnownHosts(str(known_hosts_file)), connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(SshError, match=fragment) as caught:
        connector.open(HostSpec("t", parse_address(f"l4test@127.0.0.1:{stub.port}")))
    assert caught.value.unreachable
    assert time.monotonic() - started < 4


def test_closed_port_is_refused(connector, closed_ssh_port):
    with pytest.raises(SshError, match=f"connection refused on port {closed_ssh_port}"):
        connector.open(HostSpec("t", parse_address(f"127.0.0.1:{closed_ssh_port}")))


def test_a_peer_that_closes_at_once_is_not_reported_as_a_timeout(known_hosts_file):
    """A listener that accepts and closes (sshd over MaxStartups, fail2ban, TCP wrappers) answers
    in milliseconds: the error says the server closed the connection, not "within 3s"."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        connector = Connector(KnownHosts(str(known_hosts_file)), connect_timeout=3)
        started = time.monotonic()
        with pytest.raises(SshError) as caught:
            connector.open(HostSpec("t", parse_address(f"l4test@127.0.0.1:{listener.getsockname()[1]}")))
        assert time.monotonic() - started < 1.5
    finally:
        stop.set()
        thread.join()
        listener.close()
    message = str(caught.value)
    assert "closed the connection after" in message and "within 3s" not in message, message
    assert caught.value.unreachable
