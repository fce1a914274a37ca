"""Findings for people: a terminal table grouped by severity then target, and Markdown for
pasting into a work record or an e-mail."""

from __future__ import annotations

from collections.abc import Sequence

from l4agent.core.text import printable
from l4agent.diagnostics.base import SEVERITIES, Finding
from l4agent.exporters.tables import render_table


def _by_severity(findings: Sequence[Finding]) -> list[tuple[str, list[Finding]]]:
    groups = []
    for severity in reversed(SEVERITIES):
        group = sorted((f for f in findings if f.severity == severity), key=lambda f: (f.target, f.check, f.object))
        if group:
            groups.append((severity, group))
    return groups


def findings_table(findings: Sequence[Finding], errors: Sequence[dict], host: str, duration: float) -> str:
    out = [f"l4agent diagnose on {printable(host)}: {len(findings)} finding(s), {len(errors)} error(s) in {duration:.1f}s"]
    for severity, group in _by_severity(findings):
        out.append("")
        out.append(f"== {severity.upper()} ({len(group)}) ==")
        rows = []
        for f in group:
            rows.append((f.target, f.check, f.object, f.summary))
            rows.append(("", "", "", f"-> {f.recommendation}"))
        out.append(render_table(["target", "check", "object", "finding / what to do"], rows, max_width=90))
    if errors:
        out.append("")
        out.append(f"== ERRORS ({len(errors)}) ==")
        out.append(render_table(["target", "check", "error"],
                                [(e.get("target") or "", e.get("check") or "(connect)", e["error"]) for e in errors],
                                max_width=120))
    if not findings and not errors:
        out.append("")
        out.append("nothing to report")
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


def findings_markdown(findings: Sequence[Finding], errors: Sequence[dict], host: str, started_at: str) -> str:
    out = [f"## l4agent diagnose: {md_escape(host)} ({md_escape(started_at)})", ""]
    if not findings:
        out.append("No findings.")
    for severity, group in _by_severity(findings):
        out.append(f"### {severity.capitalize()} ({len(group)})")
        out.append("")
        out.append("| # | target | check | object | finding | recommendation |")
        out.append("|---|---|---|---|---|---|")
        for number, f in enumerate(group, 1):
            out.append(f"| {number} | {md_escape(f.target)} | {md_escape(f.check)} | {md_escape(f.object)} | "
                       f"{md_escape(f.summary)} | {md_escape(f.recommendation)} |")
        out.append("")
    if errors:
        out.append(f"### Errors ({len(errors)})")
        out.append("")
        for e in errors:
            out.append(f"- {md_escape(e.get('target') or '')} {md_escape(e.get('check') or '(connect)')}: "
                       f"{md_escape(e['error'])}")
    return printable("\n".join(out).rstrip() + "\n", multiline=True)
