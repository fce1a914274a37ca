"""The Prometheus exposition: a custom prometheus-client Collector over the latest snapshot.

The web handler never collects: it renders whatever the collection loop last stored, so a
scrape costs a render, never a database round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric

from collectors.base import COUNTER, Sample
from collectors.snapshot import Snapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metric_families(samples: Iterable[Sample]) -> Iterator[Metric]:
    """Group samples by metric into prometheus-client families, in first-seen order."""
    families: dict[str, Metric] = {}
    for sample in samples:
        spec = sample.spec
        family = families.get(spec.name)
        if family is None:
            # prometheus-client names a counter family without its _total suffix.
            base = spec.name[: -len("_total")] if spec.kind == COUNTER else spec.name
            family = families[spec.name] = Metric(base, spec.help, spec.kind)
        family.add_sample(spec.name, {k: str(v) for k, v in sample.labels.items()}, sample.value)
    return iter(families.values())


class SnapshotCollector:
    """prometheus-client collector over ``source()``; ``extra()`` adds samples kept elsewhere
    (work-record counts, diagnostic findings) that change on their own schedule."""

    def __init__(self, source: Callable[[], Snapshot | None],
                 extra: Iterable[Callable[[], Iterable[Sample]]] = ()):
        self.source = source
        self.extra = list(extra)

    def add_source(self, extra: Callable[[], Iterable[Sample]]) -> None:
        self.extra.append(extra)

    def samples(self) -> list[Sample]:
        snapshot = self.source()
        samples = list(snapshot.samples) if snapshot else []
        for extra in self.extra:
            samples.extend(extra())
        return samples

    def collect(self) -> Iterator[Metric]:
        return metric_families(self.samples())


def make_registry(collector: SnapshotCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def render(samples: Iterable[Sample]) -> bytes:
    """The text exposition of ``samples``."""
    registry = CollectorRegistry(auto_describe=False)

    class _Once:
        def collect(self) -> Iterator[Metric]:
            return metric_families(samples)

    registry.register(_Once())
    return generate_latest(registry)
