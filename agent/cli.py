"""The ``l4agent`` command line.

Subcommands live one per module in ``agent.commands`` and are imported only when run, so
``l4agent --version`` (the cron path) does not load psutil, pyodbc or paramiko.
"""

from __future__ import annotations

import importlib

import click

from l4agent import __version__

# name -> "module:attribute"; a new command is one module plus one line here.
COMMANDS = {
    "collect": "l4agent.agent.commands.collect:collect",
    "config": "l4agent.agent.commands.config_check:config",
    "diagnose": "l4agent.agent.commands.diagnose:diagnose",
    "hash-password": "l4agent.agent.commands.hash_password:hash_password",
    "install-systemd": "l4agent.agent.commands.install_systemd:install_systemd",
    "remote": "l4agent.agent.commands.remote:remote",
    "records": "l4agent.agent.commands.records:records",
    "report": "l4agent.agent.commands.report:report",
    "serve": "l4agent.agent.commands.serve:serve",
    "textfile": "l4agent.agent.commands.textfile:textfile",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            module_name, attribute = COMMANDS[name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="l4agent", message="%(prog)s %(version)s")
@click.option("-c", "--config", "config_path", metavar="FILE", default=None,
              help="Config file for the command that follows (the same as giving -c after it).")
def main(config_path: str | None) -> None:
    """l4agent: monitoring and L4 diagnostics for ERP servers.

    It collects OS, network, database and app-server metrics for Prometheus, runs SQL
    performance, normalization, backup, capacity and security checks, and opens an L4 work
    record when a threshold is breached.

    \b
    Start here:
      l4agent collect --format table        what this host looks like now
      l4agent diagnose --format table       what an L4 specialist should fix
      l4agent serve                         the daemon: /metrics on 127.0.0.1:9847
      l4agent config check -c FILE          validate a config file

    Every command takes -c/--config FILE, before or after its name (`l4agent -c FILE
    collect` = `l4agent collect -c FILE`; default /etc/l4agent/l4agent.toml; without that
    file the agent watches this host with built-in defaults).

    \b
    Exit codes: 0 ran; 1 --fail-on level reached; 2 usage or config error;
    3 a target could not be reached (partial results are still printed).
    """
