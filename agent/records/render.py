"""A work record as people read it: Markdown (``records show``, mail text), HTML (mail), a table.

The sections follow the support process: Related, Problems and findings, Requests and
recommendations, Result, Evidence, Notes — plus Delivery, where a parked sink says why.
Everything works on the record's JSON shape (``Record.to_dict()``), the same dict a sink gets.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any

from l4agent.core.sqltext import fenced, split_statement
from l4agent.core.text import printable
from l4agent.exporters.tables import render_table

EVENT_WORDS = {"opened": "OPENED", "noted": "NOTE", "resolved": "RESOLVED", "reopened": "RE-OPENED",
               "closed": "CLOSED"}


def _fence(value: str, least: int = 1) -> str:
    """A run of backticks longer than any in ``value``: ``value`` cannot close it early."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    return "`" * max(least, longest + 1)


def _code(text: object) -> str:
    """``text`` as an inline code span: shown literally (no markup, no HTML) by any renderer."""
    value = _line(text)
    fence = _fence(value)
    pad = " " if value.startswith("`") or value.endswith("`") or fence != "`" else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _line(text: object) -> str:
    """One line of plain text: no control characters (they would act on a terminal)."""
    return " ".join(printable(text).split())


_MD_SPECIAL = re.compile(r"([\\`\[\]])")


