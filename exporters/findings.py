"""Findings for people: a terminal table grouped by severity then target, and Markdown for
pasting into a work record or an e-mail."""

from __future__ import annotations

import json
from collections.abc import Sequence

from l4agent.core.sqltext import fenced, split_statement
from l4agent.core.text import printable
from l4agent.diagnostics.base import SEVERITIES, Finding
from l4agent.diagnostics.coverage import Coverage, summary_lines
from l4agent.exporters.tables import _clean, render_table


def _by_severity(findings: Sequence[Finding]) -> list[tuple[str, list[Finding]]]:
    groups = []
    for severity in reversed(SEVERITIES):
        group = sorted((f for f in findings if f.severity == severity), key=lambda f: (f.target, f.check, f.object))
        if group:
            groups.append((severity, group))
    return groups


def _details(group: Sequence[Finding], evidence: bool) -> list[str]:
    """Below a severity's table: each statement to run whole (never clipped), and with
    ``evidence`` each finding's evidence as indented JSON."""
    out = []
    for f in group:
        statement = split_statement(f.recommendation)[1]
        if statement is None and not evidence:
            continue
        out += ["", f"  {printable(f.target)} · {printable(f.object)}:"]
        if statement is not None:
            out.append(f"    {printable(statement)}")
        if evidence and f.evidence:
            text = json.dumps(f.evidence, indent=1, sort_keys=True, default=str, ensure_ascii=False)
            out += [f"    {printable(line)}" for line in text.splitlines()]
    return out


def findings_table(findings: Sequence[Finding], errors: Sequence[dict], host: str, duration: float,
                   coverage: Sequence[Coverage] = (), evidence: bool = False) -> str:
    out = [f"l4agent diagnose on {printable(host)}: {len(findings)} finding(s), {len(errors)} error(s) in {duration:.1f}s"]
    out += [f"coverage {_clean(target)}: {_clean(text)}" for target, text in summary_lines(list(coverage))]
    for severity, group in _by_severity(findings):
        out.append("")
        out.append(f"== {severity.upper()} ({len(group)}) ==")
        rows = []
        for f in group:
            rows.append((f.target, f.check, f.object, f.summary))
            prose, statement = split_statement(f.recommendation)
            rows.append(("", "", "", ("-> (statement below) " if statement else "-> ") + prose))
        out.append(render_table(["target", "check", "object", "finding / what to do"], rows, max_width=90))
        out += _details(group, evidence)
    if errors:
        out.append("")
        out.append(f"== ERRORS ({len(errors)}) ==")
        out.append(render_table(["target", "check", "error"],
                                [(e.get("target") or "", e.get("check") or "(connect)", e["error"]) for e in errors],
                                max_width=120))
    if not findings and not errors:
        out.append("")
        examined = not coverage or any(c.examined for c in coverage)
        out.append("nothing to report" if examined else "nothing was examined")
    return "\n".join(out)


def md_escape(text: object) -> str:
    """Text safe inside a Markdown table cell: pipes, backticks, HTML and line breaks neutralised."""
    value = "" if text is None else str(text)
    value = value.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    value = value.replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace("*", "\\*").replace("_", "\\_").replace("[", "\\[").replace("]", "\\]")
    # Control characters (a terminal escape in a table name) become spaces, like line breaks.
    value = printable(value)
    return " ".join(value.split())


def findings_markdown(findings: Sequence[Finding], errors: Sequence[dict], host: str, started_at: str,
                      coverage: Sequence[Coverage] = ()) -> str:
    out = [f"## l4agent diagnose: {md_escape(host)} ({md_escape(started_at)})", ""]
    lines = summary_lines(list(coverage))
    if lines:
        out += [f"- coverage {md_escape(target)}: {md_escape(text)}" for target, text in lines]
        out.append("")
    if not findings:
        out.append("No findings.")
    for severity, group in _by_severity(findings):
        out.append(f"### {severity.capitalize()} ({len(group)})")
        out.append("")
        out.append("| # | target | check | object | finding | recommendation |")
        out.append("|---|---|---|---|---|---|")
        statements = []
        for number, f in enumerate(group, 1):
            prose, statement = split_statement(f.recommendation, markup_safe=True)
            if statement is not None:
                statements.append((number, f, statement))
                prose += f" (statement #{number} below)"
            out.append(f"| {number} | {md_escape(f.target)} | {md_escape(f.check)} | {md_escape(f.object)} | "
                       f"{md_escape(f.summary)} | {md_escape(prose)} |")
        out.append("")
        # Statements whole, in code blocks, unescaped: they paste straight into psql/mysql/sqlcmd.
        for number, f, statement in statements:
            out += [f"#{number} {md_escape(f.object)}:", "", *fenced(statement), ""]
    if errors:
        out.append(f"### Errors ({len(errors)})")
        out.append("")
        for e in errors:
            out.append(f"- {md_escape(e.get('target') or '')} {md_escape(e.get('check') or '(connect)')}: "
                       f"{md_escape(e['error'])}")
    return printable("\n".join(out).rstrip() + "\n", multiline=True)
