"""The benchmark entry point keeps working: ``python -m bench --quick coldstart`` runs, prints
its tables and writes its JSON (the benchmarks themselves are not part of the suite)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO, cli_env


def test_quick_coldstart_prints_and_writes_json(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "coldstart", "--results", str(tmp_path)],
                          cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Cold start, wall time of a fresh process" in proc.stdout
    assert "l4agent --version" in proc.stdout
    document = json.loads((tmp_path / "coldstart-quick.json").read_text())
    assert {"cpu_model", "cores", "ram_bytes", "kernel"} <= set(document["machine"])
    assert document["versions"]["l4agent"]
    version = document["data"]["l4agent --version"]
    assert version["n"] == 4 and 0 < version["min"] <= version["median"] <= version["max"]


def test_list_names_every_benchmark():
    proc = subprocess.run([sys.executable, "-m", "bench", "--list"], cwd=REPO, env=cli_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines()] == \
        ["coldstart", "scrape", "growth", "steady", "schema", "fleet"]
