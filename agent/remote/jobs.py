"""One host from connect to result: log in, choose the mode, collect or diagnose, describe failure.

Mode ``auto`` runs l4agent on the host when ``command -v l4agent`` finds it (agent mode), and
otherwise reads the host with read-only commands and reaches its databases through SSH
port-forwards (agentless). Agentless diagnostics run only the database checks: host checks would
read this machine, not the remote one.

The inventory's ``[[hosts.databases]]`` are never dropped: in agent mode, those the host's own
l4agent did not report on (no target of that name in its result) are run from here through
port-forwards, as in agentless mode, and merged into the host's result
(``agentless_databases`` names them). A ``--target`` naming an inventory database runs that
database agentless. A diagnose that examined nothing says so in its ``coverage``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from l4agent.agent.remote import agent_mode, agentless
from l4agent.agent.remote.fleet import FAILED, OK, UNREACHABLE, Cancel, HostResult
from l4agent.agent.remote.forward import Forwards, forwarded
from l4agent.agent.remote.hosts import HostSpec
from l4agent.agent.remote.ssh import Connector, Session, SshError
from l4agent.collectors.base import Collector
from l4agent.core.config import Config
from l4agent.core.redact import redact
from l4agent.core.samples import Problem, Sample

log = logging.getLogger(__name__)

AGENT, AGENTLESS = "agent", "agentless"


@dataclass(frozen=True)
class Request:
    """What to do on every host. ``config`` is the local config (diagnostics options, timeouts)."""

    action: str  # "collect" | "diagnose"
    config: Config
    mode: str = "auto"
    command_timeout: float = 60.0
    prefixes: tuple[str, ...] = ()
    target: str | None = None


def run_host(spec: HostSpec, request: Request, connector: Connector, cancel: Cancel) -> HostResult:
    """Run ``request`` on one host; never raises."""
    started = time.monotonic()
    mode = None
    try:
        session = connector.open(spec)
    except SshError as exc:
        return HostResult(spec.name, None, UNREACHABLE if exc.unreachable else FAILED, error=str(exc),
                          duration_seconds=time.monotonic() - started)
    cancel.register(session)
    try:
        mode = _choose_mode(session, request)
        if mode == AGENT and request.action == "diagnose" and request.target in {db.name for db in spec.databases}:
            mode = AGENTLESS  # an inventory database: the host's own config does not know it
        result = _run_agent(session, spec, request) if mode == AGENT else _run_agentless(session, spec, request)
        return HostResult(spec.name, mode, OK, result=result, duration_seconds=time.monotonic() - started)
    except SshError as exc:
        return HostResult(spec.name, mode, FAILED, error=str(exc), duration_seconds=time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - one host's surprise fails that host only
        log.debug("%s: unexpected failure", spec.name, exc_info=True)
        message = redact(f"{spec.address}: internal error: {type(exc).__name__}: {exc}")
        return HostResult(spec.name, mode, FAILED, error=message, duration_seconds=time.monotonic() - started)
    finally:
        session.close()


def _choose_mode(session: Session, request: Request) -> str:
    if request.mode != "auto":
        return request.mode
    return AGENT if agent_mode.detect(session, request.command_timeout) else AGENTLESS


def _run_agent(session: Session, spec: HostSpec, request: Request) -> dict[str, Any]:
    result = agent_mode.run(session, request.action, request.command_timeout, spec.config,
                            request.prefixes if request.action == "diagnose" else (),
                            request.target if request.action == "diagnose" else None)
    if request.action == "diagnose" and request.target is not None:
        return result  # the host's own target (inventory targets run agentless, see run_host)
    missing = [db for db in spec.databases if db.name not in reported_targets(result, request.action)]
    if not missing:
        return result
    inventory = replace(spec, databases=tuple(missing))
    if request.action == "collect":
        added = collect_agentless(session, inventory, request, host_facts=False)
        names = {db.name for db in missing}
        result["samples"] = list(result["samples"]) + [
            s for s in added["samples"] if isinstance(s, dict) and (s.get("labels") or {}).get("database") in names]
    else:
        added = diagnose_agentless(session, inventory, request, host=str(result.get("host") or spec.name))
        result["findings"] = list(result["findings"]) + added["findings"]
        if isinstance(result.get("coverage"), list):
            result["coverage"] = result["coverage"] + added["coverage"]
        else:
            result["coverage"] = added["coverage"]
    result["errors"] = list(result["errors"]) + added["errors"]
    result["agentless_databases"] = [db.name for db in missing]
    return result


def reported_targets(result: dict[str, Any], action: str) -> set[str]:
    """Database targets a host's own l4agent reported on (any sample, finding, error or coverage)."""
    names: set[str] = set()
    if action == "collect":
        for sample in result.get("samples") or []:
            labels = sample.get("labels") if isinstance(sample, dict) else None
            if isinstance(labels, dict) and isinstance(labels.get("database"), str):
                names.add(labels["database"])
    for key in ("findings", "errors", "coverage"):
        for item in result.get(key) or []:
            if isinstance(item, dict) and isinstance(item.get("target"), str):
                names.add(item["target"])
    return names


