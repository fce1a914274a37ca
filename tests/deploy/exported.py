"""What the agent exports, read from its code, and which metrics a PromQL expression names.

The shipped Prometheus rules and the Grafana dashboard may only name metrics that exist:
every ``MetricSpec`` declared at module level anywhere in the four packages, plus the two
that the daemon's plugins export without a collector behind them.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

from l4agent.core.samples import MetricSpec

PACKAGES = ("agent", "collectors", "diagnostics", "exporters")
# Exported by daemon plugins from their own state (diagnostics service, work-record store).
PLUGIN_METRICS = {"l4agent_diagnostic_findings", "l4agent_work_records_open"}
# Series Prometheus makes itself for every target.
PROMETHEUS_METRICS = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def exported_metric_names() -> set[str]:
    """Names of every MetricSpec defined at module level in the agent's packages."""
    names = set(PLUGIN_METRICS)
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        modules = [package_name] + [info.name for info in pkgutil.walk_packages(package.__path__, package_name + ".")]
        for module_name in modules:
            if module_name.endswith("__main__"):
                continue  # running the CLI is not an import
            module = importlib.import_module(module_name)
            for value in vars(module).values():
                if isinstance(value, MetricSpec):
                    names.add(value.name)
    return names


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE)
_IDENTIFIER = re.compile(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(\s*\()?")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
             "group_right", "inf", "nan"}


def promql_metric_names(expr: str) -> set[str]:
    """Metric names an expression selects (not functions, keywords or label names)."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _LABEL_LISTS.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in _KEYWORDS or re.fullmatch(r"\d\w*", word):
            continue
        names.add(word)
    return names
