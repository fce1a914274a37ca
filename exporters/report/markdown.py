"""The report as Markdown, for a work record or the text part of an e-mail.

The same sections as the HTML page, without charts: filesystem usage and the forecast become
rows and sentences. Every value from outside goes through ``md_escape``.
"""

from __future__ import annotations

import datetime as dt

from l4agent.core.sqltext import fenced, split_statement
from l4agent.core.text import printable
from l4agent.exporters.findings import md_escape
from l4agent.exporters.report.model import VERDICT_TEXT, Report, Table, past_sla, record_problem, record_where

STATUS_MARK = {"ok": "ok", "warning": "**WARNING**", "critical": "**CRITICAL**", None: ""}


def render_markdown(report: Report) -> str:
    e = md_escape
    out = [f"# l4agent health report: {e(report.host)}", "",
           f"Generated {report.generated_iso}" + (f"; findings from the diagnostics run at {report.diagnostics_at}"
                                                  if report.diagnostics_at else "") + ".", "",
           f"## Verdict: {VERDICT_TEXT[report.verdict]}", ""]
    out += [f"- {e(reason)}" for reason in report.reasons]
    counts = report.counts()
    out += ["", f"{counts['critical']} critical, {counts['warning']} warning, {counts['info']} info finding(s); "
                f"{len(report.breaches)} threshold(s) breached; {len(report.records)} open work record(s).", ""]

    if report.comparison is not None:
        c = report.comparison
        since = dt.datetime.fromtimestamp(c.baseline_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        out += [f"## Since the report of {since}", ""]
        for title, problems in (("New since last report", c.new), ("Worse since last report", c.worse),
                                ("Resolved since last report", c.resolved)):
            if title.startswith("Worse") and not problems:
                continue
            out += [f"### {title}", ""]
            out += [f"- {p['severity']}: {e(p['text'])}" for p in problems] or ["- none"]
            out.append("")

    out += ["## Findings", ""]
    if report.breaches:
        out += ["### Thresholds breached now", "", "| severity | what | where | line |", "|---|---|---|---|"]
        out += [f"| {b.level} | {e(b.summary)} | {e(b.target)} {e(b.object)} | {e(b.line)} |" for b in report.breaches]
        out.append("")
    if not report.findings:
        out += ["No findings." if report.diagnostics_at else "Diagnostics have not run.", ""]
    for severity in ("critical", "warning", "info"):
        group = [f for f in report.findings if f["severity"] == severity]
        if not group:
            continue
        out += [f"### {severity.capitalize()} ({len(group)})", ""]
        for number, f in enumerate(group, 1):
            out.append(f"{number}. **{e(f['summary'])}**  ")
            out.append(f"   {e(f['check'])} on {e(f['target'])}, `{_code(f['object'])}`  ")
            prose, statement = split_statement(f["recommendation"], markup_safe=True)
            out.append(f"   What to do: {e(prose)}" + (":" if statement else ""))
            if statement:  # whole and unescaped: it pastes straight into psql, mysql or sqlcmd
                out += ["", *fenced(statement, indent="   "), ""]
        out.append("")

    out += ["## Open work records", ""]
    if report.records_note:
        out += [e(report.records_note), ""]
    if report.records:
        out += ["| # | priority | problem | where | opened | SLA due |", "|---|---|---|---|---|---|"]
        for r in report.records:
            due = r.get("sla_due_at") or ""
            if past_sla(r, report.generated_at):
                due += " (overdue)"
            out.append(f"| {r.get('id')} | {e(r.get('priority'))} | {e(record_problem(r))} | {e(record_where(r))} | "
                       f"{e(r.get('opened_at'))} | {e(due)} |")
        out.append("")
    elif not report.records_note:
        out += ["None.", ""]

    if report.forecasts:
        out += ["## Disk-full forecast", ""]
        out += [f"- {f.severity}: {e(f.summary)}" for f in report.forecasts]
        out.append("")
    if report.top_queries:
        out += ["## Top queries by total time", "", "| target | total | calls | mean | statement |", "|---|---|---|---|---|"]
        out += [f"| {e(q.target)} | {q.total_seconds:,.1f} s | {q.calls:,.0f} | {q.mean_ms:,.1f} ms | {e(q.query[:200])} |"
                for q in report.top_queries]
        out.append("")

    for layer in report.layers:
        out += [f"## {e(layer.name)}", ""]
        for table in layer.tables:
            out += _table(table)
    if report.coverage:
        out += ["## Coverage of the diagnostics", ""]
        out += [f"- {e(target)}: {e(text)}" for target, text in report.coverage_lines()]
        out.append("")
    if report.errors:
        out += [f"## What could not be read ({len(report.errors)})", ""]
        out += [f"- {e(x['source'])} {e(x['target'])} {e(x['what'])}: {e(x['error'])}" for x in report.errors]
        out.append("")
    out.append(f"_l4agent {report.version}_")
    # Every value above was cleaned where it went in; this pass keeps it so for what comes next.
    return printable("\n".join(out).rstrip() + "\n", multiline=True)


def _code(text: str) -> str:
    """Text for inside a code span: on one line, without backticks (which would end it)."""
    return " ".join(printable(text).replace("`", "'").split())


def _table(table: Table) -> list[str]:
    out = [f"### {md_escape(table.title)}", ""]
    if table.note:
        out += [md_escape(table.note), ""]
    if table.rows:
        headers = [h or " " for h in table.headers] + ["status"]
        out.append("| " + " | ".join(md_escape(h) for h in headers) + " |")
        out.append("|" + "---|" * len(headers))
        for row in table.rows:
            out.append("| " + " | ".join(md_escape(c) for c in row.cells) + f" | {STATUS_MARK[row.status]} |")
        out.append("")
    return out
