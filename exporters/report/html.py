"""The report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no
external asset, so it opens offline from a mail or a file and passes the status page's CSP.

Every value that came from outside the agent (hostnames, object names, SQL text, error text) goes
through :func:`_e` (HTML escaping) or the chart functions, which escape too.
"""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from typing import Any

from l4agent.core.sqltext import split_statement
from l4agent.core.text import printable
from l4agent.core.units import format_bytes, format_value
from l4agent.exporters.report import charts
from l4agent.exporters.report.model import (
    CRITICAL,
    OK,
    VERDICT_TEXT,
    WARNING,
    Report,
    Table,
    past_sla,
    record_problem,
    record_where,
)

CSS = """
:root{--ok:#2e7d32;--warn:#ef8f00;--crit:#c62828;--info:#1565c0;--ink:#1d252c;--muted:#5f6b76;--line:#d7dde3;--bg:#f5f7f9}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:20px 24px 40px}
header h1{font-size:22px;margin:0 0 2px}
header .meta{color:var(--muted);font-size:13px}
nav{margin-top:6px;font-size:13px}nav a{margin-right:14px}
a{color:#0b57a4}
.verdict{margin:16px 0 8px;padding:14px 18px;border-radius:8px;color:#fff;display:flex;gap:18px;align-items:flex-start}
.verdict.ok{background:var(--ok)}.verdict.warning{background:var(--warn)}.verdict.critical{background:var(--crit)}
.verdict .word{font-size:26px;font-weight:700;white-space:nowrap;line-height:1.1}
.verdict ul{margin:0;padding-left:18px;min-width:0;overflow-wrap:anywhere}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0 4px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:140px}
.card .n{font-size:24px;font-weight:700}.card .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:16px 0}
h2{font-size:17px;margin:0 0 10px}h3{font-size:14px;margin:14px 0 6px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;width:100%;font-size:13.5px}
th{text-align:left;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);padding:5px 8px}
td{border-bottom:1px solid var(--line);padding:5px 8px;vertical-align:top;overflow-wrap:anywhere}
tr.warning td:first-child{border-left:4px solid var(--warn)}tr.critical td:first-child{border-left:4px solid var(--crit)}
tr.ok td:first-child{border-left:4px solid var(--ok)}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;color:#fff}
.badge.critical{background:var(--crit)}.badge.warning{background:var(--warn)}.badge.info{background:var(--info)}
.badge.ok{background:var(--ok)}.badge.P1{background:var(--crit)}.badge.P2{background:var(--warn)}.badge.P3,.badge.P4{background:var(--info)}
.finding{border-left:4px solid var(--line);padding:8px 12px;margin:8px 0;background:#fafbfc;border-radius:0 6px 6px 0}
.finding.critical{border-color:var(--crit)}.finding.warning{border-color:var(--warn)}.finding.info{border-color:var(--info)}
.finding .what{font-weight:600}.finding .where{color:var(--muted);font-size:13px;overflow-wrap:anywhere}
.finding .todo{margin-top:4px}.finding .todo b{color:var(--ink)}
details summary{cursor:pointer;color:var(--muted);font-size:13px}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f0f3f6;padding:8px;border-radius:6px;font-size:12px;margin:6px 0}
.mono,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.num{white-space:nowrap;text-align:right}.muted{color:var(--muted)}.small{font-size:11px}.overdue{color:var(--crit);font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:14px}
.spark h4{margin:0 0 2px;font-size:13px;font-weight:600}
svg.chart{width:100%;height:auto;display:block}
svg.chart text{font:12px -apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:var(--ink)}
svg.chart text.label{fill:var(--ink)}svg.chart text.value{font-weight:600}
svg.chart .muted,svg.chart text.muted{fill:var(--muted)}svg.chart text.small{font-size:10px}
svg.chart text.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11px}
.changes{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.changes ul{margin:4px 0;padding-left:18px}
footer{color:var(--muted);font-size:12px;margin-top:20px}
#summary{border-top:4px solid #0b5cad;padding-top:10px}#summary .verdict{margin:0 0 10px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:10px}
.tile{border:1px solid var(--line);border-left:4px solid var(--ok);border-radius:6px;padding:6px 10px;font-size:13px}
.tile.warning{border-left-color:var(--warn)}.tile.critical{border-left-color:var(--crit)}
.tile h3{margin:0 0 4px}.tile ul{margin:0;padding-left:0;list-style:none}
.tile li{overflow-wrap:anywhere}.tile li.critical{color:var(--crit)}.tile li.warning{color:#a65f00}
.records-line{margin:8px 0 0;font-size:13px}
#breaches{border-top:4px solid #8a1c7c}
details.severity>summary{list-style:none}details.severity>summary h3{display:inline}
@media (max-width:700px){.changes{grid-template-columns:1fr}main{padding:12px}.verdict{flex-direction:column;gap:6px}}
"""