def _md(text: object) -> str:
    """Outside text inside Markdown prose: one line, no raw HTML (``<`` ``>`` ``&`` as entities),
    no code spans or links of its own."""
    escaped = html.escape(_line(text), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", escaped)


def _result_text(record: dict[str, Any]) -> str:
    if record["result"] == "Passed":
        return f"Passed: the re-test was clean at {record.get('resolved_at') or record.get('updated_at')}."
    if record["status"] == "closed":
        return f"Failed: closed by hand at {record.get('closed_at')} while the last re-test still failed."
    return "Failed: the breach still holds at the last re-test."


def _related(record: dict[str, Any]) -> list[tuple[str, str]]:
    related = record.get("related") or {}
    items = [("Host", _code(related.get("host", record["host"]))),
             ("Target", _code(related.get("target", record["target"]))),
             ("Object", _code(related.get("object", record["object"])))]
    if related.get("url"):
        items.append(("Status page", _code(related["url"])))
    if related.get("previous_record"):
        items.append(("Previous record", f"#{related['previous_record']}"))
    return items


def _requests_markdown(requests: Sequence[str]) -> list[str]:
    """Numbered requests; one that ends with a SQL statement shows it whole in a code block."""
    out = []
    for n, text in enumerate(requests, 1):
        prose, statement = split_statement(_line(text), markup_safe=True)
        if statement is None:
            out.append(f"{n}. {_md(text)}")
        else:
            out += [f"{n}. {_md(prose)}:", "", *fenced(statement, indent="   "), ""]
    return out


def _html_item(text: str) -> str:
    """One numbered item in HTML; a SQL statement at its end in a code block (escaped for HTML
    only, so it copies out exactly)."""
    prose, statement = split_statement(_line(text))
    if statement is None:
        return html.escape(prose)
    return f"{html.escape(prose)}:<pre><code>{html.escape(printable(statement))}</code></pre>"


def _evidence_items(evidence: dict[str, Any]) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """Scalars as "key: value" lines; nested values (query rows, label sets) as a JSON block."""
    scalars, nested = [], {}
    for key, value in evidence.items():
        if isinstance(value, dict | list):
            if value:
                nested[key] = value
        elif value is not None:
            scalars.append((key, _line(value)))
    return scalars, nested


def markdown(record: dict[str, Any], deliveries: Sequence[dict[str, Any]] = ()) -> str:
    """The record as a specialist reads it and hands to L3."""
    out = [f"# Work record #{record['id']}: {_md(record['title'])}", ""]
    out.append(f"**Status** {_md(record['status'])} · **Priority** {_md(record['priority'])} · **Result** "
               f"{_md(record['result'])} · **Severity** {_md(record['severity'])} · **Environment** "
               f"{_md(record['environment'])}")
    times = f"**Opened** {_md(record['opened_at'])} · **SLA due** {_md(record['sla_due_at'])}"
    if record.get("resolved_at"):
        times += f" · **Resolved** {_md(record['resolved_at'])}"
    if record.get("closed_at"):
        times += f" · **Closed** {_md(record['closed_at'])}"
    out += [times, f"**Fingerprint** {_code(record['fingerprint'])}", ""]
    out += ["## Related", ""] + [f"- {label}: {value}" for label, value in _related(record)] + [""]
    out += ["## Problems and findings", ""]
    out += [f"{n}. {_md(text)}" for n, text in enumerate(record["problems"], 1)] + [""]
    out += ["## Requests and recommendations", ""]
    out += _requests_markdown(record["requests"]) + [""]
    out += ["## Result", "", _md(_result_text(record)), ""]
    out += ["## Evidence", ""]
    scalars, nested = _evidence_items(record.get("evidence") or {})
    out += [f"- {_md(key)}: {_code(value)}" for key, value in scalars]
    if nested:
        # ensure_ascii: every control character is a \u escape; the fence outlasts any in the data
        block = json.dumps(nested, indent=1, sort_keys=True, default=str)
        fence = _fence(block, least=3)
        out += ["", f"{fence}json", block, fence]
    out.append("")
    out += ["## Notes", ""]
    notes = record.get("notes") or []
    out += [f"- {_md(note['at'])}: {_md(note['text'])}" for note in notes] or ["(none yet)"]
    out.append("")
    if deliveries:
        out += ["## Delivery", ""] + delivery_lines(deliveries) + [""]
    return printable("\n".join(out), multiline=True)


def delivery_lines(deliveries: Sequence[dict[str, Any]]) -> list[str]:
    """Per sink: how many events were delivered, are pending or parked, and the last error."""
    by_sink: dict[str, list[dict[str, Any]]] = {}
    for row in deliveries:
        by_sink.setdefault(row["sink"], []).append(row)
    lines = []
    for sink, rows in by_sink.items():
        counts = {status: sum(1 for r in rows if r["status"] == status) for status in ("delivered", "pending", "parked")}
        summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        lines.append(f"- {_md(sink)}: {summary}")
        for row in rows:
            if row["status"] == "parked" or (row["status"] == "pending" and row.get("last_error")):
                what = "PARKED" if row["status"] == "parked" else f"retrying (attempt {row['attempts']})"
                lines.append(f"  - {_md(row['kind'])} event: {what}: {_md(row.get('last_error') or '')}")
    return lines


def deliveries_summary(deliveries: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """sink -> {"delivered": n, "pending": n, "parked": n, "errors": [...]} for JSON output."""
    summary: dict[str, dict[str, Any]] = {}
    for row in deliveries:
        entry = summary.setdefault(row["sink"], {"delivered": 0, "pending": 0, "parked": 0, "errors": []})
        entry[row["status"]] += 1
        if row.get("last_error") and row["status"] != "delivered":
            entry["errors"].append({"event": row["kind"], "status": row["status"], "error": row["last_error"]})
    return summary


def table(records: Sequence[dict[str, Any]]) -> str:
    """One line per record for ``records list``."""
    rows = [(r["id"], r["status"], r["priority"], r["severity"], r["result"], r["opened_at"], len(r["notes"]),
             r["title"]) for r in records]
    if not rows:
        return "no work records"
    return render_table(["id", "status", "prio", "severity", "result", "opened", "notes", "title"], rows,
                        max_width=70, align_right=(0, 6))


def subject(event: str, record: dict[str, Any]) -> str:
    """ "[l4agent P2] OPENED #12 disk space used on db1: /" """
    return _line(f"[l4agent {record['priority']}] {EVENT_WORDS.get(event, event.upper())} #{record['id']} "
                 f"{record['title']}")


def event_text(event: dict[str, Any]) -> str:
    """A plain-text mail: what happened, then the whole record."""
    record = event["record"]
    # Plain text that a ticket system may well render as Markdown: outside text escaped as there.
    head = [f"[l4agent {_md(record['priority'])}] {EVENT_WORDS.get(event['event'], _md(event['event']).upper())} "
            f"#{record['id']} {_md(record['title'])}"]
    if event.get("note"):
        head.append(f"Note {_md(event['note']['at'])}: {_md(event['note']['text'])}")
    return printable("\n".join(head) + "\n\n" + markdown(record), multiline=True)


def event_html(event: dict[str, Any]) -> str:
    """The same mail as HTML (every value escaped)."""
    record = event["record"]
    e = html.escape

    def ordered(items: Sequence[str]) -> str:
        return "<ol>" + "".join(f"<li>{_html_item(i)}</li>" for i in items) + "</ol>"

    parts = [f"<h1>Work record #{record['id']}: {e(_line(record['title']))}</h1>"]
    if event.get("note"):
        parts.append(f"<p><b>{e(EVENT_WORDS.get(event['event'], event['event']))}</b> "
                     f"{e(event['note']['at'])}: {e(_line(event['note']['text']))}</p>")
    parts.append(f"<p><b>Status</b> {e(record['status'])} &middot; <b>Priority</b> {e(record['priority'])} "
                 f"&middot; <b>Result</b> {e(record['result'])} &middot; <b>Opened</b> {e(record['opened_at'])} "
                 f"&middot; <b>SLA due</b> {e(record['sla_due_at'])}</p>")
    related = "".join(f"<li>{e(label)}: {e(value.strip('` '))}</li>" for label, value in _related(record))
    parts.append(f"<h2>Related</h2><ul>{related}</ul>")
    parts.append(f"<h2>Problems and findings</h2>{ordered(record['problems'])}")
    parts.append(f"<h2>Requests and recommendations</h2>{ordered(record['requests'])}")
    parts.append(f"<h2>Result</h2><p>{e(_result_text(record))}</p>")
    evidence = json.dumps(record.get("evidence") or {}, indent=1, sort_keys=True, default=str)
    parts.append(f"<h2>Evidence</h2><pre>{e(printable(evidence, multiline=True))}</pre>")
    notes = "".join(f"<li>{e(n['at'])}: {e(_line(n['text']))}</li>" for n in record.get("notes") or [])
    parts.append(f"<h2>Notes</h2><ul>{notes or '<li>(none yet)</li>'}</ul>")
    return printable("<!doctype html><html><head><meta charset='utf-8'></head><body>" + "".join(parts)
                     + "</body></html>", multiline=True)
