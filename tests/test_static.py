"""Static checks that gate CI: ruff over the whole tree, bandit (medium and high) over the code,
and import-linter's layers contract (imports only point down; see the README's Layout section)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ["l4agent", "agent", "exporters", "diagnostics", "collectors", "dbaccess", "core"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=REPO, timeout=300)


def test_ruff_is_clean():
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_bandit_has_no_medium_or_high_findings():
    result = run("bandit", "-q", "-r", *PACKAGES, "-ll", "-f", "custom",
                 "--msg-template", "{relpath}:{line} {test_id} {severity} {msg}")
    assert result.returncode == 0, result.stdout + result.stderr


def test_imports_only_point_down_the_layers():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
