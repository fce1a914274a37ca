"""``l4agent records list|show|close``: the L4 work records in ``state_dir``."""

from __future__ import annotations

import json
import sys

import click

from l4agent.agent.commands.clikit import EXIT_UNREACHABLE, EXIT_USAGE, common_options, load_or_exit


@click.group()
def records() -> None:
    """The L4 work records `serve` opens when a threshold is breached.

    \b
    Examples:
      l4agent records list --status open          what is open now
      l4agent records list --format json          {"records": [...]}, newest first
      l4agent records show 12                     the record as a specialist reads it
      l4agent records close 12 --note "disk grown to 200 GB"
    """


def _open_store(config, create: bool = False):
    """The store, or None when there is none yet; a locked or corrupt store exits with one line."""
    from l4agent.agent.records.service import open_store_for_cli
    from l4agent.agent.records.store import StoreCorrupt, StoreError, StoreLocked, StoreMissing

    try:
        return open_store_for_cli(config, create=create)
    except StoreMissing:
        return None
    except StoreLocked as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNREACHABLE)
    except StoreCorrupt as exc:
        click.echo(f"error: {exc}; `l4agent serve` moves it aside and starts a new one, "
                   "or restore it from a backup", err=True)
        sys.exit(EXIT_USAGE)
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def _fail(exc: Exception) -> None:
    from l4agent.agent.records.store import StoreLocked

    click.echo(f"error: {exc}", err=True)
    sys.exit(EXIT_UNREACHABLE if isinstance(exc, StoreLocked) else EXIT_USAGE)


@records.command("list")
@click.option("--status", type=click.Choice(["open", "resolved", "closed"]), default=None,
              help="Only records in this status.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="table for people, json for scripts.")
@common_options
def list_records(config_path: str | None, status: str | None, fmt: str) -> None:
    """List the work records, newest first."""
    from l4agent.agent.records import render
    from l4agent.agent.records.store import StoreError

    config = load_or_exit(config_path)
    store = _open_store(config)
    try:
        found = store.list_records(status) if store else []
    except StoreError as exc:
        _fail(exc)
    finally:
        if store:
            store.close()
    data = [record.to_dict() for record in found]
    if fmt == "json":
        click.echo(json.dumps({"records": data}, indent=1))
    else:
        click.echo(render.table(data))


@records.command("show")
@click.argument("record_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True,
              help="markdown to read or paste into the ticket, json for scripts.")
@common_options
def show(config_path: str | None, record_id: int, fmt: str) -> None:
    """Show one record as a specialist reads it: Related, Problems and findings, Requests and
    recommendations, Result, Evidence, Notes, and how delivery to each sink went."""
    from l4agent.agent.records import render
    from l4agent.agent.records.store import StoreError

    config = load_or_exit(config_path)
    store = _open_store(config)
    record = deliveries = None
    try:
        if store:
            record = store.get_record(record_id)
            deliveries = store.deliveries(record_id) if record else None
    except StoreError as exc:
        _fail(exc)
    finally:
        if store:
            store.close()
    if record is None:
        click.echo(f"error: no work record #{record_id}", err=True)
        sys.exit(EXIT_USAGE)
    data = record.to_dict()
    if fmt == "json":
        data["deliveries"] = render.deliveries_summary(deliveries)
        click.echo(json.dumps(data, indent=1))
    else:
        click.echo(render.markdown(data, deliveries), nl=False)


@records.command("close")
@click.argument("record_id", type=int)
@click.option("--note", default=None, metavar="TEXT", help="Why it is closed (kept as the last note).")
@common_options
def close(config_path: str | None, record_id: int, note: str | None) -> None:
    """Close a record by hand. The sinks are told (delivered by `serve`). A breach that
    comes back after a recovery opens a new record linking this one."""
    from l4agent.agent.records.engine import RecordEngine
    from l4agent.agent.records.store import StoreError
    from l4agent.collectors.registry import host_name

    config = load_or_exit(config_path)
    store = _open_store(config)
    if store is None:
        click.echo(f"error: no work record #{record_id} (no store in {config.agent.state_dir} yet)", err=True)
        sys.exit(EXIT_USAGE)
    try:
        engine = RecordEngine(store, config, host_name(config), sinks=[sink.name for sink in config.sinks])
        record = engine.close(record_id, note)
    except (KeyError, ValueError) as exc:
        click.echo(f"error: {exc.args[0]}", err=True)
        sys.exit(EXIT_USAGE)
    except StoreError as exc:
        _fail(exc)
    finally:
        store.close()
    from l4agent.core.text import printable

    click.echo(f"closed work record #{record.id}: {printable(record.title)}")
