"""``l4agent diagnose``: run the diagnostics once and print the findings."""

from __future__ import annotations

import json
import sys

import click

from l4agent.agent.commands.clikit import EXIT_FAIL_ON, EXIT_UNREACHABLE, common_options, load_or_exit


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
    result = run_diagnostics(config, prefixes, target)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=1))
    elif fmt == "markdown":
        from l4agent.exporters.findings import findings_markdown

        click.echo(findings_markdown(result.findings, result.errors, result.host, result.started_at), nl=False)
    else:
        from l4agent.exporters.findings import findings_table

        verbose = (click.get_current_context().params.get("verbose") or 0) > 0
        click.echo(findings_table(result.findings, result.errors, result.host, result.duration_seconds,
                                  evidence=evidence or verbose))
    for error in result.errors:
        click.echo(f"error: {error.get('target') or ''} {error.get('check') or '(connect)'}: {error['error']}", err=True)
    if fail_on and any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK[fail_on] for f in result.findings):
        sys.exit(EXIT_FAIL_ON)
    if result.unreachable:
        sys.exit(EXIT_UNREACHABLE)