def _e(text: Any) -> str:
    return escape("" if text is None else str(text), quote=True)


def _todo(recommendation: Any) -> str:
    """A recommendation in HTML; a SQL statement at its end shown whole in a code block (escaped
    for HTML only, so it copies out exactly as written)."""
    prose, statement = split_statement(str(recommendation or ""))
    if statement is None:
        return _e(prose)
    return f'{_e(prose)}:<pre class="sql"><code>{escape(printable(statement))}</code></pre>'



def render_html(report: Report, *, refresh: int | None = None, nav: bool = False) -> str:
    """The whole page. ``refresh``: seconds for a meta refresh (the live status page)."""
    title = f"l4agent {'status' if refresh else 'health report'}: {report.host} — {VERDICT_TEXT[report.verdict]}"
    head = ['<!doctype html><html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta name="generator" content="l4agent {_e(report.version)}">']
    if refresh:
        head.append(f'<meta http-equiv="refresh" content="{int(refresh)}">')
    head.append(f"<title>{_e(title)}</title><style>{CSS}</style></head>")
    # What matters first: the host's state and what is breached, above the fold on a phone too;
    # then the findings (collapsed by severity), the records, and the detail.
    body = ["<body><main>", _header(report, refresh, nav), _summary(report), _breaches(report), _changes(report),
            _findings(report), _records(report), _charts(report), _layers(report), _coverage(report), _errors(report),
            _footer(report),
            "</main></body></html>"]
    # Values were escaped where they went in; control characters (a terminal escape in a table
    # name) go too, so a saved page shown with cat or in a mail client stays inert.
    return printable("".join(head + body), multiline=True)


def _header(report: Report, refresh: int | None, nav: bool) -> str:
    what = "Status" if refresh else "Health report"
    meta = f"generated {_time(report.generated_iso)}"
    if report.diagnostics_at:
        meta += f" · findings from the diagnostics run at {_time(report.diagnostics_at)}"
    elif refresh:
        meta += " · diagnostics have not run yet"
    if refresh:
        meta += f" · refreshes every {int(refresh)} s"
    links = ""
    if nav:
        links = ('<nav><a href="/">status</a><a href="/records">work records</a>'
                 '<a href="/findings.json">findings.json</a><a href="/metrics">metrics</a></nav>')
    return f'<header><h1>{what}: {_e(report.host)}</h1><div class="meta">{meta}</div>{links}</header>'


def _time(iso: str | None) -> str:
    """An ISO UTC time shown in the server's local time, UTC on hover (JSON keeps UTC)."""
    if not iso:
        return ""
    try:
        moment = dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return _e(iso)
    local = moment.astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return f'<time datetime="{_e(iso)}" title="{_e(iso)} (UTC)">{_e(local)}</time>'


def _summary(report: Report) -> str:
    """The band at the top: the verdict, each layer's state with its key figures, open records by
    priority, and the counts."""
    tiles = []
    for layer in report.layers:
        # each layer's first table holds its key figures; the network's probes say more than its links
        key = next((t for t in layer.tables if t.title == "Probes" and t.rows), layer.tables[0] if layer.tables else None)
        for table in [key] if key else []:
            rows = [row for row in table.rows if row.cells][:6]
            if not rows:
                continue
            worst = next((s for s in (CRITICAL, WARNING) if any(r.status == s for r in rows)), OK)
            lines = "".join(f'<li class="{_e(row.status or "")}">{_cells(table, row)}</li>' for row in rows)
            tiles.append(f'<div class="tile {worst}"><h3>{_e(layer.name)}</h3><ul>{lines}</ul></div>')
    by_priority = {p: sum(1 for r in report.records if r.get("priority") == p) for p in ("P1", "P2", "P3", "P4")}
    records = " ".join(f'<span class="badge {p}">{p} {n}</span>' for p, n in by_priority.items() if n) \
        or '<span class="muted">none open</span>'
    return (f'<section id="summary">{_verdict(report)}<div class="tiles">{"".join(tiles)}</div>'
            f'<p class="records-line">Open work records: {records}</p>{_cards(report)}</section>')


