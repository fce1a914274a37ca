"""Report assembly: ``l4agent report`` and the live status page of ``serve``.

- ``gather``: the one adapter function per other part of the agent (collection, diagnostics,
  records, thresholds), feeding the inputs of :mod:`l4agent.exporters.report`
- ``status_page``: the daemon service serving ``/``, ``/records`` and ``/findings.json``
- ``mailer``: sending a report through the smtp sink

The renderings (HTML, Markdown, JSON), the report model and the comparison with earlier reports
live in :mod:`l4agent.exporters.report`.
"""

from __future__ import annotations

import logging
import time

from l4agent.agent.reporting import gather as sources
from l4agent.core.config import Config
from l4agent.exporters.report.compare import SummaryStore, compare, summary
from l4agent.exporters.report.inputs import HistoryView
from l4agent.exporters.report.model import Report, build_report

log = logging.getLogger(__name__)


def make_report(config: Config, since: float | None = None, keep_summary: bool = True) -> tuple[Report, list[str]]:
    """Collect, diagnose, read records and history, and build the report; compare it with the
    kept summary from ``since`` seconds ago. Returns the report and warnings for stderr."""
    from l4agent.collectors.registry import host_name

    warnings: list[str] = []
    snapshot = sources.collect(config)
    diagnosis = sources.diagnose(config)
    history = HistoryView.of_state_dir(config.agent.state_dir)
    try:
        report = build_report(config, host_name(config), snapshot, diagnosis, sources.records_from_store(config),
                              history, time.time(), breaches=sources.threshold_breaches(
                                  config, snapshot.samples if snapshot else [], host_name(config)))
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
