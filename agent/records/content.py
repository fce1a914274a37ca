"""What a work record says about a breach: title, Related, Problems, Requests, Evidence, notes.

Short sentences a specialist can hand to L3 as they are. Everything passes through
:func:`scrub` before it is stored, so no secret reaches a record, a sink or a screen.
"""

from __future__ import annotations

import re
from typing import Any

from l4agent.agent.thresholds import Reading, describe_level
from l4agent.core.config import ThresholdConfig
from l4agent.core.durations import format_duration
from l4agent.core.redact import redact
from l4agent.core.units import format_value

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`(])")


def scrub(value: Any) -> Any:
    """``value`` with every string in it (keys too) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {scrub(str(k)): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def sentences(text: str | None) -> list[str]:
    """A recommendation split into short sentences, each ending with a full stop."""
    if not text:
        return []
    parts = [part.strip() for part in _SENTENCE_END.split(text.strip()) if part.strip()]
    # A part ending with a SQL statement keeps its ";" alone: "...;." would not paste.
    return [part if part[-1] in ".!?;" else part + "." for part in parts]


def value_text(reading: Reading) -> str:
    if reading.value is None:
        return ""
    return format_value(reading.rule.metric or "", reading.value)


def what(rule: ThresholdConfig) -> str:
    """The thing measured, for titles: the rule's summary, else its metric or check."""
    return rule.summary or rule.metric or rule.check or rule.name


def title(reading: Reading) -> str:
    where = reading.target
    if reading.object not in (reading.target, reading.rule.metric):
        where = f"{reading.target}: {reading.object}"
    return f"{what(reading.rule)} on {where}"


def related(reading: Reading, host: str, url: str | None, previous_id: int | None) -> dict[str, Any]:
    data: dict[str, Any] = {"host": host, "target": reading.target, "object": reading.object, "url": url}
    if previous_id is not None:
        data["previous_record"] = previous_id
    return data


def problems(reading: Reading, severity: str, since: float | None) -> list[str]:
    rule = reading.rule
    if reading.finding is not None:
        found = [_sentence(reading.finding.summary),
                 f"Check {rule.check} found it on {reading.target} ({severity})."]
        return found
    measured = f"{rule.metric} is {value_text(reading)}, {describe_level(rule, severity)}."
    if rule.summary:
        where = reading.object if reading.object != rule.metric else reading.target
        lines = [f"{rule.summary[:1].upper()}{rule.summary[1:]} on {where}: {measured}"]
    else:
        lines = [measured if reading.object == rule.metric else f"On {reading.object}: {measured}"]
    if rule.for_seconds:
        from l4agent.core.units import iso_epoch

        lines.append(f"It held at every check for at least {format_duration(rule.for_seconds)}"
                     + (f", since {iso_epoch(since)}." if since else "."))
    return lines


def requests(reading: Reading) -> list[str]:
    rule = reading.rule
    if reading.finding is not None:
        asked = sentences(rule.recommendation) or sentences(reading.finding.recommendation)
        asked.append(f"Re-test with `l4agent diagnose --check {rule.check}`: the agent resolves this record "
                     "once the check no longer reports it.")
        return asked
    asked = sentences(rule.recommendation) or [f"Find out why {rule.metric} is {rule.direction} the line "
                                               "and bring it back."]
    asked.append(f"The agent re-tests every collection and resolves this record once the value is back "
                 f"at or {'below' if rule.direction == 'above' else 'above'} {_recovery_line(rule)}.")
    return asked


def evidence(reading: Reading, severity: str, since: float | None) -> dict[str, Any]:
    rule = reading.rule
    if reading.finding is not None:
        finding = reading.finding
        return {"rule": rule.name, "check": finding.check, "severity": finding.severity, "summary": finding.summary,
                "target": finding.target, "object": finding.object, "details": finding.evidence}
    from l4agent.core.units import iso_epoch

    data: dict[str, Any] = {
        "rule": rule.name,
        "metric": rule.metric,
        "labels": reading.labels or None,
        "value": reading.value,
        "value_text": value_text(reading),
        "direction": rule.direction,
        "warning": rule.warning,
        "critical": rule.critical,
        "severity": severity,
    }
    if rule.for_seconds:
        data["for"] = format_duration(rule.for_seconds)
    if rule.recovery_margin:
        data["recovery_margin"] = rule.recovery_margin
    if since is not None:
        data["breached_since"] = iso_epoch(since)
    return data


def reading_text(reading: Reading, severity: str | None) -> str:
    """ "value 93.1 % (critical above 95.0 %)" or the finding's summary."""
    if reading.finding is not None:
        return f"{reading.finding.summary} ({severity or reading.finding.severity})"
    level = f" ({describe_level(reading.rule, severity)})" if severity else ""
    return f"value {value_text(reading)}{level}"


def _recovery_line(rule: ThresholdConfig) -> str:
    line = rule.warning if rule.warning is not None else rule.critical
    if line is None:
        return "the line"
    margin = rule.recovery_margin or 0.0
    edge = line - margin if rule.direction == "above" else line + margin
    return format_value(rule.metric or "", edge)


def _sentence(text: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."
