"""Fleet: ``l4agent remote diagnose`` over N loopback sshd hosts (1, 10, 50) with --parallel 10:
wall time, the ratio to a single host, and the CPU the l4agent process itself used.

Each host is a real OpenSSH server (tests/support/sshservers) on its own 127.0.0.x address,
host keys verified against a known_hosts file. Two modes: agentless (read-only commands over
SSH, nothing installed) and agent (this checkout installed as ``l4agent`` on the host's PATH,
diagnose run there with a per-host config). All "hosts" share this machine's cores, so in
agent mode the hosts' own diagnose runs compete for CPU: the ratio is an upper bound of what a
real fleet, where every host has its own CPUs, would see. With --parallel 10 the ideal ratio
is 1 up to 10 hosts and N/10 beyond.
"""

from __future__ import annotations

import json
import os
import pwd
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import Report, Skip, agent_env, l4agent_argv, num

PARALLEL = 10


def _start_servers(count: int, directory: Path):
    try:
        from tests.support.sshservers import ClientKey, SshServer
    except ImportError as exc:
        raise Skip(f"fleet: test support missing: {exc}") from None
    if os.geteuid() != 0:
        raise Skip("fleet: the loopback sshd servers need root (privilege separation, the test user)")
    key = ClientKey.generate(directory)
    servers = []
    try:
        for index in range(count):
            servers.append(SshServer(f"127.0.0.{index + 2}", client_key=key, name=f"fleet{index}").start())
    except Exception:
        for server in servers:
            server.close()
        raise
    return key, servers


def _host_config(server) -> str:
    """A config on the host, owned by its login user: state_dir in the server's directory."""
    path = server.tmpdir / "l4agent.toml"
    path.write_text(f'[agent]\nstate_dir = "{server.tmpdir}/state"\n')
    account = pwd.getpwnam(server.user)
    os.chown(path, account.pw_uid, account.pw_gid)
    path.chmod(0o600)
    return str(path)


def _inventory(directory: Path, servers, mode: str) -> str:
    path = directory / f"inventory-{mode}-{len(servers)}.toml"
    lines = []
    for index, server in enumerate(servers):
        lines += ["[[hosts]]", f'name = "host{index:02d}"', f'host = "{server.address}"']
        if mode == "agent":
            lines.append(f'config = "{_host_config(server)}"')
        lines.append("")
    path.write_text("\n".join(lines))
    return str(path)


def _run_fleet(inventory: str, key, known_hosts: str, mode: str) -> dict:
    argv = [*l4agent_argv(), "remote", "diagnose", "--inventory", inventory, "-i", str(key.path),
            "--known-hosts", known_hosts, "--parallel", str(PARALLEL), "--mode", mode, "--format", "json"]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=agent_env())
    stdout, stderr = proc.communicate(timeout=1800)
    wall = time.perf_counter() - started
    usage = _children_cpu() - cpu_before  # the only child that ended meanwhile
    try:
        hosts = json.loads(stdout)["hosts"]
    except (ValueError, KeyError):
        raise RuntimeError(f"remote diagnose printed no JSON (exit {proc.returncode}): {stderr.decode()[-800:]}") from None
    failed = [h for h in hosts if not h["ok"]]
    return {"wall": wall, "cpu": usage, "exit": proc.returncode, "hosts": len(hosts), "failed": len(failed),
            "host_seconds": statistics.median(h["duration_seconds"] or 0 for h in hosts),
            "errors": [h["error"] for h in failed][:3]}


def _children_cpu() -> float:
    """CPU seconds of this process's ended (waited-for) children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(quick: bool) -> Report:
    report = Report("fleet", quick)
    sizes = (1, 5) if quick else (1, 10, 50)
    repeat = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="l4bench-fleet-") as name:
        directory = Path(name)
        key, servers = _start_servers(max(sizes), directory)
        try:
            known_hosts = directory / "known_hosts"
            known_hosts.write_text("".join(s.known_hosts_line() + "\n" for s in servers))
            results: dict[str, list[dict]] = {}
            for mode in ("agentless", "agent"):
                if mode == "agent":
                    for server in servers:
                        server.install_l4agent_wrapper()
                results[mode] = []
                for size in sizes:
                    inventory = _inventory(directory, servers[:size], mode)
                    runs = [_run_fleet(inventory, key, str(known_hosts), mode) for _ in range(repeat)]
                    results[mode].append({"hosts": size, "runs": runs,
                                          "wall": statistics.median(r["wall"] for r in runs),
                                          "cpu": statistics.median(r["cpu"] for r in runs),
                                          "host_seconds": statistics.median(r["host_seconds"] for r in runs),
                                          "failed": max(r["failed"] for r in runs),
                                          "errors": runs[-1]["errors"]})
        finally:
            for server in servers:
                server.close()
    report.data = {"parallel": PARALLEL, "repeat": repeat, "modes": results}
    rows = []
    for mode, points in results.items():
        single = points[0]["wall"]
        for point in points:
            ideal = max(1.0, point["hosts"] / PARALLEL)
            rows.append([mode, str(point["hosts"]), num(point["wall"]), num(point["wall"] / single),
                         num(ideal, 1), num(point["host_seconds"]), num(point["cpu"]), str(point["failed"])])
            for error in point["errors"]:
                report.notes.append(f"{mode} {point['hosts']} hosts: {error}")
    report.table(f"l4agent remote diagnose over loopback sshd hosts, --parallel {PARALLEL} (median of {repeat})",
                 ["mode", "hosts", "wall s", "ratio to 1", "ideal", "per host s", "l4agent CPU s", "failed"], rows,
                 ["per host s: median of the hosts' duration_seconds; l4agent CPU s: the remote command's own "
                  "process (SSH, JSON), not the hosts' work"])
    return report
