"""What ``l4agent remote`` prints: the JSON document, or per host its collection or findings
table, then one result line per host and the recap (ok / failed / unreachable).

Results are rendered from their JSON form, so agent-mode and agentless hosts look the same;
entries a host sent in a shape we cannot read are skipped, never a crash.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence

from l4agent.agent.remote.fleet import STATUSES, HostResult
from l4agent.core.durations import format_duration
from l4agent.core.samples import COUNTER, GAUGE, MetricSpec, Sample
from l4agent.core.snapshot import Snapshot
from l4agent.core.text import printable
from l4agent.core.units import utcnow
from l4agent.diagnostics.base import Finding
from l4agent.exporters.tables import render_table


def to_json(results: Sequence[HostResult]) -> str:
    return json.dumps({"hosts": [r.to_dict() for r in results]}, indent=1)


def snapshot_from_json(result: dict) -> Snapshot:
    """A Snapshot from ``collect --format json`` output (for the table)."""
    samples = []
    for item in result.get("samples") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        value, labels = item.get("value"), item.get("labels") or {}
        if isinstance(value, bool) or not isinstance(value, int | float) or not isinstance(labels, dict):
            continue
        name = item["name"]
        kind = COUNTER if name.endswith("_total") else GAUGE
        samples.append(Sample(MetricSpec(name, kind, ""), {str(k): str(v) for k, v in labels.items()}, float(value)))
    errors = [e for e in result.get("errors") or [] if isinstance(e, dict) and isinstance(e.get("error"), str)]
    errors = [{"collector": str(e.get("collector") or ""), "target": e.get("target"), "error": e["error"]} for e in errors]
    return Snapshot(host=str(result.get("host") or "?"), collected_at=_parse_time(result.get("collected_at")),
                    samples=samples, errors=errors)


def findings_from_json(result: dict) -> list[Finding]:
    """Findings from ``diagnose --format json`` output; malformed entries are skipped."""
    findings = []
    for item in result.get("findings") or []:
        if not isinstance(item, dict):
            continue
        try:
            findings.append(Finding(
                check=str(item["check"]), severity=str(item["severity"]), target=str(item.get("target") or ""),
                object=str(item.get("object") or ""), summary=str(item.get("summary") or ""),
                recommendation=str(item.get("recommendation") or ""),
                evidence=item.get("evidence") if isinstance(item.get("evidence"), dict) else {},
            ))
        except (KeyError, ValueError, TypeError):
            continue
    return findings


def _errors(result: dict) -> list[dict]:
    return [e for e in result.get("errors") or [] if isinstance(e, dict) and isinstance(e.get("error"), str)]


def _coverage(result: dict) -> list[dict]:
    return [c for c in result.get("coverage") or [] if isinstance(c, dict)]


def not_examined(result: dict) -> list[dict]:
    """The ``coverage`` items a diagnose result says it could not examine ({what, why, target})."""
    items = []
    for entry in _coverage(result):
        for item in entry.get("not_examined") or []:
            if isinstance(item, dict):
                items.append({"target": entry.get("target"), "what": str(item.get("what") or ""),
                              "why": str(item.get("why") or "")})
    return items


def nothing_examined(result: dict) -> bool:
    """A diagnose result with no finding and no examined count, which names what it could not
    examine: never "0 findings" as if all were well."""
    if findings_from_json(result) or not not_examined(result):
        return False
    return not any(isinstance(c.get("examined"), dict) and any(c["examined"].values()) for c in _coverage(result))


def target_unreachable(result: HostResult, action: str) -> bool:
    """True when a reached host reports a target it could not read, as the local commands exit
    3 for: any collector error (collect), a database that could not be connected or anything
    the result's coverage says was not examined (diagnose)."""
    if not result.ok or not result.result:
        return False
    errors = _errors(result.result)
    if action == "collect":
        return bool(errors)
    return any(not e.get("check") for e in errors) or bool(not_examined(result.result))


def _parse_time(text: object) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return utcnow()


def summary(result: HostResult, action: str) -> str:
    """What a host's line says after its status: counts, or the error."""
    if not result.ok or result.result is None:
        return result.error or "no result"
    errors = len(_errors(result.result))
    if action == "collect":
        what = f"{len(result.result.get('samples') or [])} samples"
    else:
        findings = findings_from_json(result.result)
        by = {s: sum(1 for f in findings if f.severity == s) for s in ("critical", "warning", "info")}
        what = f"{len(findings)} findings" + (
            f" ({', '.join(f'{n} {s}' for s, n in by.items() if n)})" if findings else "")
        if nothing_examined(result.result):
            return f"nothing examined: {not_examined(result.result)[0]['why']}"
    return f"{what}, {errors} error{'s' if errors != 1 else ''}"


def recap_counts(results: Sequence[HostResult]) -> dict[str, int]:
    return {status: sum(1 for r in results if r.status == status) for status in STATUSES}


def recap_line(results: Sequence[HostResult]) -> str:
    return "  ".join(f"{status}={count}" for status, count in recap_counts(results).items())


def render_results(results: Sequence[HostResult], action: str, elapsed: float) -> str:
    """Each host's table, then one line per host and the recap."""
    from l4agent.exporters.collection_table import render_collection
    from l4agent.exporters.findings import findings_table

    out: list[str] = []
    for r in results:
        mode = r.mode or "-"
        out.append(f"=== {r.host}  [{r.status}, {mode}, {format_duration(r.duration_seconds)}] ===")
        if r.ok and r.result is not None:
            if action == "collect":
                out.append(render_collection(snapshot_from_json(r.result)))
            else:
                duration = r.result.get("duration_seconds")
                duration = float(duration) if isinstance(duration, int | float) and math.isfinite(duration) else 0.0
                table = findings_table(findings_from_json(r.result), _errors(r.result),
                                       str(r.result.get("host") or r.host), duration)
                if nothing_examined(r.result):  # never "nothing to report" when nothing was looked at
                    table = "\n".join(line for line in table.splitlines() if line != "nothing to report")
                out.append(table)
                out += [f"not examined: {item['target'] or r.host} {item['what']}: {item['why']}"
                        for item in not_examined(r.result)]
        else:
            out.append(f"error: {r.error}")
        out.append("")
    out.append(f"RECAP ({len(results)} host{'s' if len(results) != 1 else ''} in {format_duration(elapsed)})")
    rows = [(r.host, r.status, r.mode or "-", format_duration(r.duration_seconds), summary(r, action)) for r in results]
    out.append(render_table(["host", "status", "mode", "time", "result"], rows, max_width=100))
    out.append("")
    out.append(recap_line(results))
    # Host names, errors and every value came from outside: nothing in them acts on the terminal.
    return printable("\n".join(out), multiline=True)
