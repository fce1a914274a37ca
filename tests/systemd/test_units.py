"""systemd/: the units pass `systemd-analyze verify` without a single warning, are hardened
(and the README quotes their `systemd-analyze security` exposure), and every command line in
them and in the crontab example is one the CLI accepts."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest

from l4agent.agent.cli import main
from l4agent.agent.commands.install_systemd import SHIPPED_BINARY, UNITS, render_unit
from tests.conftest import REPO

SYSTEMD = REPO / "systemd"
VENV_L4AGENT = Path(REPO / ".venv" / "bin" / "l4agent")

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                reason="systemd-analyze missing (Debian package systemd)")


def unit_settings(text: str) -> dict[str, list[str]]:
    """KEY -> every value it is given, in order (systemd lets a key repeat)."""
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def runnable_units(tmp_path: Path, edit=lambda text: text) -> list[Path]:
    """Copies of the units whose ExecStart is an l4agent that exists here (verify checks it)."""
    binary = VENV_L4AGENT if VENV_L4AGENT.exists() else Path(shutil.which("l4agent") or "/bin/true")
    paths = []
    for unit in UNITS:
        path = tmp_path / unit
        path.write_text(edit(render_unit((SYSTEMD / unit).read_text(), binary)))
        paths.append(path)
    return paths


def verify(paths: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", "verify", *map(str, paths)], capture_output=True, text=True,
                          timeout=60, cwd=paths[0].parent)


def test_units_verify_without_any_warning(tmp_path):
    proc = verify(runnable_units(tmp_path))
    assert proc.returncode == 0 and not proc.stdout.strip() and not proc.stderr.strip(), proc.stdout + proc.stderr


def test_verify_catches_a_misspelled_setting(tmp_path):
    """The check above can fail: a typo in a hardening key is reported."""
    proc = verify(runnable_units(tmp_path, lambda text: text.replace("ProtectSystem=", "ProtectSytem=")))
    assert "ProtectSytem" in proc.stdout + proc.stderr


def test_daemon_unit_is_hardened_and_restarts():
    settings = unit_settings((SYSTEMD / "l4agent.service").read_text())
    expected = {
        "Type": "exec", "Restart": "on-failure", "User": "l4agent", "Group": "l4agent",
        "StateDirectory": "l4agent", "ConfigurationDirectory": "l4agent",
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "CapabilityBoundingSet": "", "RestrictNamespaces": "yes", "MemoryDenyWriteExecute": "yes",
    }
    for key, value in expected.items():
        assert settings.get(key) == [value], (key, settings.get(key))
    assert "@system-service" in settings["SystemCallFilter"]
    assert set(settings["RestrictAddressFamilies"][0].split()) <= {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}
    # What the agent needs must not be taken away: /proc of other processes, the network.
    for key in ("ProtectProc", "ProcSubset", "PrivateNetwork", "PrivateUsers", "IPAddressDeny"):
        assert key not in settings


def test_report_timer_runs_daily_and_catches_up():
    settings = unit_settings((SYSTEMD / "l4agent-report.timer").read_text())
    assert settings["Persistent"] == ["true"]
    assert settings["RandomizedDelaySec"]
    assert settings["Unit"] == ["l4agent-report.service"]
    proc = subprocess.run(["systemd-analyze", "calendar", "--iterations=2", settings["OnCalendar"][0]],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    # Two consecutive elapses are a day apart.
    days = re.findall(r"\b(\d{4}-\d{2}-\d{2}) \d{2}:\d{2}:\d{2}", proc.stdout)
    assert len(set(days)) >= 2, proc.stdout


def exposure(unit: Path) -> float:
    proc = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
                          capture_output=True, text=True, timeout=60, cwd=unit.parent)
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", proc.stdout + proc.stderr)
    assert match, proc.stdout + proc.stderr
    return float(match.group(1))


def test_security_exposure_is_low_and_quoted_in_the_readme(tmp_path):
    daemon, report, _ = runnable_units(tmp_path)
    score = exposure(daemon)
    assert score <= 2.0  # systemd rates <= 2.0 "OK"
    assert exposure(report) <= 2.0
    readme = (REPO / "README.md").read_text()
    assert f"exposure level {score}" in readme, f"README should quote the exposure level {score}"


def l4agent_arguments(command_line: str) -> list[str]:
    """The arguments after the l4agent binary, without unexpanded $VARIABLES."""
    words = shlex.split(command_line)
    index = next(i for i, word in enumerate(words) if word.endswith("/l4agent") or word == "l4agent")
    return [word for word in words[index + 1:] if not word.startswith("$")]


def assert_cli_accepts(arguments: list[str]) -> None:
    """Parse ``arguments`` with the real click command tree, without running anything."""
    with click.Context(main) as ctx:
        command = main.get_command(ctx, arguments[0])
        assert command is not None, f"no command {arguments[0]}"
        command.make_context(arguments[0], list(arguments[1:]), parent=ctx)


@pytest.mark.parametrize("unit", ["l4agent.service", "l4agent-report.service"])
def test_unit_command_lines_are_accepted_by_the_cli(unit):
    settings = unit_settings((SYSTEMD / unit).read_text())
    (exec_start,) = settings["ExecStart"]
    assert exec_start.startswith(SHIPPED_BINARY + " ")
    assert_cli_accepts(l4agent_arguments(exec_start))


def test_crontab_example_lines_are_valid():
    lines = [line for line in (SYSTEMD / "crontab.example").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#") and not re.match(r"^\w+=", line)]
    assert len(lines) >= 2
    for line in lines:
        fields = line.split()
        if fields[0].startswith("@"):
            assert fields[0] in ("@reboot", "@daily", "@hourly"), line
            command = " ".join(fields[1:])
        else:
            for field in fields[:5]:
                assert re.fullmatch(r"[\d*/,-]+", field), line
            command = " ".join(fields[5:])
        assert_cli_accepts(l4agent_arguments(command.split(">>")[0]))
