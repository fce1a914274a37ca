"""The names of every metric the agent exports, for checking ``[[thresholds]]`` ``metric``.

Every metric is a :class:`~l4agent.core.samples.MetricSpec` declared at module level beside the
code that reads it (``LOAD1 = gauge("l4agent_load1", ...)``); the modules below declare them all
(a test greps the source for ``gauge(``/``counter(`` and fails when one is missing here). Only
these modules are imported, once, and only when a threshold names a metric.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import cache
from typing import Any

from l4agent.core.samples import MetricSpec

#: modules that declare MetricSpecs (collectors and the daemon's services)
METRIC_MODULES: tuple[str, ...] = (
    "l4agent.collectors.runner",
    "l4agent.collectors.system",
    "l4agent.collectors.network",
    "l4agent.collectors.probes",
    "l4agent.collectors.database.metrics",
    "l4agent.collectors.appserver.collector",
    "l4agent.collectors.appserver.process_group",
    "l4agent.collectors.appserver.tomcat",
    "l4agent.agent.diagnostics_service",
    "l4agent.agent.records.service",
    "l4agent.agent.remote.output",
)


def _specs(values: Iterable[Any], depth: int = 0) -> Iterable[MetricSpec]:
    for value in values:
        if isinstance(value, MetricSpec):
            yield value
        elif depth < 2 and isinstance(value, dict):
            yield from _specs(value.values(), depth + 1)
        elif depth < 2 and isinstance(value, list | tuple | frozenset | set):
            yield from _specs(value, depth + 1)


@cache
def exported_metric_names() -> frozenset[str]:
    names: set[str] = set()
    for module_name in METRIC_MODULES:
        module = importlib.import_module(module_name)
        names.update(spec.name for spec in _specs(vars(module).values()))
    return frozenset(names)
