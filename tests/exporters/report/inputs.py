"""Report inputs for the renderer tests: snapshots made of the collectors' own metric specs,
findings of real check ids with the evidence those checks write, and a real history file."""

from __future__ import annotations

import datetime as dt
import time

from l4agent.collectors import system
from l4agent.collectors.database import metrics as db
from l4agent.core.config import Config, DatabaseConfig
from l4agent.core.snapshot import Snapshot
from l4agent.diagnostics.base import Finding
from l4agent.diagnostics.runner import DiagnoseResult
from l4agent.exporters.report.inputs import HistoryView, RecordsView

NOW = time.time()
GIB = 1024.0 ** 3


def snapshot(root_used: float = 0.40, data_used: float = 0.50, database_up: float = 1.0, host: str = "db1",
             extra: list | None = None) -> Snapshot:
    samples = [
        system.CPUS(4), system.LOAD1(1.0), system.LOAD5(0.8), system.LOAD15(0.6), system.LOAD1_PER_CPU(0.25),
        system.MEMORY(16 * GIB, kind="total"), system.MEMORY_AVAILABLE_RATIO(0.5), system.SWAP(0, kind="total"),
        system.SWAP_USED_RATIO(0.0), system.FD_USED_RATIO(0.01), system.BOOT_TIME(NOW - 86400 * 3),
        system.CPU_SECONDS(1000, cpu="0", mode="idle"), system.CPU_SECONDS(100, cpu="0", mode="user"),
    ]
    for mountpoint, used in (("/", root_used), ("/data", data_used)):
        labels = {"mountpoint": mountpoint, "device": f"/dev/{mountpoint.strip('/') or 'root'}", "fstype": "ext4"}
        samples += [system.FS_USED_RATIO(used, **labels), system.FS_SIZE(100 * GIB, **labels),
                    system.FS_FREE((1 - used) * 100 * GIB, **labels)]
    samples += [db.UP(database_up, database="erp", engine="postgresql"),
                db.SESSIONS(12, database="erp", state="active"), db.BLOCKED_SESSIONS(0, database="erp"),
                db.SIZE(5 * GIB, database="erp", catalog="workcube_cf", kind="data"),
                db.BACKUP_AGE(3 * 86400, database="erp", catalog="workcube_cf", type="full")]
    return Snapshot(host, dt.datetime.fromtimestamp(NOW, dt.UTC), samples + list(extra or []), [])


def config(state_dir: str = "/nonexistent/l4agent-state") -> Config:
    from dataclasses import replace

    base = Config(path="/etc/l4agent/l4agent.toml")
    return replace(base, agent=replace(base.agent, state_dir=state_dir),
                   databases=(DatabaseConfig(name="erp", engine="postgresql", dsn="DRIVER=x", rpo=86400.0),))


def finding(check: str = "schema.no_primary_key", severity: str = "warning", obj: str = "erp.public.orders",
            summary: str = "table has no primary key", **evidence) -> Finding:
    return Finding(check, severity, "erp", obj, summary, "add a primary key", evidence)


def top_query(total_ms: float, text: str) -> Finding:
    return finding("perf.top_query", "info", f"erp.query:{int(total_ms)}", f"top statement: {text}",
                   total_ms=total_ms, calls=100, mean_ms=total_ms / 100, catalog="erp", query=text)


def disk_forecast(days: float = 5.0) -> Finding:
    return finding("capacity.disk_full_forecast", "critical", "/data", f"filesystem /data full in {days} days",
                   mountpoint="/data", size_bytes=100 * GIB, free_bytes=20 * GIB, days_until_full=days,
                   growth_bytes_per_day=4 * GIB, full_at="2026-12-01T00:00:00Z")


def diagnosis(*findings: Finding, unreachable: tuple[str, ...] = ()) -> DiagnoseResult:
    return DiagnoseResult("db1", "2026-11-22T06:30:00Z", 1.0, list(findings), [], list(unreachable))


def no_records() -> RecordsView:
    return RecordsView()


def no_history() -> HistoryView:
    return HistoryView(None)


def breaches(snap, cfg=None):
    """The threshold breaches the application hands to build_report for this snapshot."""
    from l4agent.agent.reporting.gather import threshold_breaches

    return threshold_breaches(cfg or config(), snap.samples if snap else [], "db1")
