"""The collector model: metric specs, samples, problems and the Collector base class.

A collector's ``collect()`` yields :class:`Sample` objects, and :class:`Problem` objects for
anything it could not read (a failed query, a probe it could not run). Raising ends that
collector's run with an error entry; every other collector still reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

GAUGE = "gauge"
COUNTER = "counter"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A metric's name, type and help text, declared once beside the code that reads it.

    Calling the spec makes a sample: ``LOAD1(0.42)`` or ``CPU_SECONDS(12.5, cpu="0", mode="user")``.
    """

    name: str
    kind: str
    help: str

    def __post_init__(self) -> None:
        if self.kind == COUNTER and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name} must end in _total")

    def __call__(self, value: float, **labels: str) -> Sample:
        return Sample(self, labels, float(value))


def gauge(name: str, help: str) -> MetricSpec:  # noqa: A002 - prometheus' own word
    return MetricSpec(name, GAUGE, help)


def counter(name: str, help: str) -> MetricSpec:  # noqa: A002
    return MetricSpec(name, COUNTER, help)


@dataclass(slots=True)
class Sample:
    """One value of one series. Label values are strings."""

    spec: MetricSpec
    labels: dict[str, str]
    value: float

    @property
    def name(self) -> str:
        return self.spec.name

    def to_dict(self) -> dict:
        return {"name": self.spec.name, "labels": dict(self.labels), "value": self.value}


@dataclass(frozen=True, slots=True)
class Problem:
    """Something a collector could not read; becomes an entry in ``errors``."""

    message: str
    target: str | None = None


class CollectorError(Exception):
    """Raised by a collector with a message fit to print (no secrets, no traceback)."""


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


def samples_only(items: Iterable[Sample | Problem]) -> Iterator[Sample]:
    return (item for item in items if isinstance(item, Sample))


@dataclass
class CollectorStatus:
    """How one collector's last run went."""

    collector: str
    target: str
    success: bool
    duration_seconds: float
    errors: list[str] = field(default_factory=list)
