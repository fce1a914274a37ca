"""Cold start: wall time of ``l4agent --version`` and ``l4agent collect`` (the cron path), and
what each command imports (``python -X importtime``).

Each command runs N times as a fresh process (the installed console script, as cron runs it);
the first run is discarded (it fills the page cache). ``python -c pass`` is the floor: the
interpreter and site-packages alone. The import table lists the heavy modules a command
loads; a command that does not need one of them should not pay for it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Report, agent_env, l4agent_argv, ms, summary

#: modules a cron command should load only when it needs them
HEAVY_MODULES = ("click", "psutil", "prometheus_client", "pyodbc", "paramiko", "cryptography", "bcrypt",
                 "sqlite3", "ssl", "http.server", "json", "tomllib", "platform", "concurrent.futures")

TARGET_VERSION_SECONDS = 0.150


def _commands(config: Path) -> list[tuple[str, list[str]]]:
    agent = l4agent_argv()
    return [
        ("python -c pass (floor)", [sys.executable, "-c", "pass"]),
        ("l4agent --version", [*agent, "--version"]),
        ("l4agent collect --format json", [*agent, "collect", "-c", str(config), "--format", "json"]),
        ("l4agent collect --format prom", [*agent, "collect", "-c", str(config), "--format", "prom"]),
        ("l4agent collect (table)", [*agent, "collect", "-c", str(config)]),
    ]


def _wall(argv: list[str], runs: int) -> list[float]:
    env = agent_env()
    durations = []
    for index in range(runs + 1):
        started = time.perf_counter()
        result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        elapsed = time.perf_counter() - started
        if result.returncode not in (0, 3):  # 3: a collector could not read something, still printed
            raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.decode()[-500:]}")
        if index:  # the first run warms the page cache
            durations.append(elapsed)
    return durations


def import_profile(argv: list[str]) -> dict:
    """Top-level import times (µs, cumulative) of one run of ``argv`` under -X importtime."""
    # The console script is a Python file: run it under the same interpreter with -X importtime.
    python_argv = [sys.executable, "-X", "importtime", *argv] if argv[0] != sys.executable else \
        [sys.executable, "-X", "importtime", *argv[1:]]
    result = subprocess.run(python_argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=agent_env())
    loaded: dict[str, int] = {}
    total = 0
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not match:
            continue
        cumulative, indent, name = int(match.group(2)), len(match.group(3)), match.group(4)
        loaded[name] = max(loaded.get(name, 0), cumulative)
        if indent == 1:
            total += cumulative
    return {"total_us": total, "heavy": {m: loaded[m] for m in HEAVY_MODULES if m in loaded}}


def run(quick: bool) -> Report:
    report = Report("coldstart", quick)
    runs = 4 if quick else 30
    with tempfile.TemporaryDirectory(prefix="l4bench-cold-") as directory:
        config = Path(directory) / "l4agent.toml"
        config.write_text(f'[agent]\nstate_dir = "{directory}/state"\n')
        config.chmod(0o600)
        rows, imports = [], []
        for label, argv in _commands(config):
            stats = summary(_wall(argv, runs))
            report.data[label] = stats
            rows.append([label, ms(stats["median"], 1), ms(stats["p95"], 1),
                         f"{ms(stats['min'], 1)}-{ms(stats['max'], 1)}"])
            if label.startswith("l4agent"):
                profile = import_profile(argv)
                report.data[label]["imports"] = profile
                heavy = ", ".join(f"{m} {us / 1000:.0f}" for m, us in sorted(profile["heavy"].items(), key=lambda kv: -kv[1]))
                imports.append([label, f"{profile['total_us'] / 1000:.1f}", heavy or "-"])
    report.table(f"Cold start, wall time of a fresh process (median of N={runs}, first run discarded)",
                 ["command", "median ms", "p95 ms", "min-max ms"], rows)
    report.table("What each command imports (python -X importtime, one run; cumulative ms)",
                 ["command", "imports ms", "heavy modules loaded (ms)"], imports)
    version = report.data["l4agent --version"]["median"]
    report.data["target_version_seconds"] = TARGET_VERSION_SECONDS
    report.notes.append(f"l4agent --version median {ms(version, 1)} ms; target < {TARGET_VERSION_SECONDS * 1000:.0f} ms: "
                        f"{'met' if version < TARGET_VERSION_SECONDS else 'MISSED'}")
    return report
