"""capacity.disk_full_forecast on the real host: history planted for a real filesystem filling
at a known rate gives the right number of days; a flat, a slow, a short or a sparse series gives
nothing; without enough history it forecasts nothing, however fast a disk fills during the run
(a 400 MB write while diagnose runs), and says so in one info finding."""

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
    found = run(tmp_path)
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
    finding = run(tmp_path)[MOUNT]
    assert finding.severity == "critical"
    assert finding.evidence["days_until_full"] == pytest.approx(3, rel=0.05)


def test_flat_slow_short_and_sparse_series_say_nothing(tmp_path):
    now, free = time.time(), free_now(MOUNT)
    flat = [(now - 3600 * i, free) for i in range(48)]
    slow, _ = filling(days_left=90)
    short, _ = filling(days_left=2, hours=5)  # 5 hours < min_history 6h
    sparse = [(now - 7200, free * 2), (now, free)]  # steep, but two points
    for name, values in {"flat": flat, "slow": slow, "short": short, "sparse": sparse}.items():
        plant(tmp_path / name, MOUNT, values)
        assert MOUNT not in run(tmp_path / name), name


def test_the_horizon_is_an_option(tmp_path):
    values, _ = filling(days_left=90)
    plant(tmp_path, MOUNT, values)
    assert run(tmp_path, horizon="120d")[MOUNT].evidence["days_until_full"] == pytest.approx(90, rel=0.05)


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


def forecasts(found):
    return {obj: f for obj, f in found.items() if f.severity != "info"}


def test_a_400mb_write_during_diagnose_without_history_is_no_forecast(tmp_path):
    """Issue 15, 1: a write during the run used to be fitted over the run's own seconds of
    samples ("full in 0.0 days", critical). Now: no warning or critical, one info finding."""
    with contextlib.ExitStack() as stack:
        try:
            where = stack.enter_context(private_tmpfs(tmp_path / "fs", 512))
        except pytest.skip.Exception:
            where = str(tmp_path)  # the test's own filesystem: the write is real there too
        written = threading.Event()
        stop = threading.Event()

        def fill():
            with open(os.path.join(where, "growing.dump"), "wb") as handle:
                for chunk in range(100):  # 400 MB in 4 MB chunks over about 3 s
                    if stop.is_set():
                        break
                    handle.write(b"x" * (4 << 20))
                    handle.flush()
                    if chunk == 10:
                        written.set()
                    time.sleep(0.03)
            written.set()

        writer = threading.Thread(target=fill, daemon=True)
        writer.start()
        written.wait(10)
        try:
            started = time.monotonic()
            found = run(tmp_path / "state")
            took = time.monotonic() - started
        finally:
            stop.set()
            writer.join()
    assert forecasts(found) == {}
    info = found["filesystems"]
    assert info.severity == "info"
    assert info.summary.startswith("not enough history yet (0 samples over 0s)")
    assert took < 1.5, f"the check took {took:.2f}s: it must not sample during the run"


def test_history_shorter_than_min_history_is_one_info_finding(tmp_path):
    values, _ = filling(days_left=1, hours=2)  # steep, but 2 hours < 6h
    plant(tmp_path, MOUNT, values)
    found = run(tmp_path)
    assert forecasts(found) == {}
    assert found["filesystems"].summary.startswith(f"not enough history yet ({len(values)} samples over 2h)")
    assert MOUNT in found["filesystems"].evidence["not_forecast"]
    # the same history is evidence enough when the minimum is lowered
    assert run(tmp_path, min_history="1h")[MOUNT].severity == "critical"
