"""``l4agent config check``: validate a config file (exit 0, or 2 with one line per problem)."""

from __future__ import annotations

import sys

import click

from l4agent.agent.commands.clikit import EXIT_USAGE, common_options, load_or_exit


@click.group()
def config() -> None:
    """Work with the config file."""


@config.command("check")
@click.option("--strict", is_flag=True, help="Treat warnings (risky but valid settings) as errors: exit 2.")
@common_options
def check(config_path: str | None, strict: bool) -> None:
    """Validate the config file: every problem is listed, one line each, then exit 2.

    Risky settings that are still valid print one `config warning:` line each (exit 0):
    /metrics on a non-loopback address with neither TLS nor basic auth, a bearer token sent to
    an http:// sink, a password_env that is not set here, an ODBC driver unixODBC does not know.

    \b
    Example:
      l4agent config check -c /etc/l4agent/l4agent.toml
      l4agent config check --strict     # warnings fail too (CI, deployment pipelines)
    """
    from l4agent.agent.config_warnings import warning_lines

    cfg = load_or_exit(config_path)
    warnings = warning_lines(cfg)
    for line in warnings:
        click.echo(line, err=True)
    if warnings and strict:
        sys.exit(EXIT_USAGE)
    source = cfg.path or "built-in defaults (no config file)"
    click.echo(
        f"config ok: {source}: {len(cfg.databases)} database(s), {len(cfg.appservers)} app server(s), "
        f"{len(cfg.probes)} probe(s), {len(cfg.thresholds)} threshold(s), {len(cfg.sinks)} sink(s)"
    )
