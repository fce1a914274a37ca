"""``l4agent remote collect|diagnose``: the same collection and diagnostics over SSH, on one host
or a fleet, with host keys verified."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable

import click

from l4agent.agent.commands.clikit import (
    EXIT_FAIL_ON,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    common_options,
    load_or_exit,
)
from l4agent.core.durations import DurationError, parse_duration

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


class Duration(click.ParamType):
    """``"10s"``, ``"2m"``, or plain seconds."""

    name = "DURATION"

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            seconds = float(value) if re.fullmatch(r"[0-9]+(\.[0-9]+)?", value) else parse_duration(value)
        except DurationError as exc:
            self.fail(str(exc), param, ctx)
        except ValueError:  # a digit float() refuses ('²')
            self.fail(f'invalid duration {value[:40]!r}: use e.g. "10s" or "2m"', param, ctx)
        if seconds <= 0:
            self.fail("must be greater than zero", param, ctx)
        return seconds


def remote_options(command_timeout: str) -> Callable:
    """The options both subcommands take."""

    def decorate(func: Callable) -> Callable:
        options = [
            click.argument("hosts", nargs=-1, metavar="[HOST]..."),
            click.option("--inventory", metavar="FILE", help="TOML inventory of hosts (and their database targets)."),
            click.option("--parallel", type=click.IntRange(1, 500), default=10, show_default=True,
                         help="Hosts worked on at the same time."),
            click.option("-i", "--identity", metavar="FILE", help="Private key file (the SSH agent is used too)."),
            click.option("--known-hosts", metavar="FILE", default=DEFAULT_KNOWN_HOSTS, show_default=True,
                         help="Host keys to verify against; unknown or changed keys are refused."),
            click.option("--accept-new", is_flag=True,
                         help="Record a first-seen host key in --known-hosts (a changed key is still refused)."),
            click.option("--jump", metavar="[USER@]HOST[:PORT]", help="Reach the hosts through this bastion."),
            click.option("--connect-timeout", type=Duration(), default="10s", show_default=True,
                         help="For TCP connect, SSH handshake and login, per host."),
            click.option("--command-timeout", type=Duration(), default=command_timeout, show_default=True,
                         help="For each command on a host (and agentless diagnostics)."),
            click.option("--mode", type=click.Choice(["auto", "agent", "agentless"]), default="auto", show_default=True,
                         help="auto: run l4agent on the host where it is installed, else read the host agentless."),
            click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


@click.group()
def remote() -> None:
    """Run collect or diagnose on other hosts over SSH (one host or a fleet).

    HOST is [user@]host[:port]; --inventory FILE lists hosts with their SSH settings and the
    database targets to diagnose through an SSH port-forward where l4agent is not installed.
    Where l4agent is installed on a host it runs there with that host's config (agent mode);
    elsewhere read-only commands are used and nothing is written on the host (agentless).

    \b
    Examples:
      l4agent remote collect l4@db1 l4@db2:2222
      l4agent remote diagnose --inventory customers.toml --check backup
      l4agent remote collect --inventory fleet.toml --format json --parallel 20

    Exit codes: 0 every host answered; 1 --fail-on reached; 2 usage error; 3 a host failed
    or could not be reached, or a host could not read one of its targets (as `l4agent collect`
    and `diagnose` exit there); everything reached is still printed.
    """


@remote.command()
@remote_options(command_timeout="60s")
@common_options
def collect(config_path, **options) -> None:
    """One collection on every host, like `l4agent collect` there."""
    _run("collect", config_path, **options)


@remote.command()
@remote_options(command_timeout="10m")
@click.option("--check", "prefixes", multiple=True, metavar="PREFIX", help="Only checks whose id starts with PREFIX.")
@click.option("--target", default=None, metavar="NAME", help="Only this database target.")
@click.option("--fail-on", type=click.Choice(["warning", "critical"]), default=None,
              help="Exit 1 when any host has a finding of this severity or worse.")
@click.option("--record", is_flag=True, help="Open/update work records from the findings, as the daemon does.")
@common_options
def diagnose(config_path, prefixes, target, fail_on, record, **options) -> None:
    """Diagnostics on every host, like `l4agent diagnose` there.

    Agentless hosts: the database checks of the inventory's targets run from here through an SSH
    port-forward with this machine's ODBC drivers; host checks need l4agent on the host.
    """
    _run("diagnose", config_path, prefixes=prefixes, target=target, fail_on=fail_on, record=record, **options)


def _usage_error(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _run(action: str, config_path, hosts, inventory, parallel, identity, known_hosts, accept_new, jump,
         connect_timeout, command_timeout, mode, fmt, prefixes=(), target=None, fail_on=None, record=False) -> None:
    from l4agent.agent.remote import agent_mode, output
    from l4agent.agent.remote.fleet import ProgressBar, run_fleet
    from l4agent.agent.remote.hosts import host_from_argument, load_inventory, parse_address
    from l4agent.agent.remote.jobs import Request, run_host
    from l4agent.agent.remote.known_hosts import KnownHosts
    from l4agent.agent.remote.ssh import Connector, load_identity
    from l4agent.core.config import ConfigError

    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # every failure is reported per host
    config = load_or_exit(config_path)
    try:
        jump_address = parse_address(jump) if jump else None
    except ValueError as exc:
        _usage_error(f"--jump: {exc}")
    identities = {}
    if identity:
        try:
            identities[identity] = load_identity(identity)
        except ValueError as exc:
            _usage_error(str(exc))
    specs = []
    for text in hosts:
        try:
            specs.append(host_from_argument(text, identity, jump_address))
        except ValueError as exc:
            _usage_error(f"HOST {exc}")
    if inventory:
        try:
            specs += load_inventory(inventory, identity, jump_address)
        except ConfigError as exc:
            for line in exc.lines:
                click.echo(line, err=True)
            sys.exit(EXIT_USAGE)
    if not specs:
        _usage_error("no hosts: give HOST arguments or --inventory FILE (see --help)")
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        _usage_error(f"host given twice: {', '.join(duplicates)}")
    try:
        known = KnownHosts(known_hosts, accept_new=accept_new)
    except OSError as exc:
        _usage_error(f"--known-hosts {known_hosts}: {exc.strerror}")

    request = Request(action, config, mode, command_timeout, tuple(prefixes), target)
    connector = Connector(known, connect_timeout, identities)
    # A host is given up on after: jump + connect, mode probe, the command and its grace.
    deadline = 3 * connect_timeout + command_timeout + agent_mode.GRACE + 5
    progress = ProgressBar(len(specs), sys.stderr) if fmt != "json" and sys.stderr.isatty() else None
    started = time.monotonic()
    try:
        results = run_fleet(specs, lambda spec, cancel: run_host(spec, request, connector, cancel), parallel,
                            deadline, progress.update if progress else None)
    finally:
        connector.close()
        if progress:
            progress.finish()
    elapsed = time.monotonic() - started

    if fmt == "json":
        click.echo(output.to_json(results))
    else:
        click.echo(output.render_results(results, action, elapsed))
    if record:
        _record(config, results, specs, prefixes)
    if fail_on:
        from l4agent.diagnostics.base import SEVERITY_RANK

        worst = [f for r in results if r.ok and r.result for f in output.findings_from_json(r.result)]
        if any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK[fail_on] for f in worst):
            sys.exit(EXIT_FAIL_ON)
    if any(not r.ok or output.target_unreachable(r, action) for r in results):
        sys.exit(EXIT_UNREACHABLE)


def _record(config, results, specs, prefixes) -> None:
    from l4agent.agent.remote.records_adapter import record_findings

    try:
        lines = record_findings(config, results, specs, prefixes)
    except Exception as exc:  # noqa: BLE001 - the findings are printed already; say why records were not
        from l4agent.core.redact import redact
        from l4agent.core.text import printable

        click.echo(f"error: --record: {printable(redact(str(exc))) or type(exc).__name__}", err=True)
        sys.exit(EXIT_UNREACHABLE)
    from l4agent.core.text import printable

    for line in lines:
        click.echo(printable(line), err=True)  # record titles carry the hosts' names
