"""``remote diagnose --record``: each reached host's findings go into the local work-record store,
under that host's name, through the same engine the daemon uses (open once, note changes,
resolve when a re-test is clean).

Which (check, target) pairs ran is worked out here, since a remote host's targets are not this
machine's config; the rest is :func:`agent.records.service.record_findings`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from l4agent.agent.remote.fleet import HostResult
from l4agent.agent.remote.hosts import HostSpec
from l4agent.agent.remote.output import findings_from_json
from l4agent.core.config import Config
from l4agent.diagnostics.base import Finding


def ran_pairs(findings: Iterable[Finding], errors: Iterable[dict], targets: Iterable[str],
              prefixes: Sequence[str]) -> set[tuple[str, str]]:
    """(check, target) pairs that ran cleanly: a finding that is gone recovers only there.

    Every selected check counts as run on every target the host reported on (findings, errors,
    or the inventory's targets), except the pairs with an error and targets that could not be
    reached at all (an error without a check).
    """
    from l4agent.diagnostics.registry import select

    findings, errors = list(findings), list(errors)
    seen = set(targets) | {f.target for f in findings} | {str(e.get("target")) for e in errors if e.get("target")}
    unreachable = {str(e.get("target")) for e in errors if not e.get("check")}
    failed = {(str(e.get("check")), str(e.get("target"))) for e in errors if e.get("check")}
    return {(check.id, target) for check in select(tuple(prefixes)) for target in seen - unreachable} - failed


def record_findings(config: Config, results: Sequence[HostResult], specs: Sequence[HostSpec],
                    prefixes: Sequence[str] = ()) -> list[str]:
    """Feed every ok host's findings to the record engine; returns one line per host changed."""
    from l4agent.agent.records import service
    from l4agent.agent.records.engine import Origin
    from l4agent.diagnostics.runner import DiagnoseResult

    by_name = {spec.name: spec for spec in specs}
    lines: list[str] = []
    for result in results:
        if not result.ok or not result.result:
            continue
        # Records are keyed by the inventory name, not by the name the machine gives itself: two
        # inventory entries on one machine are two sets of records, never one with contradicting notes.
        host = result.host
        own_name = str(result.result.get("host") or host)
        findings = [_renamed(f, own_name, host) for f in findings_from_json(result.result)]
        errors = [{**e, "target": host} if e.get("target") == own_name else e
                  for e in result.result.get("errors") or [] if isinstance(e, dict)]
        spec = by_name.get(result.host)
        # Agentless: the inventory's databases (host checks do not run); agent mode: the
        # host checks ran on the host itself, its databases show in findings and errors.
        targets = [db.name for db in spec.databases] if spec and result.mode == "agentless" else [host]
        diagnosed = DiagnoseResult(host=host, started_at=str(result.result.get("started_at") or ""),
                                   duration_seconds=0.0, findings=findings, errors=errors)
        origin = Origin(host, str(spec.address) if spec else host, spec.status_url if spec else None)
        changes = service.record_findings(config, diagnosed, host=host,
                                          ran=ran_pairs(findings, errors, targets, prefixes), origin=origin)
        if changes:
            kinds = ", ".join(sorted({f"{sum(1 for c in changes if c.kind == k)} {k}" for k in {c.kind for c in changes}}))
            lines.append(f"{result.host}: work records {kinds}")
    return lines


def _renamed(finding: Finding, own_name: str, name: str) -> Finding:
    """The finding with the machine's own name (host checks' target) replaced by the inventory name."""
    if finding.target != own_name:
        return finding
    return dataclasses.replace(finding, target=name)
