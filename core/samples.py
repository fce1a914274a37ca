"""The sample model at the bottom of everything: metric specs, samples and problems.

A collector's ``collect()`` yields :class:`Sample` objects, and :class:`Problem` objects for
anything it could not read; services of the daemon export samples too. Imports nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

GAUGE = "gauge"
COUNTER = "counter"

#: the name of every MetricSpec made in this process (see :func:`declared_metric_names`)
_DECLARED: set[str] = set()


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
        _DECLARED.add(self.name)

    def __call__(self, value: float, **labels: str) -> Sample:
        return Sample(self, labels, float(value))


def declared_metric_names() -> frozenset[str]:
    """Names of the metrics declared so far (by the modules imported so far)."""
    return frozenset(_DECLARED)


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
