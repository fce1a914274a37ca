"""Small helpers shared by the database checks (``perf.*``, ``backup.*``): which catalogs a check
reads, option values given as durations, and the figures people read in a finding.
"""

from __future__ import annotations

from typing import Any

from l4agent.core.durations import DurationError, format_duration, parse_duration
from l4agent.diagnostics.base import Check, CheckContext

#: catalogs (databases, MariaDB schemas) that belong to the server, not to the application
SYSTEM_CATALOGS = {
    "mssql": frozenset({"master", "model", "msdb", "tempdb"}),
    "postgresql": frozenset({"template0", "template1"}),
    "mysql": frozenset({"mysql", "information_schema", "performance_schema", "sys"}),
}


def catalogs(ctx: CheckContext) -> list[str | None]:
    """The catalogs a per-catalog check reads one by one: the target's ``databases``, or the
    DSN's own database (None) when none are listed."""
    return list(ctx.target.databases) or [None]


def in_scope(ctx: CheckContext, catalog: str | None) -> bool:
    """For server-wide reads (statement statistics, MariaDB schemas, SQL Server databases):
    is ``catalog`` one to report on? The listed ``databases``, else every non-system catalog."""
    if catalog is None:
        return not ctx.target.databases
    if ctx.target.databases:
        return catalog in ctx.target.databases
    return catalog not in SYSTEM_CATALOGS.get(ctx.engine, frozenset())


def seconds_option(check: Check, ctx: CheckContext, name: str) -> float:
    """Option ``name`` written as a duration ("7d", "30s"), in seconds; a bad value raises
    ValueError naming the option, which the runner reports as this check's error."""
    value = ctx.options[name]
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(f"diagnostics.{check.id}.{name}: {exc}") from None


def truthy(value: Any) -> bool:
    """A flag from any driver: bool, 0/1, "0"/"1", "t"/"f", "YES"/"NO"."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true", "y", "yes", "on")
    return bool(value)


def age(seconds: float | None) -> str:
    """An age for people: "3d 4h", or "never" for None."""
    return "never" if seconds is None else format_duration(max(0.0, seconds))


def qualified(*parts: str | None) -> str:
    """catalog.schema.table[.index] for a finding's ``object`` (empty parts left out)."""
    return ".".join(str(p) for p in parts if p not in (None, ""))


def first_line(text: Any, limit: int = 300) -> str:
    """A statement's text squeezed to one line for evidence and summaries."""
    squeezed = " ".join(str(text or "").split())
    return squeezed if len(squeezed) <= limit else squeezed[: limit - 1] + "…"


def who(user: Any, host: Any, application: Any = None) -> str:
    """A session's owner for people: "erp@10.0.0.5 (Lucee)"."""
    text = f"{user or '?'}@{host or 'local'}"
    return f"{text} ({application})" if application else text


def compose(template: str, **parts: str) -> str:
    """A statement assembled at import time from constant parts (a shared CTE, a fixed list of
    names): the one place where SQL text is formatted. Never pass anything read at run time."""
    return template.format(**parts)  # nosec B608 - constants only, see the docstring
