"""Fleets (agent/remote/fleet.py): bounded parallelism, per-host deadlines, exact recap; one dead,
slow or hostile host never stalls the others."""

from __future__ import annotations

import json
import threading
import time

from l4agent.agent.remote.fleet import FAILED, OK, UNREACHABLE, HostResult, run_fleet
from l4agent.agent.remote.hosts import HostSpec, parse_address
from tests.agent.remote.conftest import hosts_json
from tests.support.sshservers import closed_port


def _specs(count: int) -> list[HostSpec]:
    return [HostSpec(f"h{i}", parse_address(f"h{i}")) for i in range(count)]


def test_parallelism_is_bounded_and_order_kept():
    lock, running, peak = threading.Lock(), [0], [0]

    def job(spec, cancel):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return HostResult(spec.name, "agentless", OK)

    seen = []
    results = run_fleet(_specs(9), job, parallel=3, deadline=10, on_result=lambda r, d, t: seen.append((d, t)))
    assert [r.host for r in results] == [f"h{i}" for i in range(9)]
    assert peak[0] == 3
    assert seen == [(i, 9) for i in range(1, 10)]


def test_a_host_past_its_deadline_is_given_up_and_cancelled():
    release = threading.Event()
    closed = []

    class Session:
        def close(self):
            closed.append(True)
            release.set()

    def job(spec, cancel):
        if spec.name == "h0":
            cancel.register(Session())
            release.wait(30)  # hangs until its session is closed from outside
            return HostResult(spec.name, "agent", OK)
        if spec.name == "h1":
            raise RuntimeError("bug in a job")
        return HostResult(spec.name, "agentless", OK)

    started = time.monotonic()
    results = run_fleet(_specs(4), job, parallel=2, deadline=0.5)
    assert time.monotonic() - started < 2
    assert [r.status for r in results] == [FAILED, FAILED, OK, OK]
    assert results[0].error == "h0: gave up after 0.5s" and closed == [True]
    assert results[1].error == "internal error: RuntimeError: bug in a job"


def _fleet_inventory(tmp_path, ok_servers, dead_ports, hanging) -> str:
    lines = []
    for name, server in ok_servers:
        lines += ["[[hosts]]", f'name = "{name}"', f'host = "{server.address}"', ""]
    for address, port in dead_ports:
        lines += ["[[hosts]]", f'name = "dead-{address}"', f'host = "l4test@{address}:{port}"', ""]
    lines += ["[[hosts]]", 'name = "hanging"', f'host = "l4test@127.0.0.1:{hanging.port}"', ""]
    path = tmp_path / "fleet.toml"
    path.write_text("\n".join(lines))
    return str(path)


def test_fleet_of_twelve_with_dead_and_hanging_hosts(tmp_path, remote_cli, ssh_server, ssh_agent_server,
                                                    ssh_jump_server, hanging_ssh_host):
    ok_servers = ([(f"target-{i}", ssh_server) for i in range(4)] + [(f"agent-{i}", ssh_agent_server) for i in range(3)]
                  + [(f"jump-{i}", ssh_jump_server) for i in range(2)])
    dead = [("127.0.0.3", closed_port("127.0.0.3")), ("127.0.0.4", closed_port("127.0.0.4"))]
    inventory = _fleet_inventory(tmp_path, ok_servers, dead, hanging_ssh_host)
    connect_timeout = 3.0

    started = time.monotonic()
    proc = remote_cli("collect", "--inventory", inventory, "--connect-timeout", "3s", "--format", "json")
    elapsed = time.monotonic() - started
    hosts = hosts_json(proc)
    assert proc.returncode == 3
    assert [h["host"] for h in hosts] == [n for n, _ in ok_servers] + ["dead-127.0.0.3", "dead-127.0.0.4", "hanging"]
    assert all(h["ok"] and h["mode"] == "agentless" and h["result"]["samples"] for h in hosts[:9])
    for dead_host in hosts[9:11]:
        assert (dead_host["ok"], dead_host["mode"], dead_host["result"]) == (False, None, None)
        assert "connection refused" in dead_host["error"]
    assert "no SSH protocol banner within 3s" in hosts[11]["error"]
    # Wall time: about the slowest host's timeout (the hanging one), not the sum of all hosts.
    slowest = max(h["duration_seconds"] for h in hosts)
    assert connect_timeout <= slowest < connect_timeout + 2
    assert elapsed < slowest + 4, (elapsed, slowest)
    assert sum(h["duration_seconds"] for h in hosts) > slowest  # the hosts did overlap

    table = remote_cli("collect", "--inventory", inventory, "--connect-timeout", "3s")
    assert table.returncode == 3
    assert table.stdout.rstrip().endswith("ok=9  failed=0  unreachable=3")
    assert "RECAP (12 hosts in" in table.stdout
    lines = [line for line in table.stdout.splitlines() if line.startswith(("target-", "dead-", "hanging"))]
    assert len(lines) == 7
    assert all(" ok " in line and "agentless" in line for line in lines[:4])
    assert all(" unreachable " in line for line in lines[4:])
    assert table.stderr == ""  # not a terminal: no progress bar
    json.dumps(hosts)  # the document is plain JSON


def test_progress_bar_on_a_terminal_only(remote_cli, ssh_server, run_cli, known_hosts_file, ssh_client_key):
    import os
    import pty
    import subprocess

    from tests.conftest import REPO, cli_command, cli_env

    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(cli_command("remote", "collect", ssh_server.address, "-i", str(ssh_client_key.path),
                                          "--known-hosts", str(known_hosts_file)),
                              stdout=subprocess.PIPE, stderr=follower, env=cli_env(), cwd=REPO, timeout=60)
        os.close(follower)
        follower = None
        stderr = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            stderr += chunk
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0
    assert b"] 1/1 hosts  ok 1  failed 0  unreachable 0" in stderr
    assert b"1/1 hosts" not in proc.stdout  # the bar stays off stdout
    as_json = run_cli("remote", "collect", ssh_server.address, "-i", str(ssh_client_key.path),
                      "--known-hosts", str(known_hosts_file), "--format", "json")
    assert as_json.stderr == ""


def test_results_report_unreachable_and_failed_separately():
    results = [HostResult("a", "agent", OK), HostResult("b", None, UNREACHABLE, error="x"),
               HostResult("c", "agentless", FAILED, error="y")]
    from l4agent.agent.remote.output import recap_line

    assert recap_line(results) == "ok=1  failed=1  unreachable=1"
    assert [r.to_dict()["ok"] for r in results] == [True, False, False]
    assert set(results[0].to_dict()) == {"host", "mode", "ok", "result", "error", "duration_seconds"}
