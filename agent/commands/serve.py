"""``l4agent serve``: the daemon."""

from __future__ import annotations

import signal
import sys

import click

from l4agent.agent.commands.clikit import common_options, load_or_exit


@click.command()
@click.option("--listen", default=None, metavar="HOST:PORT", help="Override [agent] listen.")
@common_options
def serve(config_path: str | None, listen: str | None) -> None:
    """Run the daemon: collect every interval, serve /metrics and the status page, evaluate
    thresholds and keep the L4 work records.

    SIGTERM or SIGINT stops it cleanly within a second (exit 0). A worker thread that dies
    (collection loop, work-record writer, sink delivery) makes /healthz 503 and ends serve with
    exit 1, so the service manager restarts it.
    """
    import dataclasses
    import logging

    from l4agent.agent.daemon import Daemon
    from l4agent.core.config import parse_listen

    config = load_or_exit(config_path)
    if listen:
        try:
            host, port = parse_listen(listen)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--listen") from None
        config = dataclasses.replace(config, agent=dataclasses.replace(config.agent, listen_host=host, listen_port=port))
    from l4agent.agent.config_warnings import warning_lines

    for line in warning_lines(config):  # once, at start: what `config check` warns about
        logging.getLogger("l4agent.agent.serve").warning("%s", line)
    try:
        daemon = Daemon(config)
    except (OSError, ValueError) as exc:  # unreadable TLS files, a key that does not match its cert
        click.echo(f"error: cannot set up the web server: {exc}", err=True)
        sys.exit(2)
    try:
        daemon.start()
    except OSError as exc:
        click.echo(f"error: cannot listen on {config.agent.listen}: {exc.strerror}", err=True)
        daemon.stop()
        sys.exit(2)

    def _on_signal(signum, frame):
        daemon.request_stop()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    daemon.wait()
    logging.getLogger("l4agent.agent.serve").info("stopping")
    daemon.stop()
    if daemon.failure is not None:
        click.echo(f"error: {daemon.failure} (see the log)", err=True)
        sys.exit(1)
