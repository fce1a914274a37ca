"""The names of every metric the agent exports, for checking ``[[thresholds]]`` ``metric``.

Every metric is a :class:`~l4agent.core.samples.MetricSpec` declared at module level beside the
code that reads it (``LOAD1 = gauge("l4agent_load1", ...)``); the modules below declare them all
(a test greps the source for ``gauge(``/``counter(`` and fails when one is missing here); every
MetricSpec made registers its name in :mod:`l4agent.core.samples`. The modules are imported
once, and only when a threshold names a metric.
"""

from __future__ import annotations

import importlib
from functools import cache

from l4agent.core.samples import declared_metric_names

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
    # figures checks measure, exported by serve after each diagnostics run
    "l4agent.diagnostics.caching.plan_cache",
    "l4agent.diagnostics.lifecycle.end_of_support",
)


@cache
def _import_declaring_modules() -> None:
    for module_name in METRIC_MODULES:
        importlib.import_module(module_name)


def exported_metric_names() -> frozenset[str]:
    """Every metric of the modules above, and any other MetricSpec declared in this process
    (a collector a test or an extension adds)."""
    _import_declaring_modules()
    return declared_metric_names()
