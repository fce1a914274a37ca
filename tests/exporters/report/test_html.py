"""The HTML report: one self-contained page (no script, no external asset), the verdict first,
and everything from outside escaped: a table named <script> is text, never markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from l4agent.exporters.report.compare import Comparison
from l4agent.exporters.report.html import render_html, render_records_page
from l4agent.exporters.report.inputs import RecordsView
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

HOSTILE = '<script>alert("x")</script>'


class Elements(HTMLParser):
    """Tags and the text of a page, as a browser's parser sees them."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]

    def handle_data(self, data):
        self.text.append(data)


def page(**kwargs) -> str:
    snap = kwargs.pop("snap", snapshot())
    diag = kwargs.pop("diag", diagnosis(finding()))
    records = kwargs.pop("records", no_records())
    report = build_report(config(), kwargs.pop("host", "db1"), snap, diag, records, no_history(), NOW,
                          breaches=breaches(snap))
    for key, value in kwargs.items():
        setattr(report, key, value)
    return render_html(report)


def test_self_contained_no_script_no_external_asset():
    html = page(diag=diagnosis(finding(), top_query(5000, "SELECT * FROM t"), disk_forecast()))
    elements = Elements(html)
    assert "script" not in elements.tags
    assert not {"link", "img", "iframe", "object", "embed"} & set(elements.tags)
    for tag, name, value in elements.attributes:
        assert not name.startswith("on"), (tag, name)
        if name in ("src", "href") and value:
            assert not re.match(r"^(https?:)?//", value), (tag, name, value)
    assert "@import" not in html and "url(" not in html
    assert "svg" in elements.tags  # charts are inline


def test_verdict_findings_and_recommendations_are_shown():
    html = page(diag=diagnosis(finding(severity="critical", summary="table has no primary key")))
    elements = Elements(html)
    text = " ".join(elements.text)
    assert 'id="verdict"' in html and 'class="verdict critical"' in html
    assert "Critical" in text
    assert "table has no primary key" in text
    assert "What to do:" in text and "add a primary key" in text
    assert text.index("Critical") < text.index("table has no primary key")


def test_everything_from_outside_is_escaped():
    records = RecordsView([{"id": 1, "priority": "P1", "title": HOSTILE, "target": HOSTILE, "object": HOSTILE,
                            "opened_at": HOSTILE, "sla_due_at": "2000-01-01T00:00:00Z", "notes": []}])
    html = page(host=HOSTILE,
                diag=diagnosis(finding(obj=f"erp.public.{HOSTILE}", summary=f"table {HOSTILE} has no primary key"),
                               top_query(1000, f"SELECT * FROM [{HOSTILE}]")),
                records=records)
    elements = Elements(html)
    assert "script" not in elements.tags
    assert "<script" not in html.lower()
    assert html.count("&lt;script&gt;") >= 5
    assert HOSTILE in " ".join(elements.text)  # shown as text, to the letter


def test_hostile_mountpoint_in_charts_is_escaped():
    from l4agent.collectors import system

    hostile = system.FS_USED_RATIO(0.5, mountpoint="/mnt/<svg onload=alert(1)>", device="x", fstype="ext4")
    html = page(snap=snapshot(extra=[hostile]))
    assert "<svg onload" not in html
    assert all(not name.startswith("on") for _, name, _ in Elements(html).attributes)


def test_comparison_section():
    html = page(comparison=Comparison(NOW - 86400, new=[{"severity": "warning", "text": "new thing"}],
                                      resolved=[{"severity": "critical", "text": "old thing"}]))
    text = " ".join(Elements(html).text)
    assert "New since last report" in text and "new thing" in text
    assert "Resolved since last report" in text and "old thing" in text


def test_overdue_records_are_marked():
    records = RecordsView([{"id": 3, "priority": "P2", "title": "disk space used", "target": "db1", "object": "/",
                            "opened_at": "2000-01-01T00:00:00Z", "sla_due_at": "2000-01-01T08:00:00Z", "notes": []}])
    html = page(records=records)
    # shown in the server's local time, UTC on hover
    assert '<span class="overdue"><time datetime="2000-01-01T08:00:00Z" title="2000-01-01T08:00:00Z (UTC)">' in html
    assert "</time> (overdue)</span>" in html


def test_records_page_escapes_and_lists_notes():
    html = render_records_page(HOSTILE, [{"id": 1, "priority": "P3", "title": HOSTILE, "status": "open",
                                          "severity": "warning", "problems": [HOSTILE], "requests": ["do it"],
                                          "notes": [{"at": "2026-11-22T07:00:00Z", "text": HOSTILE}],
                                          "evidence": {"sql": HOSTILE}}], None, "open", refresh=30)
    assert "<script" not in html.lower()
    assert 'http-equiv="refresh" content="30"' in html
    assert "do it" in html


def test_a_failing_probe_says_why_in_the_summary():
    from l4agent.collectors.probes import PROBE_DURATION, PROBE_FAILURE, PROBE_SUCCESS

    snap = snapshot()
    snap.samples += [PROBE_SUCCESS(0, probe="db-port", kind="tcp"), PROBE_DURATION(0.002, probe="db-port", kind="tcp"),
                     PROBE_FAILURE(1, probe="db-port", kind="tcp", reason="refused")]
    html = page(snap=snap)
    summary = html[html.index('id="summary"'):html.index("</section>", html.index('id="summary"'))]
    assert "db-port · failed: refused" in summary
