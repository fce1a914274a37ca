"""One finding per problem: the schema checks whose advice is the same for every object they
flag (no primary key, very wide tables, foreign keys without an index) report one finding per
catalog, "N tables without a primary key", with the objects in its evidence.

The finding's ``object`` is the catalog, so its key (check, target, catalog) stays the same
while tables join or leave the group: one work record per problem, not one per table. Each
member's own statement is in the evidence (``fix``), largest tables first; evidence lists are
capped (base.EVIDENCE_MAX_ROWS), and ``count`` says how many there are in all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from l4agent.diagnostics.base import SEVERITY_RANK
from l4agent.diagnostics.schema.catalog import Table

#: how many member names a summary spells out before "…"
SUMMARY_NAMES = 3


@dataclass
class Member:
    """One flagged object of a group: its table, its severity, its own fix and figures."""

    table: Table
    severity: str
    object: str  # fully qualified: catalog.schema.table[.constraint]
    name: str  # what the summary lists: the table's name, or table.constraint
    fix: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_evidence(self) -> dict[str, Any]:
        return {"object": self.object, **self.evidence, "fix": self.fix}


@dataclass
class Group:
    catalog: str
    members: list[Member]

    @property
    def severity(self) -> str:
        return max((m.severity for m in self.members), key=SEVERITY_RANK.__getitem__)

    def names(self) -> str:
        """``a, b, c`` or ``a, b, c …`` for the summary."""
        shown = [m.name for m in self.members[:SUMMARY_NAMES]]
        return ", ".join(shown) + (" …" if len(self.members) > SUMMARY_NAMES else "")

    def evidence(self, key: str = "tables") -> dict[str, Any]:
        return {"count": len(self.members), key: [m.to_evidence() for m in self.members]}


def by_catalog(members: Sequence[Member]) -> Iterator[Group]:
    """Members grouped per catalog, in catalog order; within a group the most severe first,
    then the largest tables (unknown row counts last), then by name."""
    groups: dict[str, list[Member]] = {}
    for member in members:
        groups.setdefault(member.table.catalog, []).append(member)
    for catalog, found in groups.items():
        found.sort(key=lambda m: (-SEVERITY_RANK[m.severity], m.table.rows is None, -(m.table.rows or 0),
                                  m.object))
        yield Group(catalog, found)