def _cells(table: Table, row) -> str:
    """A table row as one line: "label: value" for two-column tables, else the cells joined."""
    if len(row.cells) == 2 and not table.headers[0]:
        return f"{_e(row.cells[0])}: <b>{_e(row.cells[1])}</b>"
    return " · ".join(_e(cell) for cell in row.cells if cell)


def _breaches(report: Report) -> str:
    """Thresholds breached now, each with its value, its line and since when."""
    if not report.breaches:
        return ""
    parts = [f'<section id="breaches"><h2>Thresholds breached now ({len(report.breaches)})</h2>']
    for b in sorted(report.breaches, key=lambda b: b.level != CRITICAL):
        since = _breached_since(report, b)
        parts.append(f'<div class="finding {b.level}"><div class="what"><span class="badge {b.level}">{b.level}</span> '
                     f"{_e(b.summary)}: <b>{_e(format_value(b.metric, b.value))}</b> ({_e(b.line)})"
                     + (f" · since {_time(since)}" if since else "") + "</div>"
                     f'<div class="where">{_e(b.target)} · {_e(b.object)} · rule {_e(b.rule)}</div>'
                     + (f'<div class="todo"><b>What to do:</b> {_e(b.recommendation)}</div>' if b.recommendation else "")
                     + "</div>")
    parts.append("</section>")
    return "".join(parts)


def _breached_since(report: Report, breach) -> str | None:
    """When the open record of this breach says it began (None: no record yet)."""
    for record in report.records:
        if record.get("rule") == breach.rule and record.get("target") == breach.target \
                and record.get("object") == breach.object:
            return (record.get("evidence") or {}).get("breached_since") or record.get("opened_at")
    return None


def _verdict(report: Report) -> str:
    reasons = "".join(f"<li>{_e(reason)}</li>" for reason in report.reasons)
    return (f'<div class="verdict {report.verdict}" id="verdict"><div class="word">{VERDICT_TEXT[report.verdict]}</div>'
            f"<ul>{reasons}</ul></div>")


def _cards(report: Report) -> str:
    counts = report.counts()
    overdue = sum(1 for r in report.records if past_sla(r, report.generated_at))
    cards = [(counts["critical"], "critical findings"), (counts["warning"], "warnings"), (counts["info"], "info findings"),
             (len(report.breaches), "thresholds breached"), (len(report.records), "open work records")]
    if overdue:
        cards.append((overdue, "records past SLA"))
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="n">{n}</div><div class="l">{_e(label)}</div></div>' for n, label in cards) + "</div>"


