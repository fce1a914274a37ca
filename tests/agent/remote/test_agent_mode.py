"""Agent mode (agent/remote/agent_mode.py): l4agent on the host's PATH runs there with the host's
own config, and its JSON is the result."""

from __future__ import annotations

import json
import os
import pwd
import socket
import textwrap
import time

import psutil
import pytest

from l4agent.agent.remote.agent_mode import AgentModeError, command, parse_json
from tests.agent.remote.conftest import hosts_json
from tests.support.sshservers import closed_port


@pytest.fixture
def agent_host(ssh_agent_server):
    """The agent-mode server with this checkout installed as ``l4agent`` on its PATH."""
    ssh_agent_server.install_l4agent_wrapper()
    yield ssh_agent_server
    ssh_agent_server.clear_bin_dir()


def _host_file(server, name: str, text: str) -> str:
    """A file in the server's directory owned by the login user, mode 0600 (configs, passwords)."""
    path = server.tmpdir / name
    path.write_text(textwrap.dedent(text))
    account = pwd.getpwnam(server.user)
    os.chown(path, account.pw_uid, account.pw_gid)
    path.chmod(0o600)
    return str(path)


def _inventory(tmp_path, server, config: str | None = None) -> str:
    path = tmp_path / "inventory.toml"
    path.write_text(f'[[hosts]]\nname = "agent-host"\nhost = "{server.address}"\n'
                    + (f'config = "{config}"\n' if config else ""))
    return str(path)


def test_agent_mode_collect_uses_the_hosts_l4agent(remote_cli, agent_host):
    proc = remote_cli("collect", agent_host.address, "--format", "json")
    (host,) = hosts_json(proc)
    assert (host["mode"], host["ok"], host["error"]) == ("agent", True, None)
    result = host["result"]
    # Exit 3 only when the host's own collect reported an error (other tests mount and unmount
    # filesystems while this runs; the host's l4agent may catch one half-gone).
    assert proc.returncode == (3 if result["errors"] else 0), proc.stderr
    assert result["host"] == socket.gethostname()
    names = {s["name"] for s in result["samples"]}
    # l4agent_up and the collector self-metrics only come from a real l4agent run
    assert {"l4agent_up", "l4agent_cpus", "l4agent_memory_bytes", "l4agent_tcp_connections"} <= names
    assert {s["labels"]["collector"] for s in result["samples"] if s["name"] == "l4agent_collector_success"} \
        >= {"os", "network"}


def test_agent_mode_diagnose_with_the_hosts_config(tmp_path, remote_cli, agent_host, pg_server, rogue_and_tame_roles):
    rogue, tame = rogue_and_tame_roles
    password = _host_file(agent_host, "pg.pw", pg_server.monitor_password + "\n")
    config = _host_file(agent_host, "l4agent.toml", f"""
        [agent]
        state_dir = "{agent_host.tmpdir}/state"
        [[databases]]
        name = "erp"
        engine = "postgresql"
        dsn = {json.dumps(pg_server.agent_dsn("postgres"))}
        password_file = "{password}"
        [diagnostics.security.superusers]
        allowed_superusers = ["postgres"]
        """)
    proc = remote_cli("diagnose", "--inventory", _inventory(tmp_path, agent_host, config),
                      "--check", "security.superusers", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (host,) = hosts_json(proc)
    assert (host["host"], host["mode"], host["ok"]) == ("agent-host", "agent", True)
    assert host["result"]["errors"] == []
    assert {(f["check"], f["target"], f["object"]) for f in host["result"]["findings"]} == \
        {("security.superusers", "erp", rogue)}
    # the host's coverage comes along: what was examined there
    assert {"target": "erp", "catalog": None, "examined": {"checks": 1}, "not_examined": []} in host["result"]["coverage"]
    assert pg_server.monitor_password not in proc.stdout + proc.stderr


def test_agent_exit_3_still_carries_json(tmp_path, remote_cli, agent_host):
    port = closed_port()
    config = _host_file(agent_host, "unreachable.toml", f"""
        [agent]
        state_dir = "{agent_host.tmpdir}/state"
        [[databases]]
        name = "gone"
        engine = "postgresql"
        dsn = "DRIVER={{PostgreSQL Unicode}};SERVER=127.0.0.1;PORT={port};DATABASE=x;UID=u"
        login_timeout = "2s"
        """)
    proc = remote_cli("diagnose", "--inventory", _inventory(tmp_path, agent_host, config), "--format", "json")
    (host,) = hosts_json(proc)
    assert host["ok"] and host["mode"] == "agent"
    (error,) = host["result"]["errors"]
    assert error["target"] == "gone" and error["check"] is None and str(port) in error["error"]
    assert proc.returncode == 3  # like `l4agent diagnose` on the host: a target could not be reached


@pytest.mark.parametrize("script, fragment", [
    ("#!/bin/sh\necho 'not json'\n", "l4agent collect printed no valid JSON"),
    ("#!/bin/sh\necho '{\"samples\": 3, \"errors\": []}'\n", "without the samples and errors lists"),
    ("#!/bin/sh\necho 'config error: x: y' >&2\nexit 2\n", "l4agent collect exited 2: config error: x: y"),
])
def test_broken_remote_agent_fails_that_host(remote_cli, ssh_agent_server, script, fragment):
    ssh_agent_server.install_script("l4agent", script)
    try:
        proc = remote_cli("collect", ssh_agent_server.address)
    finally:
        ssh_agent_server.clear_bin_dir()
    assert proc.returncode == 3
    assert fragment in proc.stdout
    assert "ok=0  failed=1  unreachable=0" in proc.stdout


def test_hung_remote_agent_is_stopped_on_the_host(remote_cli, ssh_agent_server):
    ssh_agent_server.install_script("l4agent", "#!/bin/sh\nexec sleep 97\n")
    try:
        started = time.monotonic()
        proc = remote_cli("collect", ssh_agent_server.address, "--command-timeout", "2s", "--format", "json")
        elapsed = time.monotonic() - started
    finally:
        ssh_agent_server.clear_bin_dir()
    (host,) = hosts_json(proc)
    assert (host["ok"], host["mode"]) == (False, "agent")
    assert "did not finish within 2s (stopped on the host)" in host["error"]
    assert elapsed < 15
    time.sleep(0.5)
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "97"]]
    assert leftovers == []  # nothing left running on the host


def test_agent_command_quotes_every_argument():
    text = command("diagnose", 30, config="/etc/l4 agent/x.toml", prefixes=("perf",), target="a;rm -rf /")
    assert "'/etc/l4 agent/x.toml'" in text and "rm -rf" in text
    assert text.startswith("sh -c '")


@pytest.mark.parametrize("payload", [b"\xff\xfe", b"[" * 100000, b"{}", b'{"findings": [], "errors": {}}'])
def test_parse_json_refuses_what_is_not_l4agent_output(payload):
    with pytest.raises(AgentModeError):
        parse_json(payload, "diagnose")
