"""``l4agent install-systemd --prefix``: lays out units, the system user, an example config
(0640, never overwritten) and the state directory; a second run changes nothing."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from l4agent.agent.commands.install_systemd import UNITS
from tests.conftest import REPO


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_lays_out_units_user_config_and_state_dir(run_cli, tmp_path):
    binary = Path(sys.executable).parent / "l4agent"
    proc = run_cli("install-systemd", "--prefix", str(tmp_path), "--bin", str(binary))
    assert proc.returncode == 0, proc.stderr
    unit_dir = tmp_path / "etc/systemd/system"
    for unit in UNITS:
        text = (unit_dir / unit).read_text()
        assert mode(unit_dir / unit) == 0o644
        if unit.endswith(".service"):
            assert f"ExecStart={binary} " in text  # rewritten to this installation's l4agent
            assert "/opt/l4agent/bin/l4agent" not in text
    assert (tmp_path / "etc/sysusers.d/l4agent.conf").read_text() == (REPO / "systemd/l4agent.sysusers").read_text()
    config = tmp_path / "etc/l4agent/l4agent.toml"
    assert mode(config) == 0o640
    assert mode(tmp_path / "etc/l4agent") == 0o755
    assert mode(tmp_path / "var/lib/l4agent") == 0o750
    assert (tmp_path / "var/lib/l4agent/reports").is_dir()
    # Not the real root: no user is created and nothing says "systemctl enable" yet.
    assert not (tmp_path / "etc/passwd").exists()
    assert "systemctl" not in proc.stdout

    # The example config is a valid config as installed.
    check = run_cli("config", "check", "-c", str(config))
    assert check.returncode == 0, check.stdout + check.stderr

    # The installed units verify cleanly (ExecStart exists).
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(["systemd-analyze", "verify", *[str(unit_dir / u) for u in UNITS]],
                                capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert verify.returncode == 0 and not (verify.stdout + verify.stderr).strip(), verify.stdout + verify.stderr


def test_second_run_changes_nothing_and_keeps_an_edited_config(run_cli, tmp_path):
    assert run_cli("install-systemd", "--prefix", str(tmp_path)).returncode == 0
    config = tmp_path / "etc/l4agent/l4agent.toml"
    config.write_text('[agent]\nlisten = "127.0.0.1:9999"\n')
    unit = tmp_path / "etc/systemd/system/l4agent.service"
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()}

    proc = run_cli("install-systemd", "--prefix", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before
    assert "created" not in proc.stdout and "updated" not in proc.stdout
    assert f"kept (exists)    {config}" in proc.stdout

    # A unit someone changed is put back; the config still is not.
    unit.write_text(unit.read_text().replace("Restart=on-failure", "Restart=no"))
    proc = run_cli("install-systemd", "--prefix", str(tmp_path))
    assert f"updated          {unit}" in proc.stdout
    assert "Restart=on-failure" in unit.read_text()
    assert config.read_text() == '[agent]\nlisten = "127.0.0.1:9999"\n'


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None or os.geteuid() != 0,
                    reason="needs systemd-sysusers and root (chown)")
def test_create_user_applies_the_sysusers_file_under_the_prefix(run_cli, tmp_path):
    proc = run_cli("install-systemd", "--prefix", str(tmp_path), "--create-user")
    assert proc.returncode == 0, proc.stderr
    passwd = (tmp_path / "etc/passwd").read_text()
    (entry,) = [line for line in passwd.splitlines() if line.startswith("l4agent:")]
    uid, gid = int(entry.split(":")[2]), int(entry.split(":")[3])
    assert uid < 1000, "a system user"
    assert entry.endswith(":/var/lib/l4agent:/usr/sbin/nologin")
    state = (tmp_path / "var/lib/l4agent").stat()
    assert (state.st_uid, state.st_gid) == (uid, gid)
    config = (tmp_path / "etc/l4agent/l4agent.toml").stat()
    assert (config.st_uid, config.st_gid) == (0, gid)
    # Idempotent here too: the user exists, nothing is created twice.
    again = run_cli("install-systemd", "--prefix", str(tmp_path), "--create-user")
    assert again.returncode == 0
    assert (tmp_path / "etc/passwd").read_text() == passwd


def test_refuses_a_missing_binary(run_cli, tmp_path):
    proc = run_cli("install-systemd", "--prefix", str(tmp_path), "--bin", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert "--bin" in proc.stderr
    assert not (tmp_path / "etc").exists()


@pytest.mark.slow
def test_works_from_a_wheel_install_without_the_checkout(tmp_path):
    """After `pip install l4agent-*.whl` the units come from <venv>/share/l4agent (data files)."""
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("l4agent-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    # Install the wheel alone into the new venv; its dependencies come from this venv's
    # site-packages on PYTHONPATH (no network, and the checkout is nowhere on the path).
    site = next(Path(p) for p in sys.path if p.endswith("site-packages"))
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install",
                              "--no-deps", "-q", str(wheel)], capture_output=True, text=True, timeout=300)
    if install.returncode != 0 and "no such option: --python" in install.stderr:
        pytest.skip("pip too old for --python")
    assert install.returncode == 0, install.stderr
    prefix = tmp_path / "root"
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(site), "HOME": str(tmp_path)}
    proc = subprocess.run([str(venv / "bin/l4agent"), "install-systemd", "--prefix", str(prefix)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    unit = (prefix / "etc/systemd/system/l4agent.service").read_text()
    assert f"ExecStart={venv / 'bin/l4agent'} serve" in unit
    assert (prefix / "etc/l4agent/l4agent.toml").read_text() == (REPO / "deploy/l4agent.example.toml").read_text()
    assert (venv / "share/l4agent/deploy/prometheus/l4agent-rules.yml").is_file()
    assert (venv / "share/l4agent/deploy/grafana/l4agent-dashboard.json").is_file()
    # One import namespace: the wheel puts l4agent (and its dist-info) at the top, nothing else.
    (venv_site,) = (venv / "lib").glob("python3*/site-packages")
    tops = {p.name for p in venv_site.iterdir()} - {"__pycache__", "_distutils_hack", "distutils-precedence.pth"}
    assert {t for t in tops if not t.startswith("l4agent")} == set(), tops
    assert "l4agent" in tops
    probe = subprocess.run([str(venv / "bin/python"), "-c", "import agent"], capture_output=True, text=True,
                           timeout=60, env=env, cwd=tmp_path)
    assert probe.returncode != 0 and "No module named 'agent'" in probe.stderr
    version = subprocess.run([str(venv / "bin/l4agent"), "--version"], capture_output=True, text=True,
                             timeout=60, env=env, cwd=tmp_path)
    assert version.stdout == "l4agent 0.1.0\n"

