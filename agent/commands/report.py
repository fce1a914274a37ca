"""``l4agent report``: the health report for cron or a systemd timer."""

from __future__ import annotations

import json
import os
import sys
import tempfile

import click

from l4agent.agent.commands.clikit import (
    EXIT_FAIL_ON,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    common_options,
    load_or_exit,
)


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    from l4agent.core.durations import DurationError, parse_duration

    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        raise click.BadParameter(str(exc)) from None
    if seconds <= 0:
        raise click.BadParameter("must be greater than zero")
    return seconds


def write_atomically(path: str, text: str) -> None:
    """Write ``path`` so a reader (a web server, a mail job) never sees half a report."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o640)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


@click.command()
@click.option("--format", "fmt", type=click.Choice(["html", "markdown", "json"]), default="html", show_default=True,
              help="html: one self-contained page (charts inline, opens offline); markdown: for a work record or "
                   "an e-mail; json: for scripts.")
@click.option("-o", "--output", metavar="FILE", default=None, help="Write the report to FILE (atomically) instead of stdout.")
@click.option("--since", metavar="DURATION", callback=_since, default=None,
              help='Compare with the report kept from about DURATION ago (e.g. "24h"): what is new and what was '
                   "resolved since.")
@click.option("--mail-to", "mail_to", metavar="ADDR", multiple=True,
              help='Also mail the report (text and HTML) to ADDR through the [[sinks]] entry with type = "smtp"; '
                   "repeatable.")
@click.option("--fail-on", type=click.Choice(["warning", "critical"]), default=None,
              help="Exit 1 when the verdict is this bad or worse.")
@common_options
def report(config_path: str | None, fmt: str, output: str | None, since: float | None, mail_to: tuple[str, ...],
           fail_on: str | None) -> None:
    """Collect, diagnose and summarise this host in one health report.

    The verdict (OK, warning, critical) and its reasons come first, then what changed since
    the last report (with --since), the findings by severity with what to do, the open work
    records with their SLA due times, charts (filesystem usage, the last week's CPU, memory
    and disk, the disk-full forecast, the top queries) and a table per layer.

    Every run keeps a short summary in state_dir for the next run's --since.

    \b
    Examples:
      l4agent report -o /var/lib/l4agent/reports/report.html
      l4agent report --since 24h --mail-to ops@example.com -o report.html
      l4agent report --format markdown > today.md
    """
    from l4agent.agent.reporting import make_report
    from l4agent.exporters.report.html import render_html
    from l4agent.exporters.report.markdown import render_markdown
    from l4agent.exporters.report.model import VERDICT_RANK

    config = load_or_exit(config_path)
    sink = None
    if mail_to:
        from l4agent.exporters.report.mail import smtp_sink

        sink = smtp_sink(config)
        if sink is None:
            click.echo('error: --mail-to needs a [[sinks]] entry with type = "smtp" in the config', err=True)
            sys.exit(EXIT_USAGE)
    if output:
        directory = os.path.dirname(os.path.abspath(output))
        if not os.path.isdir(directory):
            click.echo(f"error: -o {output}: the directory {directory} does not exist", err=True)
            sys.exit(EXIT_USAGE)

    result, warnings = make_report(config, since)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if fmt == "html":
        text = render_html(result)
    elif fmt == "markdown":
        text = render_markdown(result)
    else:
        text = json.dumps(result.to_dict(), indent=1, ensure_ascii=False) + "\n"
    if output:
        try:
            write_atomically(output, text)
        except OSError as exc:
            click.echo(f"error: cannot write {output}: {exc.strerror}", err=True)
            sys.exit(EXIT_USAGE)
    else:
        click.echo(text, nl=False)
    for error in result.errors:
        click.echo(f"error: {error['target']} {error['what']}: {error['error']}", err=True)

    mail_failed = False
    if sink is not None:
        from l4agent.agent.reporting.mailer import MailError, send_report

        subject = f"l4agent report {result.host}: {result.verdict.upper()}"
        if result.verdict != "ok":
            subject += f" ({result.reasons[0]})" if result.reasons else ""
        try:
            send_report(sink, subject[:200], render_markdown(result), render_html(result), mail_to)
            click.echo(f"report mailed to {', '.join(mail_to)} via {sink.host}", err=True)
        except MailError as exc:
            click.echo(f"error: report not mailed: {exc}", err=True)
            mail_failed = True

    if fail_on and VERDICT_RANK[result.verdict] >= VERDICT_RANK[fail_on]:
        sys.exit(EXIT_FAIL_ON)
    if result.incomplete or mail_failed:
        sys.exit(EXIT_UNREACHABLE)
