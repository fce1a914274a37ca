"""What every benchmark shares: statistics and curve fits, the machine and versions, /proc
readings of a process, an ``l4agent serve`` subprocess, a keep-alive scraper, and the report
(tables printed for people, JSON written to ``bench/results/``).

Units: seconds and bytes in the JSON; the printed tables say theirs in the column header.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import http.client
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class Skip(Exception):
    """A benchmark (or one curve of it) cannot run here; the message says why."""


# -- statistics --------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict:
    """n, median, p95, min, max and mean of ``values`` (same unit as the values)."""
    values = list(values)
    if not values:
        return {"n": 0, "median": None, "p95": None, "min": None, "max": None, "mean": None}
    return {"n": len(values), "median": statistics.median(values), "p95": percentile(values, 95),
            "min": min(values), "max": max(values), "mean": statistics.fmean(values)}


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of log(y) against log(x): the exponent k of y ~ x^k.

    k ~ 1 is linear growth, k < 1 means a fixed cost still dominates, k > 1 grows worse than
    linear. None with fewer than two usable points."""
    points = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(points) < 2:
        return None
    mean_x = statistics.fmean(p[0] for p in points)
    mean_y = statistics.fmean(p[1] for p in points)
    sxx = sum((p[0] - mean_x) ** 2 for p in points)
    if sxx == 0:
        return None
    return sum((p[0] - mean_x) * (p[1] - mean_y) for p in points) / sxx


def growth_verdict(slope: float | None) -> str:
    """A word for an exponent: linear (or better) up to 1.15, worse beyond."""
    if slope is None:
        return "n/a"
    if slope <= 1.15:
        return "linear" if slope >= 0.85 else "sub-linear"
    return f"SUPER-LINEAR (x^{slope:.2f})"


def curve_fit(xs: Sequence[float], ys: Sequence[float]) -> dict:
    """Exponent over all points and over the upper half of them (where a fixed cost no longer
    hides the growth; at least two points, three of four or five), and the marginal cost per
    item between the smallest and largest x. The verdict goes by the upper half."""
    whole = loglog_slope(xs, ys)
    upper = max(2, (len(xs) + 2) // 2)
    top = loglog_slope(xs[-upper:], ys[-upper:]) if len(xs) >= 2 else None
    marginal = (ys[-1] - ys[0]) / (xs[-1] - xs[0]) if len(xs) >= 2 and xs[-1] != xs[0] else None
    return {"slope": whole, "slope_top": top, "per_item": marginal, "verdict": growth_verdict(top)}


# -- formatting --------------------------------------------------------------------------------

def ms(seconds: float | None, digits: int = 2) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.{digits}f}"


def mib(nbytes: float | None) -> str:
    return "-" if nbytes is None else f"{nbytes / 1048576:.1f}"


def ratio(a: float | None, b: float | None) -> str:
    return "-" if not a or not b else f"{a / b:.2f}"


def num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


# -- the machine and the versions --------------------------------------------------------------

def machine() -> dict:
    """CPU model, logical cores (and those this process may use), RAM, kernel, load."""
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_total = None
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) * 1024
                break
    return {
        "cpu_model": model or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "ram_bytes": mem_total,
        "kernel": platform.release(),
        "os": _os_release(),
        "loadavg_at_start": os.getloadavg(),
    }