def _run_agentless(session: Session, spec: HostSpec, request: Request) -> dict[str, Any]:
    if request.action == "collect":
        return collect_agentless(session, spec, request)
    return diagnose_agentless(session, spec, request)


def collect_agentless(session: Session, spec: HostSpec, request: Request, host_facts: bool = True) -> dict[str, Any]:
    """OS and network from the host's /proc (unless ``host_facts`` is False: the host's own
    l4agent read them), plus its databases through port-forwards."""
    from l4agent.collectors.registry import build_collectors
    from l4agent.collectors.runner import CollectionRunner

    facts = agentless.read_host(session, request.command_timeout) if host_facts else None
    timeout = request.config.agent.collector_timeout
    with forwarded(session, spec.databases) as forwards:
        collectors = agentless.facts_collectors(facts, timeout) if facts is not None else []
        if forwards.targets:
            only_databases = replace(request.config, databases=tuple(forwards.targets), probes=(), appservers=())
            collectors += build_collectors(only_databases, {"database"})
        engines = {db.name: db.engine for db in spec.databases}
        collectors += [_NotForwarded(target=e["target"], engine=engines[e["target"]], message=e["error"])
                       for e in forwards.errors]
        runner = CollectionRunner(collectors, (facts.hostname if facts is not None else "") or spec.name)
        try:
            snapshot = runner.run_once()
        finally:
            runner.close()
    for error in snapshot.errors:
        error["error"] = forwards.explain(error["error"])
    return snapshot.to_dict()


@dataclass
class _NotForwarded(Collector):
    """A database target whose port-forward failed: reported as the database collector reports
    an unreachable target (``l4agent_database_up`` 0 and one error entry)."""

    name: str = "database"
    engine: str = ""
    message: str = ""

    def collect(self) -> Iterator[Sample | Problem]:
        from l4agent.collectors.database import metrics

        yield metrics.UP(0, database=self.target, engine=self.engine)
        yield Problem(self.message)


def diagnose_agentless(session: Session, spec: HostSpec, request: Request, host: str | None = None) -> dict[str, Any]:
    """The database checks of the host's inventory targets, run here through port-forwards.
    With no database to check, the result says that nothing was examined, and why."""
    from l4agent.diagnostics.runner import DiagnoseResult, run_diagnostics

    host = host or _remote_hostname(session, request.command_timeout) or spec.name
    selected = [db for db in spec.databases if request.target in (None, db.name)]
    with forwarded(session, selected) as forwards:
        config = replace(request.config, databases=tuple(forwards.targets),
                         diagnostics=without_host_checks(request.config.diagnostics))
        if forwards.targets:
            result = run_diagnostics(config, request.prefixes, None, host=host)
        else:
            from l4agent.core.units import iso_utc, utcnow

            result = DiagnoseResult(host=host, started_at=iso_utc(utcnow()), duration_seconds=0.0)
            if not spec.databases:
                result.coverage_log.not_examined(
                    host, "diagnostics", "agentless mode runs only the database checks of the inventory's "
                    "[[hosts.databases]], and it lists none for this host: nothing was examined (install "
                    "l4agent on the host for its own checks, or list its databases in the inventory)")
        for error in forwards.errors:  # a database the forward could not reach: not examined
            result.coverage_log.not_examined(error["target"], "(connect)", error["error"])
    _explain_errors(result.errors, forwards)
    if request.target is not None and not selected:
        result.errors.append({"check": None, "target": request.target,
                              "error": f"no database target named {request.target!r} for {spec.name} in the inventory"})
    return result.to_dict()


def _explain_errors(errors: list[dict], forwards: Forwards) -> None:
    for error in errors:
        error["error"] = forwards.explain(error["error"])
    errors += [{"check": None, "target": e["target"], "error": e["error"]} for e in forwards.errors]


def without_host_checks(diagnostics: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``[diagnostics]`` options with every host check disabled (they would read this machine)."""
    from l4agent.diagnostics.base import HOST
    from l4agent.diagnostics.registry import all_checks

    result = {key: dict(value) for key, value in diagnostics.items()}
    for check in all_checks():
        if HOST in check.engines:
            result.setdefault(check.id, {})["enabled"] = False
    return result


def _remote_hostname(session: Session, timeout: float) -> str:
    try:
        result = session.run("uname -n", timeout)
    except SshError:
        return ""
    name = result.stdout.decode("utf-8", "replace").strip()[:255]
    return "".join(ch for ch in name if ch.isprintable()) if result.exit_status == 0 else ""
