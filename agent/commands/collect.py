"""``l4agent collect``: one collection of every configured collector, printed."""

from __future__ import annotations

import json
import sys

import click

from l4agent.agent.commands.clikit import EXIT_UNREACHABLE, common_options, load_or_exit


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json", "prom"]), default="table", show_default=True,
              help="table for people, json for scripts, prom for the Prometheus text format.")
@click.option("--collector", "only", multiple=True, metavar="NAME",
              help="Only these collectors (os, network, probe, database, appserver); repeatable.")
@common_options
def collect(config_path: str | None, fmt: str, only: tuple[str, ...]) -> None:
    """Run one collection of every configured collector and print it.

    \b
    Examples:
      l4agent collect                       a table of this host's OS and network
      l4agent collect -c erp.toml --format json | jq '.errors'
      l4agent collect --format prom         what /metrics would serve

    Exits 3 when a collector could not read its target (the rest is still printed).
    """
    from l4agent.collectors.registry import build_collectors, host_name
    from l4agent.collectors.runner import CollectionRunner

    config = load_or_exit(config_path)
    runner = CollectionRunner(build_collectors(config, set(only) or None), host_name(config))
    try:
        snapshot = runner.run_once()
    finally:
        runner.close()
    if fmt == "json":
        click.echo(json.dumps(snapshot.to_dict(), indent=1))
    elif fmt == "prom":
        from l4agent.exporters.prometheus import render

        sys.stdout.write(render(snapshot.samples).decode("utf-8"))
    else:
        from l4agent.exporters.collection_table import render_collection

        click.echo(render_collection(snapshot))
    if snapshot.errors:
        for error in snapshot.errors:
            target = f" {error['target']}" if error.get("target") else ""
            click.echo(f"error: {error['collector']}{target}: {error['error']}", err=True)
        sys.exit(EXIT_UNREACHABLE)
