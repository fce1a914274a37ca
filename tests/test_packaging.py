"""scripts/bootstrap and the packaging it drives (issue 21): a quiet install, the test packages."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAYERS = ("agent", "exporters", "diagnostics", "collectors", "dbaccess", "core")

#: pip's complaint about a file:// index of this machine's pip config that lacks a project's
#: folder (extra-index-url = file:///opt/pypi/simple file:///opt/pypi-more/simple here): the
#: machine's configuration, not the project's, and absent with the ordinary PyPI index
MACHINE_PIP_CONFIG = re.compile(r"^WARNING: Location 'file://[^']*' is ignored: it is neither a file nor a directory\.$")


def _bash_array(name: str) -> list[str]:
    text = (REPO / "scripts" / "bootstrap").read_text()
    match = re.search(rf"^{name}=\(([^)]*)\)", text, re.M)
    assert match, name
    return match.group(1).split()


def test_bootstrap_installs_the_real_tomcat_for_the_tests():
    assert {"tomcat10", "tomcat10-admin"} <= set(_bash_array("TEST_PACKAGES"))
    assert "systemctl disable --now tomcat10" in (REPO / "scripts" / "bootstrap").read_text()


def test_no_module_imports_a_layer_by_its_bare_name():
    """The editable install puts the checkout on sys.path (see pyproject.toml), where ``agent``
    or ``core`` would import; an installed agent has only ``l4agent``."""
    bare = re.compile(rf"^\s*(?:from|import)\s+(?:{'|'.join(LAYERS)})(?:\.|\s|$)", re.M)
    offenders = []
    for path in REPO.rglob("*.py"):
        relative = path.relative_to(REPO)
        if relative.parts[0] in (".venv", "l4agent", "build") or ".egg-info" in str(relative):
            continue
        offenders += [f"{relative}: {m.group(0).strip()}" for m in bare.finditer(path.read_text())]
    assert offenders == []


@pytest.mark.slow
def test_the_editable_install_prints_nothing(tmp_path):
    """What scripts/bootstrap runs (pip install -q -e .), in a fresh venv and a copy of the
    checkout: no setuptools notices or deprecation warnings reach the terminal."""
    copy = tmp_path / "checkout"
    shutil.copytree(REPO, copy, symlinks=True,
                    ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__",
                                                  ".pytest_cache", ".ruff_cache"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
         "-e", str(copy)],
        capture_output=True, text=True, timeout=300, cwd=copy)
    assert done.returncode == 0, done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines()
             if line.strip() and not MACHINE_PIP_CONFIG.match(line)]
    assert lines == []
    version = subprocess.run([str(venv / "bin" / "l4agent"), "--version"], capture_output=True, text=True,
                             timeout=60, cwd=tmp_path)
    assert version.stdout.strip() == "l4agent 0.1.0", version.stderr
