"""Growth curves of the local collectors: collection time against the number of processes
(sleeping children added 100 -> 5,000), TCP connections on loopback (100 -> 10,000) and mounts
(tmpfs mounts in a private mount namespace, where ``unshare -m`` works).

Each point is the median of several runs; the curve is fitted on CPU time (less disturbed by
other load than wall time) by least squares on log-log: an exponent near 1 is linear, below 1
a fixed cost still dominates, above 1.15 over the upper half of the curve is flagged
SUPER-LINEAR. The app-server process group (a group with its own connections) and the history
recorder (one point per mount) are measured alongside, since they walk the same tables.

Children and mounts are cleaned up however the run ends: the sleepers and the connection
holder die with the benchmark (PR_SET_PDEATHSIG) and are killed by process group; the mounts
live in a mount namespace that ends with its process.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from bench.common import REPO, Report, Skip, agent_env, curve_fit, ms, num, raise_nofile

PR_SET_PDEATHSIG = 1

# A helper that forks sleeping children on request ("N\n" -> grows to N, answers "N\n"); the
# children exec sleep(1) and die with the helper, which dies with the benchmark.
SLEEPERS = r"""
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(1, signal.SIGKILL)
children = []
for line in sys.stdin:
    want = int(line)
    while len(children) < want:
        pid = os.fork()
        if pid == 0:
            libc.prctl(1, signal.SIGKILL)
            os.execv("/bin/sleep", ["sleep", "86400"])
        children.append(pid)
    print(len(children), flush=True)
"""

# A helper that accepts and holds connections (the server side), named so that an app-server
# process group can match it; prints its port, then the number held after each "N\n".
HOLDER = r"""
import ctypes, resource, signal, socket, sys
ctypes.CDLL(None).prctl(1, signal.SIGKILL)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(4096)
print(listener.getsockname()[1], flush=True)
held = []
for line in sys.stdin:
    want = int(line)
    while len(held) < want:
        held.append(listener.accept()[0])
    print(len(held), flush=True)
