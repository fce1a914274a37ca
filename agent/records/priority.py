"""Priority of a work record: impact (the environment) x urgency (the severity), and its SLA.

| severity \\ environment | production | beta | qa | development |
|------------------------|------------|------|----|-------------|
| critical               | P1         | P2   | P3 | P3          |
| warning                | P2         | P3   | P4 | P4          |

Findings of the structural checks (``schema.*``: normalization, indexes on paper) are P3 when
critical and P4 when a warning in every environment: they are work for a planned change, not an
incident. A rule's own ``priority`` overrides the matrix. ``sla_due_at`` is the response target of the
priority (``[records.sla]``, defaults P1 4h, P2 8h, P3 3d, P4 10d) counted from the moment
the record opened or was escalated.
"""

from __future__ import annotations

PRIORITIES = ("P1", "P2", "P3", "P4")

# How much the environment matters (impact), 0 = most.
IMPACT = {"production": 0, "beta": 1, "qa": 2, "development": 2}
# How soon it must be looked at (urgency), 0 = most.
URGENCY = {"critical": 0, "warning": 1}
# impact x urgency -> priority; rows are impact, columns urgency.
MATRIX = (
    ("P1", "P2"),  # production
    ("P2", "P3"),  # beta: real users, not the whole customer
    ("P3", "P4"),  # qa, development
)


#: check families whose findings are structural (planned work, never an incident)
STRUCTURAL_FAMILIES = ("schema",)


def priority_for(severity: str, environment: str, override: str | None = None, check: str | None = None) -> str:
    """The priority of a breach of ``severity`` ("warning"/"critical") in ``environment``;
    ``check`` is the diagnostic behind a check rule (None for a metric rule)."""
    if override:
        return override
    if check and check.split(".")[0] in STRUCTURAL_FAMILIES:
        return "P3" if severity == "critical" else "P4"
    impact = IMPACT.get(environment, 0)
    urgency = URGENCY.get(severity, 1)
    return MATRIX[impact][urgency]


def more_urgent(a: str, b: str) -> str:
    """The more urgent of two priorities ("P1" beats "P2")."""
    return min(a, b, key=PRIORITIES.index)


def sla_due(priority: str, start: float, sla: dict[str, float]) -> float:
    """Epoch seconds by which a specialist must respond to a record of ``priority``."""
    return start + sla.get(priority, sla.get("P4", 10 * 86400.0))
