"""Shared fixtures: running the CLI as a subprocess, writing config files, free ports.

Real servers come from the plugins in tests/support (PostgreSQL, MariaDB, sshd, Prometheus,
Alertmanager, SMTP and HTTP peers, Tomcat 10).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.support.leakcheck",
    "tests.support.db_fixtures",
    "tests.support.replica_fixtures",
    "tests.support.ssh_fixtures",
    "tests.support.peer_fixtures",
    "tests.support.tomcat_fixtures",
]

REPO = Path(__file__).resolve().parent.parent


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


def cli_command(*args: str) -> list[str]:
    """The l4agent command line as the tests run it: this interpreter, this checkout."""
    return [sys.executable, "-m", "l4agent", *args]


@pytest.fixture
def run_cli():
    """Run ``l4agent ARGS`` to completion; returns the CompletedProcess (text mode)."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120, input: str | None = None):
        return subprocess.run(cli_command(*args), capture_output=True, text=True, env=cli_env(env),
                              timeout=timeout, cwd=REPO, input=input)

    return run


@pytest.fixture
def write_config(tmp_path):
    """Write a TOML config (dedented) into tmp_path and return its path as a string."""
    counter = {"n": 0}

    def write(text: str, name: str | None = None, mode: int = 0o600) -> str:
        counter["n"] += 1
        path = tmp_path / (name or f"l4agent-{counter['n']}.toml")
        path.write_text(textwrap.dedent(text))
        path.chmod(mode)
        return str(path)

    return write


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def port():
    return free_port()