"""
HOLDER_MARK = "l4bench-connection-holder"


def _measure(function: Callable[[], object], repeat: int) -> dict:
    """Median wall and CPU seconds of ``repeat`` calls (this process is idle otherwise)."""
    walls, cpus = [], []
    function()  # warm: first-call imports and caches
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "wall_min": min(walls),
            "wall_max": max(walls)}


def _process_count() -> int:
    return sum(1 for entry in os.listdir("/proc") if entry.isdigit())


def _curve_table(report: Report, title: str, x_label: str, points: list[dict], columns: list[tuple[str, str]],
                 fit_key: str, notes: list[str] = ()) -> dict:
    """Print one curve: a row per point, then the fitted exponent of each measured column."""
    xs = [p["x"] for p in points]
    rows = [[str(p["label"]), str(p["x"])] + [ms(p[key]["cpu"], 2) for key, _ in columns] for p in points]
    fits = {}
    for key, _ in columns:
        fit = curve_fit(xs, [p[key]["cpu"] for p in points])
        fits[key] = fit
    rows.append(["exponent (all)", ""] + [num(fits[k]["slope"]) for k, _ in columns])
    rows.append(["exponent (upper half)", ""] + [num(fits[k]["slope_top"]) for k, _ in columns])
    rows.append(["µs per item", ""] + [num((fits[k]["per_item"] or 0) * 1e6, 2) for k, _ in columns])
    report.table(title, ["added", x_label] + [f"{label} CPU ms" for _, label in columns], rows,
                 notes=[f"{label}: {fits[key]['verdict']}" for key, label in columns] + list(notes))
    return {"points": points, "fits": fits, "fit_on": fit_key}


# -- processes -----------------------------------------------------------------------------------

def processes_curve(report: Report, quick: bool) -> None:
    from l4agent.collectors.appserver.process_group import ProcessMatcher, read_group
    from l4agent.collectors.system import SystemCollector, count_processes

    steps = [100, 500, 1000] if quick else [100, 500, 1000, 2000, 5000]
    repeat = 3 if quick else 7
    collector = SystemCollector()
    matcher = ProcessMatcher("java")  # a typical app-server group: a name most hosts do not run
    helper = subprocess.Popen([sys.executable, "-c", SLEEPERS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, start_new_session=True)
    points = []
    try:
        for step in steps:
            helper.stdin.write(f"{step}\n")
            helper.stdin.flush()
            if int(helper.stdout.readline()) != step:
                raise RuntimeError("the sleepers helper did not reach its count")
            time.sleep(0.2)  # the last children finish exec
            points.append({
                "label": step, "x": _process_count(),
                "os_collector": _measure(lambda: list(collector.collect()), repeat),
                "count_processes": _measure(count_processes, repeat),
                "appserver_group": _measure(lambda: read_group(matcher), repeat),
            })
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(helper.pid, signal.SIGKILL)
        helper.wait()
    report.data["processes"] = _curve_table(
        report, "Collection time vs processes (sleeping children added; CPU ms, median of "
        f"{repeat})", "processes", points,
        [("os_collector", "os collector"), ("count_processes", "process states"),
         ("appserver_group", "app-server group scan")], "cpu",
        notes=["app-server group scan: collectors/appserver/process_group.read_group (psutil.process_iter)"])


# -- TCP connections -----------------------------------------------------------------------------

def _proc_tcp_count() -> None:
    from l4agent.collectors.network import count_tcp_states

    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(path, encoding="ascii") as handle:
            count_tcp_states(handle.read())


def connections_curve(report: Report, quick: bool) -> None:
    from l4agent.collectors.appserver.process_group import ProcessMatcher, read_group
    from l4agent.collectors.network import NetworkCollector, tcp_states_netlink

    steps = [100, 1000, 3000] if quick else [100, 1000, 3000, 10000]
    repeat = 3 if quick else 7
    limit = raise_nofile(max(steps) + 1000)
    if limit < max(steps) + 100:
        raise Skip(f"connections: open-file limit {limit} is below {max(steps)}")
    collector = NetworkCollector()
    matcher = ProcessMatcher(r"python.*", cmdline=HOLDER_MARK)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, HOLDER_MARK], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    clients: list[socket.socket] = []
    points = []
    try:
        port = int(holder.stdout.readline())
        for step in steps:
            while len(clients) < step:
                batch = min(step - len(clients), 1000)  # below the listen backlog
                for _ in range(batch):
                    sock = socket.socket()
                    sock.connect(("127.0.0.1", port))
                    clients.append(sock)
                holder.stdin.write(f"{len(clients)}\n")
                holder.stdin.flush()
                holder.stdout.readline()
            points.append({
                "label": step, "x": 2 * step,  # both ends are sockets of this host
                "network_collector": _measure(lambda: list(collector.collect()), repeat),
                "netlink_count": _measure(tcp_states_netlink, repeat),
                "proc_net_tcp": _measure(_proc_tcp_count, repeat),
                "appserver_group": _measure(lambda: read_group(matcher), repeat),
            })
    finally:
        for sock in clients:
            sock.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    report.data["connections"] = _curve_table(
        report, f"Collection time vs TCP connections on loopback (CPU ms, median of {repeat})", "sockets", points,
        [("network_collector", "network collector"), ("netlink_count", "sock_diag count"),
         ("proc_net_tcp", "/proc/net/tcp parse"), ("appserver_group", "app-server group (1 member)")], "cpu",
        notes=["sockets = both ends of each connection, plus the host's own; /proc/net/tcp parse is the "
               "former method, for comparison",
               "app-server group: a process group holding the server ends (collectors/appserver/process_group)"])


# -- mounts --------------------------------------------------------------------------------------

def _mounts_child(steps: list[int], repeat: int) -> dict:
    """Runs inside ``unshare -m``: mount tmpfs up to each step and measure; returns the points."""
    from l4agent.collectors.system import SystemCollector
    from l4agent.core.history import selected_points
    from l4agent.core.samples import Sample
    from l4agent.core.snapshot import Snapshot
    from l4agent.core.units import utcnow
    from l4agent.exporters.prometheus import render

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # Private propagation so nothing mounted here appears outside (unshare does it too).
    libc.mount(b"none", b"/", None, 1 << 18 | 1 << 14, None)  # MS_PRIVATE | MS_REC
    # The mount points live on a tmpfs of their own: nothing is left behind when the namespace
    # ends but ``base`` itself, which the parent removes.
    base = sys.argv[4] if len(sys.argv) > 4 else tempfile.mkdtemp(prefix="l4bench-mounts-")
    if libc.mount(b"l4bench", base.encode(), b"tmpfs", 0, b"size=16m") != 0:
        raise OSError(ctypes.get_errno(), f"mount tmpfs on {base}")
    collector = SystemCollector()
    mounted = 0
    points = []
    for step in steps:
        while mounted < step:
            target = os.path.join(base, str(mounted))
            os.mkdir(target)
            if libc.mount(b"l4bench", target.encode(), b"tmpfs", 0, b"size=64k") != 0:
                raise OSError(ctypes.get_errno(), f"mount tmpfs on {target}")
            mounted += 1
        samples = [item for item in collector.collect() if isinstance(item, Sample)]
        snapshot = Snapshot("bench", utcnow(), samples)
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as handle:
            total = sum(1 for _ in handle)
        points.append({
            "label": step, "x": total,
            "filesystems": _measure(lambda: list(collector._filesystems()), repeat),
            "os_collector": _measure(lambda: list(collector.collect()), repeat),
            "render": _measure(lambda: render(samples), repeat),
            "history_points": _measure(lambda: selected_points(snapshot), repeat),
        })
    return {"points": points}


def mounts_curve(report: Report, quick: bool) -> None:
    steps = [10, 100, 500] if quick else [10, 100, 500, 1000, 2000]
    repeat = 3 if quick else 5
    unshare = shutil.which("unshare")
    if unshare is None:
        raise Skip("mounts: unshare(1) not found (util-linux)")
    if os.geteuid() != 0:
        raise Skip("mounts: needs root for a private mount namespace with tmpfs mounts")
    base = tempfile.mkdtemp(prefix="l4bench-mounts-")
    argv = [unshare, "-m", "--propagation", "private", sys.executable, "-m", "bench.growth", "--mounts-child",
            ",".join(map(str, steps)), str(repeat), base]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, env=agent_env(), cwd=REPO, timeout=1800)
    finally:
        os.rmdir(base)  # the mounts and their directories ended with the namespace
    if result.returncode != 0:
        raise Skip(f"mounts: the namespace child failed: {result.stderr.strip()[-400:]}")
    points = json.loads(result.stdout)["points"]
    report.data["mounts"] = _curve_table(
        report, f"Collection time vs mounts (tmpfs in a private mount namespace; CPU ms, median of {repeat})",
        "mounts", points,
        [("filesystems", "filesystems"), ("os_collector", "os collector"), ("render", "exposition render"),
         ("history_points", "history points")], "cpu",
        notes=["mounts = lines of /proc/self/mounts; history points: agent/history.selected_points (serve "
               "records it every round)"])


def run(quick: bool) -> Report:
    report = Report("growth", quick)
    for curve in (processes_curve, connections_curve, mounts_curve):
        try:
            curve(report, quick)
        except Skip as exc:
            report.skipped.append(str(exc))
    return report


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--mounts-child":
    print(json.dumps(_mounts_child([int(x) for x in sys.argv[2].split(",")], int(sys.argv[3]))))
