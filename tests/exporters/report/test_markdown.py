"""The Markdown report: the same sections as the page, escaped for a work record or a mail."""

from __future__ import annotations

from l4agent.exporters.report.markdown import render_markdown
from l4agent.exporters.report.model import build_report
from tests.exporters.report.inputs import (
    NOW,
    breaches,
    config,
    diagnosis,
    disk_forecast,
    finding,
    no_history,
    no_records,
    snapshot,
    top_query,
)


def test_sections_verdict_findings_and_layers():
    snap = snapshot(root_used=0.97)
    report = build_report(config(), "db1", snap, diagnosis(finding(), top_query(3000, "SELECT 1"), disk_forecast()),
                          no_records(), no_history(), NOW, breaches=breaches(snap))
    text = render_markdown(report)
    assert text.startswith("# l4agent health report: db1\n")
    assert "## Verdict: Critical" in text
    for heading in ("## Findings", "### Thresholds breached now", "### Warning (1)", "## Open work records",
                    "## Disk-full forecast", "## Top queries by total time", "## OS", "## Network", "## Database",
                    "## App server"):
        assert heading in text, heading
    assert "What to do: add a primary key" in text
    assert "| / | /dev/root | ext4 | 100.0 GiB | 97.0 % | 3.0 GiB |" in text


def test_outside_text_cannot_break_tables_or_inject_html():
    report = build_report(config(), "db1", snapshot(),
                          diagnosis(finding(obj="erp.dbo.<script>", summary="a | b <script>alert(1)</script>")),
                          no_records(), no_history(), NOW)
    text = render_markdown(report)
    assert "<script>" not in text.replace("`erp.dbo.<script>`", "")
    assert "a \\| b &lt;script&gt;" in text
