"""Issue 15: the inventory's ``[[hosts.databases]]`` are never dropped, and a remote diagnose that
examined nothing says so. Real sshd fixtures, a real PostgreSQL behind them.

- agent mode (l4agent on the host's PATH, its own config without databases): the inventory's
  database is still diagnosed (through a port-forward) and collected, merged into the host's
  result; the twin, a host whose own config reports that database, is not run twice;
- agentless diagnose of a host with no databases: "nothing examined", exit 3, never "0 findings".
"""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.agent.remote.conftest import hosts_json
from tests.agent.remote.test_agent_mode import _host_file


@pytest.fixture
def agent_host(ssh_agent_server):
    ssh_agent_server.install_l4agent_wrapper()
    yield ssh_agent_server
    ssh_agent_server.clear_bin_dir()


def _inventory(tmp_path, server, pg_server=None, config: str | None = None) -> str:
    text = f'[[hosts]]\nname = "db-host"\nhost = "{server.address}"\n'
    if config:
        text += f'config = "{config}"\n'
    if pg_server is not None:
        text += textwrap.dedent(f"""
            [[hosts.databases]]
            name = "erp"
            engine = "postgresql"
            dsn = {json.dumps(pg_server.agent_dsn("postgres"))}
            password_env = "L4_TEST_PG_PW"
            """)
    path = tmp_path / "inventory.toml"
    path.write_text(text)
    return str(path)


def _own_config(server, extra: str = "") -> str:
    return _host_file(server, "own.toml", f"""
        [agent]
        state_dir = "{server.tmpdir}/state"
        [diagnostics.security.superusers]
        allowed_superusers = ["postgres"]
        """ + textwrap.dedent(extra))


def test_agent_mode_still_diagnoses_and_collects_the_inventory_databases(tmp_path, remote_cli, write_config,
                                                                        agent_host, pg_server, rogue_and_tame_roles):
    rogue, tame = rogue_and_tame_roles
    inventory = _inventory(tmp_path, agent_host, pg_server, _own_config(agent_host))
    local = write_config("""
        [diagnostics.security.superusers]
        allowed_superusers = ["postgres"]
        """)
    env = {"L4_TEST_PG_PW": pg_server.monitor_password}
    proc = remote_cli("diagnose", "-c", local, "--inventory", inventory, "--check", "security.superusers",
                      "--format", "json", env=env)
    (host,) = hosts_json(proc)
    assert (host["mode"], host["ok"]) == ("agent", True), host
    assert proc.returncode == 0, proc.stderr
    result = host["result"]
    assert result["agentless_databases"] == ["erp"]
    assert {(f["check"], f["target"], f["object"]) for f in result["findings"]} == {
        ("security.superusers", "erp", rogue)}
    assert "erp" in {c["target"] for c in result["coverage"]}
    assert tame not in proc.stdout and pg_server.monitor_password not in proc.stdout + proc.stderr

    proc = remote_cli("collect", "--inventory", inventory, "--format", "json", env=env)
    (host,) = hosts_json(proc)
    assert host["mode"] == "agent"
    up = {s["labels"]["database"]: s["value"] for s in host["result"]["samples"] if s["name"] == "l4agent_database_up"}
    assert up == {"erp": 1.0}
    assert "l4agent_cpus" in {s["name"] for s in host["result"]["samples"]}  # the host's own collection kept


def test_a_database_the_host_reports_itself_is_not_run_twice(tmp_path, remote_cli, agent_host, pg_server,
                                                             rogue_and_tame_roles):
    rogue, _ = rogue_and_tame_roles
    password = _host_file(agent_host, "pg.pw", pg_server.monitor_password + "\n")
    own = _own_config(agent_host, f"""
        [[databases]]
        name = "erp"
        engine = "postgresql"
        dsn = {json.dumps(pg_server.agent_dsn("postgres"))}
        password_file = "{password}"
        """)
    proc = remote_cli("diagnose", "--inventory", _inventory(tmp_path, agent_host, pg_server, own),
                      "--check", "security.superusers", "--format", "json",
                      env={"L4_TEST_PG_PW": "not-used-wrong-password"})
    (host,) = hosts_json(proc)
    result = host["result"]
    assert "agentless_databases" not in result
    assert [(f["target"], f["object"]) for f in result["findings"]] == [("erp", rogue)]
    assert result["errors"] == []


def test_agentless_diagnose_of_a_host_with_nothing_to_check_says_so(tmp_path, remote_cli, ssh_server):
    inventory = _inventory(tmp_path, ssh_server)
    proc = remote_cli("diagnose", "--inventory", inventory, "--format", "json")
    (host,) = hosts_json(proc)
    assert (host["mode"], host["ok"]) == ("agentless", True)
    assert host["result"]["findings"] == []
    [entry] = host["result"]["coverage"]
    [item] = entry["not_examined"]
    assert item["what"] == "diagnostics" and "lists none for this host" in item["why"]
    assert proc.returncode == 3  # nothing examined is not "all clear"

    table = remote_cli("diagnose", "--inventory", inventory)
    assert table.returncode == 3
    assert "nothing examined: agentless mode runs only the database checks" in table.stdout
    assert "nothing to report" not in table.stdout
    assert "0 findings" not in table.stdout
