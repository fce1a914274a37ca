"""``l4agent diagnose``: run the diagnostics once and print the findings."""

from __future__ import annotations

import json
import sys

import click

from l4agent.agent.commands.clikit import (
    EXIT_FAIL_ON,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    common_options,
    load_or_exit,
)


@click.command()
@click.option("--check", "prefixes", multiple=True, metavar="PREFIX",
              help="Only checks whose id starts with PREFIX (perf, schema, backup, capacity, security, "
                   "or a full id like perf.missing_index); repeatable.")
@click.option("--target", default=None, metavar="NAME", help="Only this database target (or 'host').")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True,
              help="table for people, json for scripts, markdown for a work record or an e-mail.")
@click.option("--fail-on", type=click.Choice(["warning", "critical"]), default=None,
              help="Exit 1 when a finding of this severity or worse is found.")
@click.option("--evidence", is_flag=True,
              help="Table format: show each finding's evidence (also with -v/--verbose).")
@click.option("--list", "list_checks", is_flag=True, help="List the available checks and exit.")
@common_options
def diagnose(config_path: str | None, prefixes: tuple[str, ...], target: str | None, fmt: str,
             fail_on: str | None, evidence: bool, list_checks: bool) -> None:
    """Run SQL performance, normalization, backup, capacity and security checks once.

    Checks run on the host and on every [[databases]] target (read-only, with lock and
    statement timeouts); a check that does not apply to an engine is not run there.

    \b
    Examples:
      l4agent diagnose -c erp.toml                      everything, as a table
      l4agent diagnose --check schema --target erp      normalization of one target
      l4agent diagnose --format markdown > findings.md  for a work record
      l4agent diagnose --fail-on critical               for cron: exit 1 on critical
    """
    from l4agent.diagnostics.base import SEVERITY_RANK
    from l4agent.diagnostics.registry import select
    from l4agent.diagnostics.runner import run_diagnostics

    if list_checks:
        from l4agent.exporters.tables import render_table

        click.echo(render_table(["check", "engines", "what it finds"],
                                [(c.id, ",".join(sorted(c.engines)), c.title) for c in select(prefixes)], max_width=90))
        return
    config = load_or_exit(config_path)
    unknown = unknown_names(config, prefixes, target)
    if unknown:
        for line in unknown:
            click.echo(f"usage error: {line}", err=True)
        sys.exit(EXIT_USAGE)
    result = run_diagnostics(config, prefixes, target)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=1))
        # The JSON carries every error; one line on stderr says so to a person watching a script.
        if result.incomplete:
            click.echo(f"diagnose incomplete: {len(result.errors)} error(s); see \"errors\" and \"coverage\"",
                       err=True)
    elif fmt == "markdown":
        from l4agent.exporters.findings import findings_markdown

        click.echo(findings_markdown(result.findings, result.errors, result.host, result.started_at,
                                     coverage=result.coverage), nl=False)
    else:
        from l4agent.exporters.findings import findings_table

        verbose = (click.get_current_context().params.get("verbose") or 0) > 0
        click.echo(findings_table(result.findings, result.errors, result.host, result.duration_seconds,
                                  coverage=result.coverage, evidence=evidence or verbose))
    if fail_on and any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK[fail_on] for f in result.findings):
        sys.exit(EXIT_FAIL_ON)
    if result.incomplete:
        sys.exit(EXIT_UNREACHABLE)


def unknown_names(config, prefixes: tuple[str, ...], target: str | None) -> list[str]:
    """One line per ``--check`` prefix that matches no check and per ``--target`` that names
    nothing configured (exit 2: a typo must not read as "nothing to report")."""
    from l4agent.collectors.registry import host_name
    from l4agent.diagnostics.base import HOST
    from l4agent.diagnostics.registry import select

    lines = [f"--check {p!r} matches no check (l4agent diagnose --list shows them)"
             for p in prefixes if not select((p,))]
    if target is not None:
        known = {db.name for db in config.databases} | {HOST, host_name(config)}
        if target not in known:
            names = ", ".join(sorted(known))
            lines.append(f"--target {target!r} names no target (configured: {names})")
    return lines
