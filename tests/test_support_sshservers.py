"""Self-tests of the real-sshd test support (tests/support/sshservers.py, ssh_fixtures.py)."""

from __future__ import annotations

import socket
import time

import paramiko
import pytest

from tests.support.ssh_fixtures import *  # noqa
from tests.support.sshservers import ClientKey, SshServer


def _client(known_hosts) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return client


def _connect(server, known_hosts, key_path=None, **kwargs) -> paramiko.SSHClient:
    client = _client(known_hosts)
    client.connect(
        server.host, port=server.port, username=server.user,
        pkey=paramiko.Ed25519Key.from_private_key_file(str(key_path or server.client_key_path)),
        look_for_keys=False, allow_agent=False, timeout=5, banner_timeout=5, auth_timeout=5,
        **kwargs,
    )
    return client


def _exec(client: paramiko.SSHClient, cmd: str) -> tuple[int, str, str]:
    _stdin, stdout, stderr = client.exec_command(cmd, timeout=10)
    out, err = stdout.read().decode(), stderr.read().decode()
    return stdout.channel.recv_exit_status(), out, err


def test_paramiko_runs_commands_as_test_user(ssh_server, known_hosts_file):
    with _connect(ssh_server, known_hosts_file) as client:
        assert _exec(client, "uname -s") == (0, "Linux\n", "")
        status, loadavg, _ = _exec(client, "cat /proc/loadavg")
        assert status == 0 and len(loadavg.split()) == 5
        assert _exec(client, "id -un")[1].strip() == ssh_server.user != "root"


def test_bin_dir_is_first_on_remote_path(ssh_agent_server, known_hosts_file):
    script = ssh_agent_server.install_script("l4probe", "#!/bin/sh\necho probe-ok \"$@\"\n")
    try:
        with _connect(ssh_agent_server, known_hosts_file) as client:
            assert _exec(client, "l4probe 1 2") == (0, "probe-ok 1 2\n", "")
            path = _exec(client, "echo $PATH")[1].strip().split(":")
            assert path[0] == str(ssh_agent_server.bin_dir)
            assert "/usr/bin" in path
    finally:
        script.unlink()
    assert list(ssh_agent_server.bin_dir.iterdir()) == []


def test_agentless_server_has_no_l4agent(ssh_server, known_hosts_file):
    with _connect(ssh_server, known_hosts_file) as client:
        assert _exec(client, "command -v l4agent")[0] != 0


def test_system_ssh_client_run(ssh_server):
    result = ssh_server.run("echo hello; echo oops >&2; exit 3")
    assert (result.returncode, result.stdout, result.stderr) == (3, "hello\n", "oops\n")


def test_wrong_key_is_refused(ssh_server, known_hosts_file, tmp_path):
    stranger = ClientKey.generate(tmp_path, "stranger")
    with pytest.raises(paramiko.AuthenticationException):
        _connect(ssh_server, known_hosts_file, key_path=stranger.path)


def test_unknown_host_key_is_refused(ssh_server, ssh_jump_server, tmp_path):
    only_jump = ssh_jump_server.write_known_hosts(tmp_path / "known_hosts")
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        _connect(ssh_server, only_jump)


def test_changed_host_key_is_refused(ssh_server, ssh_agent_server, tmp_path):
    """A known_hosts entry for the right host:port but another key must not be accepted."""
    forged = tmp_path / "known_hosts"
    host = f"[{ssh_server.host}]:{ssh_server.port}"
    forged.write_text(f"{host} {ssh_agent_server.host_key_public}\n")
    with pytest.raises(paramiko.BadHostKeyException):
        _connect(ssh_server, forged)


def test_jump_host_forwards_to_target(ssh_jump_server, ssh_server, known_hosts_file):
    import psutil

    with _connect(ssh_jump_server, known_hosts_file) as jump:
        channel = jump.get_transport().open_channel(
            "direct-tcpip", (ssh_server.host, ssh_server.port), ("127.0.0.1", 0), timeout=5)
        with _connect(ssh_server, known_hosts_file, sock=channel) as target:
            status, out, _ = _exec(target, "echo $SSH_CONNECTION")
            client_ip, client_port, server_ip, server_port = out.split()
            # The TCP connection the target sees is owned by the bastion's sshd, not by us.
            owners = {c.pid for c in psutil.net_connections("tcp")
                      if c.laddr == (client_ip, int(client_port))}
            jump_pids = {p.pid for p in psutil.Process(ssh_jump_server.pid).children(True)}
    assert status == 0
    assert (server_ip, int(server_port)) == (ssh_server.host, ssh_server.port)
    assert owners and owners <= jump_pids


def test_hanging_host_times_out_quickly(hanging_ssh_host, known_hosts_file):
    client = _client(known_hosts_file)
    started = time.monotonic()
    with pytest.raises((paramiko.SSHException, socket.timeout, EOFError)):
        client.connect(hanging_ssh_host.host, port=hanging_ssh_host.port, username="l4test",
                       key_filename=None, look_for_keys=False, allow_agent=False,
                       timeout=1, banner_timeout=1, auth_timeout=1)
    client.close()
    assert time.monotonic() - started < 2.5
    assert hanging_ssh_host.accepted >= 1


def test_bogus_banner_is_rejected(bogus_banner_host, known_hosts_file):
    client = _client(known_hosts_file)
    with pytest.raises(paramiko.SSHException):
        client.connect(bogus_banner_host.host, port=bogus_banner_host.port, username="l4test",
                       look_for_keys=False, allow_agent=False, timeout=2, banner_timeout=2)
    client.close()


def test_closed_port_is_refused(closed_ssh_port):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", closed_ssh_port), timeout=2).close()


def test_server_lifecycle_leaves_no_processes(tmp_path):
    import psutil

    with SshServer("127.0.0.3", name="lifecycle") as srv:
        pid = srv.pid
        tmpdir = srv.tmpdir
        # A long-running remote command must not survive the server.
        proc = srv.run("sleep 60 >/dev/null 2>&1 & echo started", timeout=10)
        assert proc.stdout == "started\n"
        assert srv.running
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not tmpdir.exists()
    leftovers = [p for p in psutil.process_iter(["username", "cmdline"])
                 if p.info["username"] == srv.user and "sleep" in (p.info["cmdline"] or [])]
    assert leftovers == []
    with pytest.raises(OSError):
        socket.create_connection((srv.host, srv.port), timeout=1).close()


def test_l4agent_wrapper_runs_this_checkout(ssh_agent_server, known_hosts_file):
    ssh_agent_server.install_l4agent_wrapper()
    try:
        with _connect(ssh_agent_server, known_hosts_file) as client:
            status, out, err = _exec(client, "l4agent --help")
        assert status == 0, err
        assert "collect" in out
    finally:
        ssh_agent_server.clear_bin_dir()
