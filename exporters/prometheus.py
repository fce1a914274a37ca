"""The Prometheus text exposition of the latest snapshot.

The web handler never collects: it serves whatever the collection loop last stored, so a
scrape costs a render, never a database round trip. The snapshot changes once per interval,
so its part of the exposition is rendered once per snapshot (the daemon renders it right after
collecting) and a scrape copies those bytes; only the small extra sources (work records,
findings) that change on their own schedule are rendered per scrape.

:func:`render` writes the format itself, byte for byte what prometheus-client's
``generate_latest`` writes for the same samples (``tests/exporters/test_prometheus_render.py``
holds it to that), at a fraction of the cost and without importing prometheus-client (~60 ms of
a cron command's start). A metric or label name outside the classic character set, which
prometheus-client escapes, is handed to prometheus-client itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator

from l4agent.core.samples import COUNTER, Sample
from l4agent.core.snapshot import Snapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LEGACY_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LEGACY_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def metric_families(samples: Iterable[Sample]) -> Iterator:
    """Group samples by metric into prometheus-client families, in first-seen order."""
    from prometheus_client.metrics_core import Metric

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


def go_float(value: float) -> str:
    """A sample value as prometheus-client (and Go) writes it: 1.0, 2.5e+07, +Inf, NaN."""
    value = float(value)
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if value != value:  # NaN
        return "NaN"
    text = repr(value)
    dot = text.find(".")
    # Go switches to exponents sooner than Python (positive values only, as prometheus-client).
    if value > 0 and dot > 6:
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1:]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


def _escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _needs_client_escaping(samples: list[Sample]) -> bool:
    """True when a metric or label name is outside the classic set (prometheus-client escapes it)."""
    names = {s.spec.name for s in samples}
    labels = {k for s in samples for k in s.labels}
    return (any(not _LEGACY_METRIC_NAME.fullmatch(n) for n in names)
            or any(not _LEGACY_LABEL_NAME.fullmatch(k) for k in labels))


def render(samples: Iterable[Sample]) -> bytes:
    """The text exposition of ``samples``: one family per metric in first-seen order, HELP and
    TYPE lines, labels sorted by name."""
    samples = list(samples)
    if _needs_client_escaping(samples):
        return _render_with_client(samples)
    families: dict[str, list[str]] = {}
    for sample in samples:
        spec = sample.spec
        lines = families.get(spec.name)
        if lines is None:
            help_text = spec.help.replace("\\", "\\\\").replace("\n", "\\n")
            lines = families[spec.name] = [f"# HELP {spec.name} {help_text}\n# TYPE {spec.name} {spec.kind}\n"]
        if sample.labels:
            labels = ",".join(f'{k}="{_escape_label_value(str(v))}"' for k, v in sorted(sample.labels.items()))
            lines.append(f"{spec.name}{{{labels}}} {go_float(sample.value)}\n")
        else:
            lines.append(f"{spec.name} {go_float(sample.value)}\n")
    return "".join(line for lines in families.values() for line in lines).encode("utf-8")


def _render_with_client(samples: list[Sample]) -> bytes:
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import generate_latest

    registry = CollectorRegistry(auto_describe=False)

    class _Once:
        def collect(self) -> Iterator:
            return metric_families(samples)

    registry.register(_Once())
    return generate_latest(registry)


class SnapshotCollector:
    """The exposition over ``source()`` (the latest snapshot); ``extra()`` callables add samples
    kept elsewhere (work-record counts, diagnostic findings) that change on their own schedule.

    Also a prometheus-client collector (``collect()``), for :func:`make_registry`."""

    def __init__(self, source: Callable[[], Snapshot | None],
                 extra: Iterable[Callable[[], Iterable[Sample]]] = ()):
        self.source = source
        self.extra = list(extra)
        # (snapshot, number of its samples, rendered bytes, metric names): replaced as a whole,
        # so a scrape on another thread reads either the old or the new rendering, never half.
        self._rendered: tuple[Snapshot | None, int, bytes, frozenset[str]] = (None, 0, b"", frozenset())

    def add_source(self, extra: Callable[[], Iterable[Sample]]) -> None:
        self.extra.append(extra)

    def samples(self) -> list[Sample]:
        snapshot = self.source()
        samples = list(snapshot.samples) if snapshot else []
        for extra in self.extra:
            samples.extend(extra())
        return samples

    def collect(self) -> Iterator:
        return metric_families(self.samples())

    def snapshot_exposition(self, snapshot: Snapshot | None) -> tuple[bytes, frozenset[str]]:
        """``snapshot``'s part of the exposition and its metric names, rendered once per snapshot."""
        if snapshot is None:
            return b"", frozenset()
        cached, count, text, names = self._rendered
        if cached is snapshot and count == len(snapshot.samples):
            return text, names
        samples = list(snapshot.samples)
        text, names = render(samples), frozenset(s.spec.name for s in samples)
        self._rendered = (snapshot, len(samples), text, names)
        return text, names

    def exposition(self) -> bytes:
        """What /metrics serves: the stored snapshot's rendering plus the extra sources'."""
        snapshot = self.source()
        text, names = self.snapshot_exposition(snapshot)
        extra = [sample for source in self.extra for sample in source()]
        if not extra:
            return text
        if any(sample.spec.name in names for sample in extra):
            # A metric both in the snapshot and in an extra source is one family: render together.
            return render([*(snapshot.samples if snapshot else ()), *extra])
        return text + render(extra)


def make_registry(collector: SnapshotCollector):
    """A prometheus-client registry over ``collector`` (for prometheus-client's own tools)."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
