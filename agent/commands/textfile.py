"""``l4agent textfile -o FILE``: one collection written for node_exporter's textfile collector."""

from __future__ import annotations

import sys

import click

from l4agent.agent.commands.clikit import EXIT_UNREACHABLE, common_options, load_or_exit


@click.command()
@click.option("-o", "--output", required=True, metavar="FILE",
              help="Where to write, e.g. /var/lib/prometheus/node-exporter/l4agent.prom")
@common_options
def textfile(config_path: str | None, output: str) -> None:
    """Collect once and write the Prometheus text format to FILE atomically (temp file + rename).

    For hosts that already run node_exporter: point its --collector.textfile.directory at
    FILE's folder and run this from cron or a systemd timer.
    """
    from l4agent.collectors.registry import build_collectors, host_name
    from l4agent.collectors.runner import CollectionRunner
    from l4agent.exporters.textfile import write_textfile

    config = load_or_exit(config_path)
    runner = CollectionRunner(build_collectors(config), host_name(config))
    try:
        snapshot = runner.run_once()
    finally:
        runner.close()
    try:
        write_textfile(output, snapshot.samples)
    except OSError as exc:
        click.echo(f"error: cannot write {output}: {exc.strerror}", err=True)
        sys.exit(2)
    for error in snapshot.errors:
        click.echo(f"error: {error['collector']} {error.get('target') or ''}: {error['error']}", err=True)
    if snapshot.errors:
        sys.exit(EXIT_UNREACHABLE)
