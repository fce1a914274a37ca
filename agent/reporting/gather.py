"""Where a report's inputs come from. Every other part of the agent is reached through one small
function here (collection, diagnostics, work records, thresholds, history); when a part is
missing or fails, its function returns an empty answer and a note, and the report still renders.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from l4agent.core.config import Config
from l4agent.exporters.report.inputs import Breach, RecordsView

log = logging.getLogger(__name__)

# -- collection and diagnostics ------------------------------------------------------------------


def collect(config: Config):
    """One collection round of every configured collector -> Snapshot."""
    from l4agent.collectors.registry import build_collectors, host_name
    from l4agent.collectors.runner import CollectionRunner

    runner = CollectionRunner(build_collectors(config), host_name(config))
    try:
        return runner.run_once()
    finally:
        runner.close()


def diagnose(config: Config):
    """One diagnostics run of every check -> DiagnoseResult."""
    from l4agent.diagnostics.runner import run_diagnostics

    return run_diagnostics(config)


def daemon_diagnostics(daemon) -> Any | None:
    """The daemon's latest DiagnoseResult (kept by the diagnostics service), or None."""
    return daemon.diagnostics_result


# -- work records ---------------------------------------------------------------------------------


def records_from_store(config: Config, limit: int = 200) -> RecordsView:
    """The open records in ``state_dir`` (read-only use of the store; never creates it)."""
    try:
        from l4agent.agent.records.service import open_store_for_cli
        from l4agent.agent.records.store import StoreError, StoreMissing
    except ImportError:
        return RecordsView(note="work records are not part of this build")
    try:
        store = open_store_for_cli(config, create=False)
    except StoreMissing:
        return RecordsView(note="no work records yet (l4agent serve opens them)")
    except StoreError as exc:
        return RecordsView(note=f"work records unavailable: {exc}")
    try:
        return RecordsView([r.to_dict() for r in store.list_records("open", limit=limit)])
    except StoreError as exc:
        return RecordsView(note=f"work records unavailable: {exc}")
    finally:
        store.close()


def records_from_daemon(daemon, limit: int = 200) -> RecordsView:
    """The open records of a running daemon's records service."""
    service = daemon.records
    if service is None:
        return RecordsView(note="work records are off (see the log)")
    try:
        return RecordsView([r.to_dict() for r in service.store.list_records("open", limit=limit)])
    except Exception as exc:  # noqa: BLE001 - the page shows why instead of failing
        return RecordsView(note=f"work records unavailable: {exc}")


# -- thresholds -----------------------------------------------------------------------------------


def threshold_breaches(config: Config, samples: Sequence, host: str) -> list[Breach]:
    """Every metric threshold rule (built-in and configured) checked against ``samples``."""
    try:
        from l4agent.agent.thresholds import describe_level, effective_rules, metric_readings
    except ImportError:
        return []
    breaches = []
    for rule in effective_rules(config):
        if not rule.metric:
            continue
        for reading in metric_readings(rule, samples, host, {}):
            if reading.level is None:
                continue
            breaches.append(Breach(rule.name, rule.metric, reading.target, reading.object, reading.level,
                                   float(reading.value), describe_level(rule, reading.level),
                                   rule.summary or rule.name, rule.recommendation or "", dict(reading.labels or {})))
    return breaches


# -- history --------------------------------------------------------------------------------------


def now() -> float:
    return time.time()
