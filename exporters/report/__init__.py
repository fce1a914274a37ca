"""Health reports: ``l4agent report`` for cron and the live status page of ``serve``.

- ``model``: the report's data, built once (:func:`model.build_report`)
- ``sources``: the one adapter function per other part of the agent (records, history, ...)
- ``html`` / ``markdown`` / ``Report.to_dict()``: the three renderings; ``charts``: inline SVG
- ``compare``: "new / resolved since last report" from summaries kept in state_dir
- ``mail``: sending it through the smtp sink
- ``trends``: records CPU and memory into the history for the sparklines (inside ``serve``)
- ``status_page``: the daemon plugin serving ``/``, ``/records`` and ``/findings.json``
"""

from __future__ import annotations

import logging

from agent.config import Config
from exporters.report import sources
from exporters.report.compare import SummaryStore, compare, summary
from exporters.report.model import Report, build_report

log = logging.getLogger(__name__)


def make_report(config: Config, since: float | None = None, keep_summary: bool = True) -> tuple[Report, list[str]]:
    """Collect, diagnose, read records and history, and build the report; compare it with the
    kept summary from ``since`` seconds ago. Returns the report and warnings for stderr."""
    from collectors.registry import host_name

    warnings: list[str] = []
    snapshot = sources.collect(config)
    diagnosis = sources.diagnose(config)
    history = sources.HistoryView.of_state_dir(config.agent.state_dir)
    try:
        report = build_report(config, host_name(config), snapshot, diagnosis, sources.records_from_store(config),
                              history, sources.now())
    finally:
        history.close()
    store = SummaryStore(config.agent.state_dir)
    if since is not None:
        baseline = store.baseline(since, report.generated_at)
        if baseline is None:
            warnings.append(f"--since: no earlier report kept in {config.agent.state_dir}; nothing to compare with")
        else:
            report.comparison = compare(report.problems(), baseline)
    if keep_summary:
        try:
            store.save(summary(report.generated_at, report.verdict, report.problems()))
        except OSError as exc:
            warnings.append(f"cannot keep this report's summary in {config.agent.state_dir} ({exc.strerror}); "
                            "--since will have nothing to compare with next time")
    return report, warnings
