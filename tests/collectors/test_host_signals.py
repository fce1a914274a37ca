"""Host outage signals (issue 19) on this machine and on fixture files: disk read/write time,
pressure stall, OOM kills, major faults, the clock's sync state, and systemd unit state (with a
stand-in systemctl: PID 1 is not systemd in this container, which is itself tested)."""

from __future__ import annotations

import os
import stat

from l4agent.collectors import hostsignals
from l4agent.collectors.system import SystemCollector
from l4agent.core.samples import Problem, Sample
from l4agent.exporters.prometheus import render
from tests.support.promtools import promtool_check_metrics


def run(collector: SystemCollector) -> tuple[list[Sample], list[Problem]]:
    items = list(collector.collect())
    return [i for i in items if isinstance(i, Sample)], [i for i in items if isinstance(i, Problem)]


def values(samples, name):
    return {tuple(sorted(s.labels.items())): s.value for s in samples if s.name == name}


def test_kernel_signals_on_this_host(tmp_path):
    samples, problems = run(SystemCollector())
    assert problems == []
    io_time = values(samples, "l4agent_disk_io_time_seconds_total")
    directions = {dict(k)["direction"] for k in io_time}
    assert directions == {"read", "write"} and all(v >= 0 for v in io_time.values())
    before_writes = sum(v for k, v in io_time.items() if dict(k)["direction"] == "write")
    with open(tmp_path / "w", "wb") as fh:  # some write time
        fh.write(os.urandom(1 << 20))
        fh.flush()
        os.fsync(fh.fileno())
    after = values(run(SystemCollector())[0], "l4agent_disk_io_time_seconds_total")
    assert sum(v for k, v in after.items() if dict(k)["direction"] == "write") >= before_writes
    if os.path.exists("/proc/pressure/cpu"):
        psi = values(samples, "l4agent_pressure_stall_seconds_total")
        assert {(dict(k)["resource"], dict(k)["kind"]) for k in psi} >= {("cpu", "some"), ("io", "some"),
                                                                          ("memory", "full")}
    assert values(samples, "l4agent_oom_kills_total")[()] >= 0
    assert values(samples, "l4agent_major_page_faults_total")[()] > 0
    assert values(samples, "l4agent_time_synchronized")[()] in (0, 1)
    assert abs(values(samples, "l4agent_time_sync_offset_seconds")[()]) < 60
    assert not values(samples, "l4agent_systemd_unit_active")  # no units configured
    assert promtool_check_metrics(render(samples)) == ""


def test_parsers_on_fixture_files(tmp_path):
    (tmp_path / "pressure").mkdir()
    (tmp_path / "pressure" / "cpu").write_text("some avg10=0.10 avg60=0.00 avg300=0.00 total=2500000\n")
    (tmp_path / "pressure" / "io").write_text("some avg10=0 avg60=0 avg300=0 total=10\n"
                                              "full avg10=0 avg60=0 avg300=0 total=4000000\n")
    assert hostsignals.pressure_stall(str(tmp_path / "pressure")) == {
        ("cpu", "some"): 2.5, ("io", "some"): 1e-5, ("io", "full"): 4.0}
    assert hostsignals.pressure_stall(str(tmp_path / "absent")) == {}  # no PSI: no series
    (tmp_path / "vmstat").write_text("pgfault 100\npgmajfault 7\noom_kill 2\n")
    assert hostsignals.vmstat(path=str(tmp_path / "vmstat")) == {"pgmajfault": 7, "oom_kill": 2}
    (tmp_path / "old_vmstat").write_text("pgmajfault 7\n")  # before 4.13: no oom_kill line
    assert hostsignals.vmstat(path=str(tmp_path / "old_vmstat")) == {"pgmajfault": 7}


def test_without_systemd_no_unit_series_and_one_error_once():
    collector = SystemCollector(units=("tomcat10", "mariadb"), systemd_run_dir="/nonexistent/systemd")
    samples, problems = run(collector)
    assert not values(samples, "l4agent_systemd_unit_active")
    assert [p.message for p in problems] == [
        "systemd units: systemd is not running as init here (/nonexistent/systemd missing or systemctl "
        "failed); the state of units tomcat10, mariadb is not reported"]
    assert run(collector)[1] == []  # said once, not every round


def fake_systemctl(tmp_path, states: dict[str, str]) -> str:
    """A systemctl stand-in answering `show --property=ActiveState -- UNIT...` like systemd."""
    script = tmp_path / "systemctl"
    cases = "\n".join(f'    {unit}) echo "ActiveState={state}";;' for unit, state in states.items())
    script.write_text("#!/bin/sh\n[ \"$1 $2 $3\" = 'show --property=ActiveState --' ] || exit 9\nshift 3\n"
                      "first=1\nfor u in \"$@\"; do\n  [ $first = 1 ] || echo\n  first=0\n  case $u in\n"
                      f"{cases}\n    *) echo ActiveState=inactive;;\n  esac\ndone\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_unit_states_with_systemd(tmp_path):
    run_dir = tmp_path / "run-systemd"
    run_dir.mkdir()
    systemctl = fake_systemctl(tmp_path, {"tomcat10": "active", "mariadb": "failed", "lucee": "reloading"})
    collector = SystemCollector(units=("tomcat10", "mariadb", "lucee", "gone"), systemd_run_dir=str(run_dir),
                                systemctl=systemctl)
    samples, problems = run(collector)
    assert problems == []
    assert values(samples, "l4agent_systemd_unit_active") == {
        (("unit", "tomcat10"),): 1, (("unit", "mariadb"),): 0, (("unit", "lucee"),): 1, (("unit", "gone"),): 0}


def test_units_config_key(tmp_path):
    from l4agent.agent.configuration import parse_config

    config = parse_config({"agent": {"units": ["tomcat10", "mariadb.service", "tomcat10"]}}, "<test>")
    assert config.agent.units == ("tomcat10", "mariadb.service")


def test_bad_unit_name_is_one_config_line():
    import pytest

    from l4agent.agent.configuration import parse_config

    with pytest.raises(Exception, match=r"agent\.units: 'bad unit\\n' is not a systemd unit name"):
        parse_config({"agent": {"units": ["ok", "bad unit\n"]}}, "x.toml")
