"""Options every command takes (-c/--config, -v, --log-level) and config loading with exit 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import click

from l4agent.agent.configuration import load_config
from l4agent.agent.logsetup import setup_logging
from l4agent.core.config import DEFAULT_CONFIG_PATH, Config, ConfigError

EXIT_FAIL_ON = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def common_options(func: Callable) -> Callable:
    """Add -c/--config, -v/--verbose and --log-level, and set up logging before the command runs."""

    @click.option("-c", "--config", "config_path", metavar="FILE", default=None,
                  help=f"Config file (default {DEFAULT_CONFIG_PATH}; built-in defaults if absent).")
    @click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
    @click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
                  default=None, help="Log level on stderr (default warning; serve: info).")
    @functools.wraps(func)
    def wrapper(*args, config_path, verbose, log_level, **kwargs):
        default = "info" if func.__name__ == "serve" else "warning"
        level = log_level or {0: default, 1: "info"}.get(verbose, "debug")
        setup_logging(level)
        return func(*args, config_path=_config_path(config_path), **kwargs)

    return wrapper


def _config_path(after: str | None) -> str | None:
    """The -c given after the subcommand, else the one given before it (``l4agent -c FILE collect``).
    Two different files are a usage error rather than a silent choice."""
    context = click.get_current_context(silent=True)
    before = context.find_root().params.get("config_path") if context is not None else None
    if before is not None and after is not None and before != after:
        raise click.UsageError(f"-c/--config given twice with different files: {before} and {after}")
    return after if after is not None else before


def load_or_exit(config_path: str | None) -> Config:
    """Load the config, or print one ``config error:`` line per problem and exit 2."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        for line in exc.lines:
            click.echo(line, err=True)
        sys.exit(EXIT_USAGE)
