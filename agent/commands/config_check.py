"""``l4agent config check``: validate a config file (exit 0, or 2 with one line per problem)."""

from __future__ import annotations

import click

from l4agent.agent.commands.clikit import common_options, load_or_exit


@click.group()
def config() -> None:
    """Work with the config file."""


@config.command("check")
@common_options
def check(config_path: str | None) -> None:
    """Validate the config file: every problem is listed, one line each, then exit 2.

    \b
    Example:
      l4agent config check -c /etc/l4agent/l4agent.toml
    """
    cfg = load_or_exit(config_path)
    source = cfg.path or "built-in defaults (no config file)"
    click.echo(
        f"config ok: {source}: {len(cfg.databases)} database(s), {len(cfg.appservers)} app server(s), "
        f"{len(cfg.probes)} probe(s), {len(cfg.thresholds)} threshold(s), {len(cfg.sinks)} sink(s)"
    )
