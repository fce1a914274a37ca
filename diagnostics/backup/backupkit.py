"""What the backup checks share: which databases they judge, ages in total seconds, and the
time windows they judge against."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from l4agent.diagnostics.base import Check, CheckContext
from l4agent.diagnostics.checkkit import seconds_option, truthy


def backed_up_here(ctx: CheckContext, row: dict[str, Any]) -> bool:
    """Is this SQL Server database one whose backups this instance's msdb should show?

    Every database the target lists (all but tempdb when it lists none), except availability-group
    databases for which this replica is not the preferred backup replica: their backups run and
    are recorded on another replica.
    """
    name = row["name"]
    if ctx.target.databases and name not in ctx.target.databases:
        return False
    if name in ctx.options.get("ignore_databases", ()):
        return False
    return truthy(row.get("is_preferred_backup_replica", 1))


def age_seconds(now: datetime | None, then: datetime | None) -> float | None:
    """``now - then`` in total seconds (never a timedelta's day or seconds part); None when
    either is missing. Both come from the same server clock (GETDATE() and msdb dates)."""
    if now is None or then is None:
        return None
    return (now - then).total_seconds()


def log_window(check: Check, ctx: CheckContext) -> float:
    """Seconds within which a log backup / WAL archive is expected: the target's
    ``log_backup_window``, else the check's ``window`` option."""
    if ctx.target.log_backup_window:
        return ctx.target.log_backup_window
    return seconds_option(check, ctx, "window")