def _changes(report: Report) -> str:
    comparison = report.comparison
    if comparison is None:
        return ""
    since = dt.datetime.fromtimestamp(comparison.baseline_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

    def items(problems: list[dict[str, str]]) -> str:
        if not problems:
            return '<p class="muted">none</p>'
        return "<ul>" + "".join(f'<li><span class="badge {_e(p["severity"])}">{_e(p["severity"])}</span> {_e(p["text"])}</li>'
                                for p in problems) + "</ul>"

    worse = f"<h3>Worse since then</h3>{items(comparison.worse)}" if comparison.worse else ""
    return (f'<section id="changes"><h2>Since the report of {since}</h2><div class="changes">'
            f"<div><h3>New since last report</h3>{items(comparison.new)}{worse}</div>"
            f"<div><h3>Resolved since last report</h3>{items(comparison.resolved)}</div></div></section>")


def _findings(report: Report) -> str:
    parts = ['<section id="findings"><h2>Findings</h2>']
    if not report.findings:
        parts.append('<p class="muted">Nothing to fix.' +
                     ("" if report.diagnostics_at else " Diagnostics have not run yet.") + "</p>")
    for severity in ("critical", "warning", "info"):
        group = [f for f in report.findings if f["severity"] == severity]
        if not group:
            continue
        opened = " open" if severity == "critical" else ""
        parts.append(f'<details class="severity"{opened}><summary><h3>{severity.capitalize()} ({len(group)})</h3>'
                     "</summary>")
        for f in group:
            evidence = json.dumps(f.get("evidence") or {}, indent=1, ensure_ascii=False, default=str)
            parts.append(
                f'<div class="finding {severity}"><div class="what"><span class="badge {severity}">{severity}</span> '
                f"{_e(f['summary'])}</div>"
                f'<div class="where">{_e(f["check"])} · {_e(f["target"])} · <span class="mono">{_e(f["object"])}</span></div>'
                f'<div class="todo"><b>What to do:</b> {_todo(f["recommendation"])}</div>'
                f"<details><summary>evidence</summary><pre>{_e(evidence)}</pre></details></div>")
        parts.append("</details>")
    parts.append("</section>")
    return "".join(parts)


def _records(report: Report) -> str:
    parts = ['<section id="records"><h2>Open work records</h2>']
    if report.records_note:
        parts.append(f'<p class="muted">{_e(report.records_note)}</p>')
    if report.records:
        parts.append("<table><tr><th>#</th><th>priority</th><th>problem</th><th>where</th><th>opened</th>"
                     "<th>SLA due</th><th>notes</th></tr>")
        for r in report.records:
            where, problem = record_where(r), record_problem(r)
            due = _time(r.get("sla_due_at"))
            if past_sla(r, report.generated_at):
                due = f'<span class="overdue">{due} (overdue)</span>'
            parts.append(f"<tr><td>{_e(r.get('id'))}</td><td><span class=\"badge {_e(r.get('priority'))}\">"
                         f"{_e(r.get('priority'))}</span></td><td>{_e(problem)}</td><td>{_e(where)}</td>"
                         f"<td>{_time(r.get('opened_at'))}</td><td>{due}</td><td>{len(r.get('notes') or [])}</td></tr>")
        parts.append("</table>")
    elif not report.records_note:
        parts.append('<p class="muted">No open work records.</p>')
    parts.append("</section>")
    return "".join(parts)


def _charts(report: Report) -> str:
    parts = ['<section id="charts"><h2>At a glance</h2>']
    if report.filesystems:
        parts.append("<h3>Filesystem usage</h3>")
        parts.append(charts.usage_bars(report.filesystems, label="filesystem usage"))
    trends = [t for t in report.trends if len(t.points) >= 2]
    parts.append("<h3>Last 7 days</h3>")
    if trends:
        parts.append('<div class="grid">')
        for trend in trends:
            fmt = (lambda v: f"{v * 100:.0f} %") if trend.kind == "ratio" else format_bytes
            low, high = (0.0, 1.0) if trend.kind == "ratio" else (None, None)
            parts.append(f'<div class="spark"><h4>{_e(trend.title)}</h4>'
                         f"{charts.sparkline(trend.points, fmt, trend.title, low, high)}</div>")
        parts.append("</div>")
    else:
        parts.append(f'<p class="muted">{_e(report.history_note or "not enough history yet (a few samples are needed)")}</p>')
    parts.append("<h3>Disk-full forecast</h3>")
    if report.forecasts:
        for forecast in report.forecasts:
            parts.append(f'<p><span class="badge {forecast.severity}">{forecast.severity}</span> {_e(forecast.summary)}</p>')
            parts.append(charts.forecast_chart(forecast.history, report.generated_at, forecast.used_bytes,
                                               forecast.size_bytes, forecast.full_at, format_bytes,
                                               f"disk-full forecast for {forecast.mountpoint}"))
    else:
        parts.append('<p class="muted">No filesystem is predicted to fill up within the forecast horizon'
                     + ("" if report.diagnostics_at else " (diagnostics have not run yet)") + ".</p>")
    if report.top_queries:
        parts.append("<h3>Top queries by total time</h3>")
        parts.append(charts.value_bars([(q.query, q.total_seconds, f"{q.total_seconds:,.1f} s") for q in report.top_queries],
                                       "top queries by total time"))
        parts.append("<table><tr><th>target</th><th>catalog</th><th>total</th><th>calls</th><th>mean</th><th>statement</th></tr>")
        for q in report.top_queries:
            parts.append(f'<tr><td>{_e(q.target)}</td><td>{_e(q.catalog)}</td><td class="num">{q.total_seconds:,.1f} s</td>'
                         f'<td class="num">{q.calls:,.0f}</td><td class="num">{q.mean_ms:,.1f} ms</td>'
                         f'<td class="mono">{_e(q.query[:400])}</td></tr>')
        parts.append("</table>")
    parts.append("</section>")
    return "".join(parts)


def _table(table: Table) -> str:
    out = [f"<h3>{_e(table.title)}</h3>"]
    if table.note:
        out.append(f'<p class="muted">{_e(table.note)}</p>')
    if table.rows:
        header = "".join(f"<th>{_e(h)}</th>" for h in table.headers)
        rows = "".join(f'<tr class="{row.status or ""}">' + "".join(f"<td>{_e(c)}</td>" for c in row.cells) + "</tr>"
                       for row in table.rows)
        out.append(f"<table><tr>{header}</tr>{rows}</table>")
    return "".join(out)


def _layers(report: Report) -> str:
    return "".join(f'<section class="layer" id="layer-{_e(layer.name.lower().replace(" ", "-"))}"><h2>{_e(layer.name)}</h2>'
                   + "".join(_table(t) for t in layer.tables) + "</section>" for layer in report.layers)


def _coverage(report: Report) -> str:
    """One line per target: what the diagnostics examined, and what not and why."""
    if not report.coverage:
        return ""
    items = "".join(f"<li><strong>{_e(target)}</strong>: {_e(text)}</li>" for target, text in report.coverage_lines())
    return f'<section id="coverage"><h2>Coverage of the diagnostics</h2><ul>{items}</ul></section>'


def _errors(report: Report) -> str:
    if not report.errors:
        return ""
    rows = "".join(f"<tr><td>{_e(e['source'])}</td><td>{_e(e['target'])}</td><td>{_e(e['what'])}</td><td>{_e(e['error'])}</td></tr>"
                   for e in report.errors)
    return (f'<section id="errors"><h2>What could not be read ({len(report.errors)})</h2>'
            f"<table><tr><th>step</th><th>target</th><th>collector / check</th><th>error</th></tr>{rows}</table></section>")


def _footer(report: Report) -> str:
    config = f" · config {_e(report.config_path)}" if report.config_path else " · built-in defaults"
    return f"<footer>l4agent {_e(report.version)}{config}</footer>"


def render_records_page(host: str, records: list[dict[str, Any]], note: str | None, status: str | None,
                        refresh: int | None = None) -> str:
    """``/records`` of the status page: every record (or those of one status), newest first,
    with its problems, requests and flow notes."""
    title = f"l4agent work records: {host}"
    head = ['<!doctype html><html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">']
    if refresh:
        head.append(f'<meta http-equiv="refresh" content="{int(refresh)}">')
    head.append(f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>")
    filters = " ".join(f'<a href="/records?status={s}">{s}</a>' for s in ("open", "resolved", "closed"))
    parts = [f"<header><h1>Work records: {_e(host)}</h1>"
             f'<div class="meta">{_e(status or "all")} records, newest first · show {filters} · '
             f'<a href="/records">all</a> · <a href="/records?format=json">JSON</a></div>'
             '<nav><a href="/">status</a><a href="/records">work records</a>'
             '<a href="/findings.json">findings.json</a><a href="/metrics">metrics</a></nav></header>']
    parts.append('<section id="records">')
    if note:
        parts.append(f'<p class="muted">{_e(note)}</p>')
    if not records and not note:
        parts.append('<p class="muted">No work records.</p>')
    for r in records:
        level = r.get("severity") if r.get("status") == "open" else "info"
        problems = "".join(f"<li>{_e(p)}</li>" for p in r.get("problems") or [])
        requests = "".join(f"<li>{_e(p)}</li>" for p in r.get("requests") or [])
        notes = "".join(f"<li><span class=\"muted\">{_e(n.get('at'))}</span> {_e(n.get('text'))}</li>"
                        for n in r.get("notes") or [])
        evidence = json.dumps(r.get("evidence") or {}, indent=1, ensure_ascii=False, default=str)
        parts.append(
            f'<div class="finding {_e(level)}" id="record-{_e(r.get("id"))}"><div class="what">'
            f'#{_e(r.get("id"))} <span class="badge {_e(r.get("priority"))}">{_e(r.get("priority"))}</span> '
            f'{_e(record_problem(r))} <span class="muted">· {_e(r.get("status"))} · result {_e(r.get("result"))}</span></div>'
            f'<div class="where">{_e(record_where(r))} · {_e(r.get("environment"))} · opened {_e(r.get("opened_at"))}'
            f' · SLA due {_e(r.get("sla_due_at"))}</div>'
            + (f"<h3>Problems</h3><ol>{problems}</ol>" if problems else "")
            + (f"<h3>Requests</h3><ol>{requests}</ol>" if requests else "")
            + (f"<details><summary>{len(r.get('notes') or [])} note(s)</summary><ul>{notes}</ul></details>" if notes else "")
            + f"<details><summary>evidence</summary><pre>{_e(evidence)}</pre></details></div>")
    parts.append("</section></main></body></html>")
    return printable("".join(head + parts), multiline=True)
