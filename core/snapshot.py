"""A snapshot: the samples and errors of one collection round, as exported and printed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from l4agent.core.samples import Sample
from l4agent.core.units import iso_utc


@dataclass
class Snapshot:
    """Everything one collection round produced. ``collected_at`` is UTC."""

    host: str
    collected_at: dt.datetime
    samples: list[Sample] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "host": self.host,
            "collected_at": iso_utc(self.collected_at),
            "samples": [sample.to_dict() for sample in self.samples],
            "errors": list(self.errors),
        }

    def find(self, name: str, **labels: str) -> list[Sample]:
        """Samples of metric ``name`` whose labels include ``labels``."""
        return [s for s in self.samples
                if s.spec.name == name and all(s.labels.get(k) == v for k, v in labels.items())]

    def value(self, name: str, **labels: str) -> float | None:
        found = self.find(name, **labels)
        return found[0].value if found else None
