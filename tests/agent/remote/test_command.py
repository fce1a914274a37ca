"""``l4agent remote`` on the command line (agent/commands/remote.py): usage errors, host keys,
jump host, --record."""

from __future__ import annotations

import json
import socket
import textwrap

import pytest

from tests.agent.remote.conftest import hosts_json


@pytest.mark.parametrize("args, fragment", [
    ((), "error: no hosts: give HOST arguments or --inventory FILE"),
    (("db1:99999",), "error: HOST 'db1:99999': port must be a number from 1 to 65535"),
    (("db1", "db1"), "error: host given twice: db1"),
    (("db1", "--jump", "a b"), "error: --jump: 'a b': invalid host name"),
    (("db1", "--connect-timeout", "soon"), "invalid duration 'soon'"),
    (("db1", "--parallel", "0"), "Invalid value for '--parallel'"),
    (("--inventory", "/nonexistent/fleet.toml"), "config error: /nonexistent/fleet.toml: (file): no such file"),
])
def test_usage_errors_exit_2(run_cli, args, fragment):
    proc = run_cli("remote", "collect", *args, "--known-hosts", "/dev/null")
    assert proc.returncode == 2
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_identity_exits_2(run_cli, tmp_path):
    proc = run_cli("remote", "collect", "db1", "-i", str(tmp_path / "nokey"))
    assert proc.returncode == 2
    assert f"error: identity {tmp_path / 'nokey'}: No such file or directory" in proc.stderr


def test_unknown_host_key_refused_then_accept_new(run_cli, tmp_path, ssh_server, ssh_client_key):
    known = tmp_path / "known_hosts"
    args = ("remote", "collect", ssh_server.address, "-i", str(ssh_client_key.path), "--known-hosts", str(known))
    refused = run_cli(*args)
    assert refused.returncode == 3
    assert f"host key of [127.0.0.1]:{ssh_server.port} is not in {known}: ssh-ed25519 SHA256:" in refused.stdout
    assert "ok=0  failed=0  unreachable=1" in refused.stdout
    accepted = run_cli(*args, "--accept-new")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert known.read_text() == ssh_server.known_hosts_line() + "\n"
    again = run_cli(*args)  # now known: no --accept-new needed
    assert again.returncode == 0


def test_wrong_identity_is_one_unreachable_host(run_cli, tmp_path, ssh_server, ssh_agent_server, known_hosts_file,
                                                 ssh_client_key):
    from tests.support.sshservers import ClientKey

    stranger = ClientKey.generate(tmp_path, "stranger")
    inventory = tmp_path / "fleet.toml"
    inventory.write_text(textwrap.dedent(f"""
        [[hosts]]
        name = "wrong-key"
        host = "{ssh_server.address}"
        identity = "{stranger.path}"
        [[hosts]]
        name = "right-key"
        host = "{ssh_agent_server.address}"
        """))
    proc = run_cli("remote", "collect", "--inventory", str(inventory), "-i", str(ssh_client_key.path),
                   "--known-hosts", str(known_hosts_file), "--format", "json")
    wrong, right = hosts_json(proc)
    assert proc.returncode == 3
    assert not wrong["ok"] and "login refused for user 'l4test'" in wrong["error"]
    assert right["ok"]


def test_jump_option_reaches_the_target(remote_cli, ssh_server, ssh_jump_server):
    proc = remote_cli("collect", ssh_server.address, "--jump", ssh_jump_server.address, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (host,) = hosts_json(proc)
    assert host["ok"] and host["mode"] == "agentless"


def test_agentless_mode_can_be_forced(remote_cli, ssh_agent_server):
    ssh_agent_server.install_l4agent_wrapper()
    try:
        proc = remote_cli("collect", ssh_agent_server.address, "--mode", "agentless", "--format", "json")
    finally:
        ssh_agent_server.clear_bin_dir()
    (host,) = hosts_json(proc)
    assert host["ok"] and host["mode"] == "agentless"


def test_record_opens_once_then_resolves(tmp_path, remote_cli, write_config, ssh_server, pg_server,
                                         rogue_and_tame_roles):
    from l4agent.agent.records.store import Store, store_path

    rogue, _tame = rogue_and_tame_roles
    state = tmp_path / "state"
    config = write_config(f"""
        [agent]
        state_dir = "{state}"
        environment = "qa"
        [[thresholds]]
        name = "rogue-superuser"
        check = "security.superusers"
        [diagnostics.security.superusers]
        allowed_superusers = ["postgres"]
        """)
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(textwrap.dedent(f"""
        [[hosts]]
        name = "pg-host"
        host = "{ssh_server.address}"
        status_url = "https://pg-host.example:9847/"
        [[hosts.databases]]
        name = "erp"
        engine = "postgresql"
        dsn = {json.dumps(pg_server.agent_dsn("postgres"))}
        password_env = "L4_TEST_PG_PW"
        [[hosts]]
        name = "pg-host-2"
        host = "{ssh_server.address}"
        [[hosts.databases]]
        name = "erp"
        engine = "postgresql"
        dsn = {json.dumps(pg_server.agent_dsn("postgres"))}
        password_env = "L4_TEST_PG_PW"
        """))
    args = ("diagnose", "-c", config, "--inventory", str(inventory), "--check", "security.superusers", "--record")
    env = {"L4_TEST_PG_PW": pg_server.monitor_password}

    def records():
        store = Store.open(store_path(str(state)))
        try:
            return store.list_records()
        finally:
            store.close()

    first = remote_cli(*args, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    # Keyed and titled by the inventory name (two entries on one machine: two records, not one
    # record with contradicting notes), linking to that host's own status page where it has one.
    by_host = {r.host: r for r in records()}
    assert sorted(by_host) == ["pg-host", "pg-host-2"] and socket.gethostname() not in by_host
    record = by_host["pg-host"]
    assert (record.status, record.target, record.object) == ("open", "erp", rogue)
    assert record.title.startswith("pg-host: ")
    assert record.related["url"] == "https://pg-host.example:9847/"
    assert record.related["address"] == ssh_server.address
    assert by_host["pg-host-2"].related["url"] is None  # no page of its own: no link to this machine's
    assert remote_cli(*args, env=env).returncode == 0
    assert len(records()) == 2  # the same ongoing problem never opens a second record
    assert all(r.notes == [] for r in records())
    pg_server.execute_admin(f"ALTER ROLE {rogue} NOSUPERUSER")
    assert remote_cli(*args, env=env).returncode == 0
    assert [r.status for r in records()] == ["resolved", "resolved"]
