"""The Collector base class and how one collector's run went.

A collector's ``collect()`` yields samples, and problems for anything it could not read (a
failed query, a probe it could not run), from :mod:`l4agent.core.samples`. Raising ends that
collector's run with an error entry (its message printed as it is, so it must carry no secret);
every other collector still reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from l4agent.core.samples import Problem, Sample


@dataclass
class Collector:
    """Base class. Subclasses set ``name`` (the layer) and implement ``collect()``.

    ``target`` names what is collected from (a database target, an app server) and appears in
    error entries; ``timeout`` bounds one run in seconds.
    """

    name: str = "collector"
    target: str = ""
    timeout: float = 10.0

    def collect(self) -> Iterable[Sample | Problem]:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections or other resources (called when the daemon stops)."""

    @property
    def key(self) -> str:
        return f"{self.name}:{self.target}" if self.target else self.name


@dataclass
class CollectorStatus:
    """How one collector's last run went."""

    collector: str
    target: str
    success: bool
    duration_seconds: float
    errors: list[str] = field(default_factory=list)