def _os_release() -> str:
    with contextlib.suppress(OSError), open("/etc/os-release", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    return platform.system()


def _first_line_of(argv: list[str]) -> str | None:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (result.stdout or result.stderr).strip()
    return text.splitlines()[0] if text else None


def versions() -> dict:
    """Python, l4agent, its key libraries and the peers it is compared with or run against."""
    from l4agent import __version__

    found: dict[str, str | None] = {"python": platform.python_version(), "l4agent": __version__}
    for module in ("psutil", "prometheus_client", "pyodbc", "paramiko", "click"):
        try:
            found[module] = __import__(module).__version__ if module != "pyodbc" else __import__(module).version
        except Exception:  # noqa: BLE001 - a missing library is a None version
            found[module] = None
    exporter = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    line = _first_line_of([exporter, "--version"]) if exporter else None
    match = re.search(r"version (\S+)", line or "")
    found["node_exporter"] = match.group(1) if match else line
    postgres = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                      key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    found["postgresql"] = _first_line_of([postgres[-1], "--version"]) if postgres else None
    mariadbd = shutil.which("mariadbd", path="/usr/sbin:/usr/bin")
    found["mariadb"] = _first_line_of([mariadbd, "--version"]) if mariadbd else None
    found["openssh"] = _first_line_of(["/usr/sbin/sshd", "-V"]) if os.path.exists("/usr/sbin/sshd") else None
    return found


# -- one process, from /proc ---------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads) in seconds."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        data = handle.read()
    fields = data[data.rfind(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` in bytes."""
    with open(f"/proc/{pid}/statm", "rb") as handle:
        return int(handle.read().split()[1]) * PAGE_SIZE


def thread_count(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        data = handle.read()
    return int(data[data.rfind(b")") + 2:].split()[17])


def raise_nofile(wanted: int) -> int:
    """Raise this process's open-file limit to at least ``wanted`` if it may; returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    target = wanted if hard == resource.RLIM_INFINITY or hard >= wanted else hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(target, hard) if hard != resource.RLIM_INFINITY else hard))
    except (ValueError, OSError):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# -- l4agent as its users run it -----------------------------------------------------------------

def l4agent_argv() -> list[str]:
    """The installed console script next to this interpreter (the cron path), else -m l4agent."""
    script = Path(sys.executable).with_name("l4agent")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "l4agent"]


def agent_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


class Scraper:
    """GET /metrics over one keep-alive connection, as Prometheus does (no compression)."""

    def __init__(self, url: str, timeout: float = 30.0):
        match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
        if not match:
            raise ValueError(f"not an http URL with a port: {url}")
        self.host, self.port, self.path = match.group(1), int(match.group(2)), match.group(3)
        self.timeout = timeout
        self.connection: http.client.HTTPConnection | None = None

    def scrape(self) -> tuple[float, bytes]:
        """(seconds from request to the last body byte, body). A kept connection the server has
        closed meanwhile (idle timeout) is replaced once, as Prometheus does."""
        reused = self.connection is not None
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        started = time.perf_counter()
        try:
            self.connection.request("GET", self.path, headers={"Accept": "text/plain"})
            response = self.connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            if reused:
                return self.scrape()
            raise
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"{self.path}: HTTP {response.status}")
        return elapsed, body

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def series_count(exposition: bytes) -> int:
    """Sample lines (not comments) of a text exposition."""
    return sum(1 for line in exposition.splitlines() if line and not line.startswith(b"#"))


#: on /metrics once serve's first diagnostics run (a few seconds after start) is over
FIRST_DIAGNOSTICS = "l4agent_diagnostics_last_run_timestamp_seconds"


class ServeProcess:
    """``l4agent serve`` as a subprocess with its own config and state_dir on a free port.

    ``extra_config`` is TOML appended after the ``[agent]`` table (probes, app servers ...);
    ``interval`` is the collection interval as the config writes it. Use as a context manager;
    ``start()`` returns once /healthz answers 200 (the first collection is stored)."""

    def __init__(self, interval: str = "15s", extra_config: str = "", startup_timeout: float = 60.0):
        self.directory = Path(tempfile.mkdtemp(prefix="l4bench-serve-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        self.config_path = self.directory / "l4agent.toml"
        self.config_path.write_text(textwrap.dedent(f"""\
            [agent]
            listen = "127.0.0.1:{self.port}"
            interval = "{interval}"
            state_dir = "{self.directory / 'state'}"
            """) + textwrap.dedent(extra_config).replace("{port}", str(self.port)))
        self.config_path.chmod(0o600)
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self.log_path = self.directory / "serve.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> ServeProcess:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([*l4agent_argv(), "serve", "-c", str(self.config_path), "--log-level", "warning"],
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=agent_env(), cwd=self.directory)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"l4agent serve exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    connection.close()
                    return self
                connection.close()
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"l4agent serve not ready within {self.startup_timeout}s")

    def wait_for_metric(self, name: str, timeout: float = 30.0) -> bool:
        """Wait until /metrics shows ``name`` (e.g. the first diagnostics run's timestamp, so
        that start-up work is over before a steady state is measured); False on timeout."""
        scraper = Scraper(self.url)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                _, body = scraper.scrape()
                if any(line.startswith(name.encode()) for line in body.splitlines()):
                    return True
                time.sleep(0.25)
            return False
        finally:
            scraper.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- the report ----------------------------------------------------------------------------------

@dataclass
class Table:
    """One printed table; ``rows`` hold strings already formatted for people."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    """What one benchmark found: tables to print, ``data`` (raw figures, SI units) for JSON,
    and what it skipped and why."""

    name: str
    quick: bool
    tables: list[Table] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def table(self, title: str, headers: Sequence[str], rows: Sequence[Sequence[object]],
              notes: Sequence[str] = ()) -> Table:
        table = Table(title, list(headers), [[str(c) for c in row] for row in rows], list(notes))
        self.tables.append(table)
        return table


def render_text(table: Table) -> str:
    """An aligned plain-text table: numbers right-aligned, text left."""
    cells = [table.headers, *table.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.headers))]
    numeric = [all(_looks_numeric(row[i]) for row in table.rows) for i in range(len(table.headers))]
    lines = [table.title, ""]
    for index, row in enumerate(cells):
        parts = [cell.rjust(widths[i]) if numeric[i] else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  " + "  ".join(parts).rstrip())
        if index == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    lines.extend(f"  {note}" for note in table.notes)
    return "\n".join(lines)


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d.,]+[%x]?|-|n/a", text.strip()))


def print_report(report: Report) -> None:
    print(f"\n== {report.name}{' (quick)' if report.quick else ''} ==", flush=True)
    for table in report.tables:
        print()
        print(render_text(table))
    for note in report.notes:
        print(f"note: {note}")
    for reason in report.skipped:
        print(f"skipped: {reason}")
    print(f"({report.seconds:.1f}s)", flush=True)


def write_json(report: Report, context: dict, directory: Path = RESULTS) -> Path:
    """``bench/results/<name>.json`` (the latest run) plus a timestamped copy."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "benchmark": report.name,
        "quick": report.quick,
        "finished_at": stamp,
        "duration_seconds": round(report.seconds, 2),
        **context,
        "loadavg_at_end": os.getloadavg(),
        "data": report.data,
        "tables": [{"title": t.title, "headers": t.headers, "rows": t.rows, "notes": t.notes} for t in report.tables],
        "notes": report.notes,
        "skipped": report.skipped,
    }
    text = json.dumps(document, indent=1, default=str)
    latest = directory / f"{report.name}{'-quick' if report.quick else ''}.json"
    latest.write_text(text)
    (directory / f"{report.name}{'-quick' if report.quick else ''}-{stamp}.json").write_text(text)
    return latest
