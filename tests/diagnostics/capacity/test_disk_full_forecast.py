"""capacity.disk_full_forecast on the real host: history planted for a real filesystem filling
at a known rate gives the right number of days; a flat, a slow, a short or a sparse series gives
nothing; without history the check samples during the run (a private tmpfs filled while it runs,
when this test may mount one)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.core.history import FS_FREE, History
from l4agent.diagnostics.capacity.disk_full_forecast import filesystems
from l4agent.diagnostics.runner import run_diagnostics

CHECK = "capacity.disk_full_forecast"
DAY = 86400.0


def mountpoint_of(path: Path) -> str:
    path = os.path.realpath(path)
    mounts = [m for m in filesystems() if path == m or path.startswith(m.rstrip("/") + "/")]
    return max(mounts, key=len)


def free_now(mountpoint: str) -> float:
    st = os.statvfs(mountpoint)
    return float(st.f_bavail * st.f_frsize)


def run(state_dir: Path, **options):
    config = parse_config({"agent": {"state_dir": str(state_dir)}, "diagnostics": {CHECK: options}}, "test.toml")
    result = run_diagnostics(config, [CHECK], target="host")
    assert result.errors == []
    return {f.object: f for f in result.findings}


def plant(state_dir: Path, mountpoint: str, values) -> None:
    history = History.in_state_dir(state_dir)
    history.record_many((FS_FREE, {"mountpoint": mountpoint}, ts, value) for ts, value in values)
    history.close()


def filling(days_left: float, hours: float = 48, step: float = 300) -> tuple[list[tuple[float, float]], float]:
    """Free bytes of the last ``hours`` on a filesystem that is full ``days_left`` from now."""
    now = time.time()
    free = free_now(MOUNT)
    rate = free / (days_left * DAY)  # bytes per second
    count = int(hours * 3600 / step) + 1
    return [(now - hours * 3600 + i * step, free + rate * (hours * 3600 - i * step)) for i in range(count)], rate


MOUNT = mountpoint_of(Path(__file__))


def test_a_filesystem_filling_at_a_known_rate(tmp_path):
    values, _ = filling(days_left=10)
    plant(tmp_path, MOUNT, values)
    found = run(tmp_path, run_samples=0)
    finding = found[MOUNT]
    assert finding.severity == "warning"
    assert finding.evidence["days_until_full"] == pytest.approx(10, rel=0.05)
    assert finding.evidence["fit_samples"] == len(values) == 577
    assert finding.evidence["fit_span"] == "2d"
    assert finding.evidence["source"] == f"history in {tmp_path}"
    assert finding.summary.startswith(f"filesystem {MOUNT} full in ")
    assert "from history" in finding.summary and f"du -xh --max-depth=2 {MOUNT}" in finding.recommendation


def test_critical_inside_critical_within(tmp_path):
    values, _ = filling(days_left=3)
    plant(tmp_path, MOUNT, values)
    finding = run(tmp_path, run_samples=0)[MOUNT]
    assert finding.severity == "critical"
    assert finding.evidence["days_until_full"] == pytest.approx(3, rel=0.05)


def test_flat_slow_short_and_sparse_series_say_nothing(tmp_path):
    now, free = time.time(), free_now(MOUNT)
    flat = [(now - 3600 * i, free) for i in range(48)]
    slow, _ = filling(days_left=90)
    short, _ = filling(days_left=2, hours=0.5)  # 30 minutes < min_span 1h
    sparse = [(now - 7200, free * 2), (now, free)]  # steep, but two points
    for name, values in {"flat": flat, "slow": slow, "short": short, "sparse": sparse}.items():
        plant(tmp_path / name, MOUNT, values)
        assert MOUNT not in run(tmp_path / name, run_samples=0), name


def test_the_horizon_is_an_option(tmp_path):
    values, _ = filling(days_left=90)
    plant(tmp_path, MOUNT, values)
    assert run(tmp_path, run_samples=0, horizon="120d")[MOUNT].evidence["days_until_full"] == pytest.approx(90, rel=0.05)


@contextlib.contextmanager
def private_tmpfs(path: Path, size_mb: int):
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a private tmpfs here ({done.stderr.strip() or 'not root'})")
    try:
        yield str(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_without_history_samples_taken_during_the_run(tmp_path):
    with private_tmpfs(tmp_path / "fs", 256) as mount:
        stop = threading.Event()

        def fill():
            with open(os.path.join(mount, "growing.log"), "wb") as handle:
                while not stop.is_set():
                    handle.write(b"x" * (2 << 20))
                    handle.flush()
                    time.sleep(0.05)

        quiet = run(tmp_path / "state", run_samples=3, run_interval="200ms")
        assert mount not in quiet  # nothing is written yet: flat
        writer = threading.Thread(target=fill, daemon=True)
        writer.start()
        try:
            found = run(tmp_path / "state", run_samples=4, run_interval="300ms")
        finally:
            stop.set()
            writer.join()
        finding = found[mount]
        assert finding.severity == "critical"
        assert finding.evidence["fit_samples"] == 4
        assert finding.evidence["source"].startswith("samples taken during this diagnose run")
        assert "from this run" in finding.summary


def test_serve_waits_for_history_instead_of_sampling_seconds(tmp_path, monkeypatch):
    """Inside serve (in_daemon) a filesystem without usable history gets no forecast: a trend
    from a few seconds of normal writes must never open a P1 on a fresh install."""
    import l4agent.diagnostics.capacity.disk_full_forecast as module
    from l4agent.core.config import Config
    from l4agent.diagnostics.base import CheckContext

    calls = []
    monkeypatch.setattr(module, "sample_during_run", lambda *a, **k: calls.append(1) or {})
    check = module.DiskFullForecast()
    ctx = CheckContext(Config(), dict(check.defaults), "h", state_dir=str(tmp_path), in_daemon=True)
    assert list(check.run(ctx)) == []
    assert calls == []
    ctx.in_daemon = False
    list(check.run(ctx))
    assert calls == [1]
