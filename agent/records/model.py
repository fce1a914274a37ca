"""A work record as the support process defines it (see "Work records" in the contract).

Times are epoch seconds inside the agent and ISO-8601 UTC strings outside (JSON, Markdown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from l4agent.core.units import iso_epoch

OPEN, RESOLVED, CLOSED = "open", "resolved", "closed"
STATUSES = (OPEN, RESOLVED, CLOSED)
FAILED, PASSED = "Failed", "Passed"

# Events a record emits to the sinks.
OPENED, NOTED, RESOLVED_EVENT, REOPENED, CLOSED_EVENT = "opened", "noted", "resolved", "reopened", "closed"


@dataclass
class Note:
    at: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"at": iso_epoch(self.at), "text": self.text}


@dataclass
class Record:
    """One L4 work record. ``problems``/``requests`` are short sentences (numbered when shown)."""

    host: str
    fingerprint: str
    rule: str
    target: str
    object: str
    title: str
    severity: str
    priority: str
    environment: str
    opened_at: float
    sla_due_at: float
    related: dict[str, Any]
    problems: list[str]
    requests: list[str]
    evidence: dict[str, Any]
    status: str = OPEN
    result: str = FAILED
    updated_at: float = 0.0
    resolved_at: float | None = None
    closed_at: float | None = None
    last_value: float | None = None  # the value at the last note, for "worse by value_step"
    last_noted_at: float = 0.0
    previous_id: int | None = None
    id: int | None = None
    notes: list[Note] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape (plus a few extra fields a script may want)."""
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "status": self.status,
            "priority": self.priority,
            "environment": self.environment,
            "opened_at": iso_epoch(self.opened_at),
            "sla_due_at": iso_epoch(self.sla_due_at),
            "host": self.host,
            "related": self.related,
            "problems": list(self.problems),
            "requests": list(self.requests),
            "result": self.result,
            "evidence": self.evidence,
            "notes": [note.to_dict() for note in self.notes],
            "title": self.title,
            "rule": self.rule,
            "target": self.target,
            "object": self.object,
            "severity": self.severity,
            "updated_at": iso_epoch(self.updated_at),
            "resolved_at": iso_epoch(self.resolved_at),
            "closed_at": iso_epoch(self.closed_at),
            "previous_id": self.previous_id,
        }
