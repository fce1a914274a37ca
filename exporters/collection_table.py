"""``l4agent collect --format table``: the collection as a person reads it at a glance.

One section per layer (collector), one row per series; per-CPU counters are summed into one
row per mode, since a 64-core host would otherwise fill the screen with CPU lines.
"""

from __future__ import annotations

from collections import defaultdict

from l4agent.core.snapshot import Snapshot
from l4agent.core.text import printable
from l4agent.core.units import format_value, iso_utc
from l4agent.exporters.tables import render_table

# Metrics that appear under a section of their own, and the label summed away in the table.
_SUMMED_LABEL = {"l4agent_cpu_seconds_total": "cpu"}
_SELF = "l4agent_"


def _section(name: str) -> str:
    for prefix, title in (
        ("l4agent_up", "agent"), ("l4agent_build_info", "agent"), ("l4agent_collector", "agent"),
        ("l4agent_collections", "agent"),
        ("l4agent_network_", "network"), ("l4agent_tcp_", "network"), ("l4agent_listening_", "network"),
        ("l4agent_probe_", "probes"),
        ("l4agent_database_", "database"), ("l4agent_backup_", "database"),
        ("l4agent_appserver_", "app server"), ("l4agent_process_", "app server"),
    ):
        if name.startswith(prefix):
            return title
    return "os"


def render_collection(snapshot: Snapshot) -> str:
    rows_by_section: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    summed: dict[tuple[str, tuple], float] = {}
    for sample in snapshot.samples:
        name = sample.spec.name
        drop = _SUMMED_LABEL.get(name)
        if drop:
            key = (name, tuple(sorted((k, v) for k, v in sample.labels.items() if k != drop)))
            summed[key] = summed.get(key, 0.0) + sample.value
            continue
        labels = ", ".join(f"{k}={v}" for k, v in sample.labels.items())
        rows_by_section[_section(name)].append((name.removeprefix(_SELF), format_value(name, sample.value), labels))
    for (name, labels), value in summed.items():
        text = ", ".join(f"{k}={v}" for k, v in labels) + " (all cpus)"
        rows_by_section[_section(name)].append((name.removeprefix(_SELF), format_value(name, value), text))

    out = [f"l4agent collect on {printable(snapshot.host)} at {iso_utc(snapshot.collected_at)}"]
    order = ["os", "network", "probes", "database", "app server", "agent"]
    for section in order + sorted(set(rows_by_section) - set(order)):
        rows = rows_by_section.get(section)
        if not rows:
            continue
        out.append("")
        out.append(f"== {section} ==")
        out.append(render_table(["metric", "value", "labels"], rows, align_right=(1,)))
    out.append("")
    if snapshot.errors:
        out.append(f"== errors ({len(snapshot.errors)}) ==")
        out.append(render_table(["collector", "target", "error"],
                                [(e["collector"], e.get("target") or "", e["error"]) for e in snapshot.errors],
                                max_width=120))
    else:
        out.append("no errors")
    return "\n".join(out)
