"""Issue 17 items 9 and 10: hostile text (terminal escapes, OSC 52, C1 controls, bidi overrides,
raw HTML, backtick runs, Markdown links) through every printer comes out inert: no control
character, no markup of its own. Hypothesis drives the text; named cases pin the known attacks."""

from __future__ import annotations

import email
import email.policy
import re
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from l4agent.agent.records import render
from l4agent.agent.records.model import Note, Record
from l4agent.agent.records.sinks.smtp import build_message
from l4agent.agent.remote.fleet import HostResult
from l4agent.agent.remote.output import render_results
from l4agent.core.samples import gauge
from l4agent.core.snapshot import Snapshot
from l4agent.core.text import printable
from l4agent.core.units import utcnow
from l4agent.diagnostics.base import Finding
from l4agent.exporters.collection_table import render_collection
from l4agent.exporters.findings import findings_markdown, findings_table
from l4agent.exporters.report.html import render_html, render_records_page
from l4agent.exporters.report.markdown import render_markdown
from l4agent.exporters.report.model import build_report
from l4agent.exporters.tables import render_table
from tests.exporters.report.inputs import NOW, breaches, config, diagnosis, no_history
from tests.exporters.report.inputs import snapshot as report_snapshot

KNOWN = [
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",          # OSC 52: writes the clipboard
    "\x1b[2J\x1b[H\x1b]0;pwned\x07",            # clear screen, retitle the window
    "\x9b31m\x9d0;c1\x9c",                      # C1 CSI/OSC/ST
    "x``<img src=x onerror=alert(7)>``y",       # the code-span breakout of the issue
    "<script>alert(1)</script>",
    "[click](javascript:alert(1)) ![i](http://evil/x.png) <http://evil>",
    "\u202eevil\u202c\u200b tail\r\nsecond line\x00",
    "````` ` `` ```",
]
hostile = st.one_of(st.sampled_from(KNOWN),
                    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60),
                    st.lists(st.sampled_from(["\x1b", "\x9b", "\x07", "<", ">", "`", "[", "]", "(", ")", "&",
                                              "\\", "img", " onerror=", "\n", "\r", "\u202e", "x"]),
                             max_size=30).map("".join))

# a C0/C1 control, DEL, or an invisible format/bidi character: anything printable() removes
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class Tags(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]


def assert_inert_text(out: str) -> None:
    assert not CONTROL.search(out), repr(CONTROL.search(out).group())


def assert_inert_markdown(out: str) -> None:
    assert_inert_text(out)
    # As a ticket system renders it, raw HTML allowed: no element or link the text brought in.
    html = MarkdownIt("commonmark", {"html": True}).render(out)
    tags = Tags(html)
    assert not {"img", "script", "a", "iframe", "svg"} & set(tags.tags), html
    assert not [a for a in tags.attributes if a.startswith("on")], html


def assert_inert_html(out: str, allowed: set[str]) -> None:
    assert_inert_text(out)
    tags = Tags(out)
    assert set(tags.tags) <= allowed, set(tags.tags) - allowed
    assert not [a for a in tags.attributes if a.startswith("on")]


def record(text: str) -> dict:
    r = Record(host=text, fingerprint=text, rule=text, target=text, object=text, title=text, severity="warning",
               priority="P2", environment="qa", opened_at=1.0e9, sla_due_at=1.0e9 + 3600,
               related={"host": text, "target": text, "object": text, "url": text},
               problems=[text, f"value {text}"], requests=[text], evidence={"value": text, "rows": [{text: text}]},
               id=7, notes=[Note(1.0e9, text)])
    return r.to_dict()


def finding(text: str) -> Finding:
    return Finding("schema.no_primary_key", "warning", text, text, text, text, {"query": text})


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("text", KNOWN)
def test_known_attacks_in_records_show(text):
    deliveries = [{"sink": text, "kind": "opened", "status": "parked", "attempts": 1, "last_error": text}]
    assert_inert_markdown(render.markdown(record(text), deliveries))


@SETTINGS
@given(text=hostile)
def test_records_markdown_table_and_mail(text):
    data = record(text)
    deliveries = [{"sink": text, "kind": "opened", "status": "parked", "attempts": 1, "last_error": text}]
    assert_inert_markdown(render.markdown(data, deliveries))
    assert_inert_text(render.table([data]))
    event = {"event": "opened", "idempotency_key": "k", "record": data, "note": {"at": text, "text": text}}
    subject = render.subject("opened", data)
    assert_inert_text(subject) and "\n" not in subject
    assert_inert_markdown(render.event_text(event))
    assert_inert_html(render.event_html(event), {"html", "head", "meta", "body", "h1", "h2", "p", "b", "ul", "ol",
                                                 "li", "pre"})
    message = build_message(event, "agent@example.org", ("l4@example.org",))
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert_inert_text(str(parsed["Subject"]))
    for part in parsed.walk():
        if part.get_content_maintype() == "text":
            assert_inert_text(part.get_content())


@SETTINGS
@given(text=hostile)
def test_tables_findings_and_collection(text):
    assert_inert_text(render_table([text, "b"], [[text, 1], ["x", text]]))
    assert_inert_text(findings_table([finding(text)], [{"target": text, "check": text, "error": text}], text, 1.0))
    assert_inert_markdown(findings_markdown([finding(text)], [{"target": text, "check": text, "error": text}],
                                            text, text))
    sample = gauge("l4agent_load1", "x")(1.0, **{"device": text})
    snap = Snapshot(host=text, collected_at=utcnow(), samples=[sample],
                    errors=[{"collector": text, "target": text, "error": text}])
    assert_inert_text(render_collection(snap))


@SETTINGS
@given(text=hostile)
def test_remote_output(text):
    result = {"host": text, "collected_at": text, "samples": [{"name": "l4agent_load1", "labels": {text: text},
                                                               "value": 1}],
              "errors": [{"collector": text, "target": text, "error": text}]}
    results = [HostResult(text, "agent", "ok", result, None, 1.0), HostResult(text, None, "error", None, text, 1.0)]
    assert_inert_text(render_results(results, "collect", 1.0))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile)
def test_report_markdown_and_html(text):
    snap = report_snapshot()
    diag = diagnosis(finding(text))
    from l4agent.exporters.report.inputs import RecordsView

    records = RecordsView([{"id": 1, "priority": "P2", "title": text, "target": text, "object": text,
                            "opened_at": text, "sla_due_at": "2000-01-01T00:00:00Z", "notes": []}])
    report = build_report(config(), text, snap, diag, records, no_history(), NOW, breaches=breaches(snap))
    assert_inert_markdown(render_markdown(report))
    page = render_html(report)
    assert_inert_text(page)
    assert "script" not in Tags(page).tags and not [a for a in Tags(page).attributes if a.startswith("on")]
    records_page = render_records_page(text, [record(text)], text, None)
    assert_inert_text(records_page)
    assert "script" not in Tags(records_page).tags


def test_printable_keeps_ordinary_text():
    assert printable("ünïcødé 表 tab\there") == "ünïcødé 表 tab here"
    assert printable("a\r\nb", multiline=True) == "a\nb"


def test_log_lines_are_printable(tmp_path):
    import logging

    from l4agent.core.redact import RedactingFilter

    path = tmp_path / "serve.log"
    handler = logging.FileHandler(path)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("l4agent.test.hostile")
    logger.addHandler(handler)
    try:
        for text in KNOWN:
            logger.warning("table %s is odd", text)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert_inert_text(path.read_text())
