"""Runs the selected checks on the host and on every database target.

Targets run side by side (one thread each, one shared connection per target); checks on one
target run one after another so the agent never holds more than one session per target. A
check that fails is an error entry for that check alone; a target that cannot be reached is
one error entry and every other target still runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from l4agent.core.config import Config, DatabaseConfig
from l4agent.core.redact import redact
from l4agent.core.samples import Sample
from l4agent.core.units import iso_utc, utcnow
from l4agent.diagnostics.base import HOST, SEVERITY_RANK, Check, CheckContext, Finding
from l4agent.diagnostics.coverage import Coverage, CoverageLog, NotExamined
from l4agent.diagnostics.options import options_for
from l4agent.diagnostics.registry import select

if TYPE_CHECKING:
    from l4agent.collectors.appserver.app_history import AppHistories

log = logging.getLogger(__name__)


@dataclass
class DiagnoseResult:
    host: str
    started_at: str
    duration_seconds: float
    findings: list[Finding] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    #: targets that could not be reached at all (exit code 3)
    unreachable: list[str] = field(default_factory=list)
    #: what was examined per target and catalog, and what was not and why
    coverage_log: CoverageLog = field(default_factory=CoverageLog, repr=False)
    #: figures the checks measured (exported by ``serve``; not part of the JSON)
    measurements: list[Sample] = field(default_factory=list, repr=False)

    @property
    def coverage(self) -> list[Coverage]:
        return self.coverage_log.entries()

    @property
    def incomplete(self) -> bool:
        """A target, a catalog or a check could not be examined (exit code 3)."""
        return bool(self.unreachable) or self.coverage_log.incomplete()

    def to_dict(self) -> dict:
        return {
            "host": self.host,
            "started_at": self.started_at,
            "duration_seconds": round(self.duration_seconds, 3),
            "findings": [f.to_dict() for f in self.findings],
            "errors": list(self.errors),
            "coverage": [c.to_dict() for c in self.coverage],
        }

    def worst(self) -> str | None:
        return max((f.severity for f in self.findings), key=SEVERITY_RANK.__getitem__, default=None)


def _enabled(check: Check, config: Config) -> bool:
    family = check.id.split(".")[0]
    for key in (check.id, family):
        if config.diagnostics.get(key, {}).get("enabled") is False:
            return False
    return True


def _run_checks(checks: Sequence[Check], ctx_for: Callable[[Check], CheckContext], target_name: str,
                result: DiagnoseResult, lock: threading.Lock, in_daemon: bool = False) -> None:
    # A one-shot run prints its errors in its output: logging them too would print each fault twice.
    fault_level = logging.WARNING if in_daemon else logging.DEBUG
    for check in checks:
        started = time.monotonic()
        ctx = ctx_for(check)
        try:
            findings = list(check.run(ctx))
        except NotExamined as exc:
            message = redact(exc.why)
            log.log(fault_level, "check %s on %s could not look: %s", check.id, target_name, message)
            ctx.not_examined(check.id, message, exc.catalog)
            with lock:
                result.errors.append({"check": check.id, "target": target_name, "error": message})
            continue
        except Exception as exc:  # noqa: BLE001 - one check never ends the run
            message = redact(str(exc) or type(exc).__name__)
            log.log(fault_level, "check %s on %s failed: %s", check.id, target_name, message)
            log.debug("check %s traceback", check.id, exc_info=True)
            ctx.not_examined(check.id, message)
            with lock:
                result.errors.append({"check": check.id, "target": target_name, "error": message})
            continue
        log.debug("check %s on %s: %d finding(s) in %.2fs", check.id, target_name, len(findings),
                  time.monotonic() - started)
        result.coverage_log.count(target_name, "checks", 1)
        with lock:
            result.findings.extend(findings)


def run_diagnostics(config: Config, prefixes: Sequence[str] = (), target: str | None = None,
                    host: str | None = None, connect: Callable[[DatabaseConfig], object] | None = None,
                    in_daemon: bool = False, app_histories: AppHistories | None = None) -> DiagnoseResult:
    """Run every selected check that applies; ``target`` limits the run to one database target
    (or to the host checks when it names the host or is "host"). ``in_daemon``: see CheckContext.
    ``app_histories``: the app servers' recent probes (the daemon's); a run of its own otherwise."""
    from l4agent.collectors.appserver.app_history import AppHistories
    from l4agent.collectors.registry import host_name

    app_histories = app_histories or AppHistories()

    host = host or host_name(config)
    started = time.monotonic()
    result = DiagnoseResult(host=host, started_at=iso_utc(utcnow()), duration_seconds=0.0)
    checks = [c for c in select(tuple(prefixes)) if _enabled(c, config)]
    lock = threading.Lock()
    threads: list[threading.Thread] = []

    run_host = target is None or target in (host, HOST)
    host_checks = [c for c in checks if HOST in c.engines]
    if run_host and host_checks:
        def host_ctx(check: Check) -> CheckContext:
            return CheckContext(config, options_for(check, config.diagnostics), host, state_dir=config.agent.state_dir,
                                in_daemon=in_daemon, app_histories=app_histories, coverage=result.coverage_log,
                                measurements=result.measurements)

        threads.append(threading.Thread(target=_run_checks, args=(host_checks, host_ctx, host, result, lock, in_daemon),
                                        name="diagnose-host", daemon=True))

    databases = [db for db in config.databases if target is None or db.name == target]
    if target is not None and not databases and not run_host:
        result.errors.append({"check": None, "target": target, "error": f"no target named {target!r}"})
        result.unreachable.append(target)
    if run_host and host_checks:
        result.coverage_log.entry(host)
    for database in databases:
        db_checks = [c for c in checks if database.engine in c.engines]
        result.coverage_log.entry(database.name)  # a configured target always has an entry
        if db_checks:
            threads.append(threading.Thread(target=_run_target,
                                            args=(config, database, db_checks, host, result, lock, connect, in_daemon),
                                            name=f"diagnose-{database.name}", daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.errors.extend(result.coverage_log.errors())
    result.findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.target, f.check, f.object))
    result.duration_seconds = time.monotonic() - started
    return result


def _run_target(config: Config, database: DatabaseConfig, checks: Sequence[Check], host: str,
                result: DiagnoseResult, lock: threading.Lock, connect, in_daemon: bool = False) -> None:
    if connect is None:
        from l4agent.dbaccess.connection import connect
    try:
        db = connect(database)
    except Exception as exc:  # noqa: BLE001 - reported as this target's error
        message = redact(str(exc))
        with lock:
            result.errors.append({"check": None, "target": database.name, "error": message})
            result.unreachable.append(database.name)
        result.coverage_log.not_examined(database.name, "(connect)", message)
        return
    try:
        def ctx_for(check: Check) -> CheckContext:
            return CheckContext(config, options_for(check, config.diagnostics), host, target=database, db=db,
                                state_dir=config.agent.state_dir, in_daemon=in_daemon,
                                coverage=result.coverage_log, measurements=result.measurements)

        _run_checks(checks, ctx_for, database.name, result, lock, in_daemon)
    finally:
        db.close()
