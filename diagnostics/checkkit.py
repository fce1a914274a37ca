"""Small helpers shared by the database checks (``perf.*``, ``backup.*``): which catalogs a check
reads, option values given as durations, and the figures people read in a finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from l4agent.core.durations import DurationError, format_duration, parse_duration
from l4agent.dbaccess.connection import DatabaseError
from l4agent.dbaccess.values import truthy  # noqa: F401 - re-exported for the checks
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.coverage import NotExamined

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


def each_catalog(check: Check, ctx: CheckContext,
                 read: Callable[[str | None], Iterable[Finding]]) -> Iterator[Finding]:
    """The findings of ``read(catalog)`` for every catalog of :func:`catalogs`, each in
    isolation: a catalog that fails (database error, :class:`NotExamined`) is one error entry and
    a ``not_examined`` item for that catalog, and the other catalogs' findings still come out.
    When every catalog fails the check raises :class:`NotExamined` (the runner's error entry)."""
    names, _ = readable_catalogs(ctx, check)  # SQL Server: offline, restoring, no access: skipped and said
    failed: dict[str | None, str] = {}
    for catalog in names:
        try:
            found = list(read(catalog))
        except (DatabaseError, NotExamined) as exc:
            if isinstance(exc, DatabaseError) and exc.kind == "closed":
                raise  # the connection is gone: the whole target, not this catalog
            failed[catalog] = getattr(exc, "why", None) or str(exc)
            continue
        ctx.examined("catalogs", 1, catalog=catalog)
        yield from found
    if failed and len(failed) == len(names) and len(names) == 1:
        [(catalog, why)] = failed.items()
        raise NotExamined(why, catalog)
    for catalog, why in failed.items():
        ctx.not_examined(check.id, why, catalog=catalog)
        ctx.error(why, catalog=catalog, what=check.id)


#: MariaDB/MySQL: is performance_schema on, and is a consumer enabled (statements_digest for
#: statement statistics)? Readable with SELECT on performance_schema.*, which the monitor has.
PERFORMANCE_SCHEMA = """
SELECT @@performance_schema AS performance_schema_on,
       (SELECT MAX(CASE WHEN enabled = 'YES' THEN 1 ELSE 0 END) FROM performance_schema.setup_consumers
        WHERE name = ?) AS consumer_on
"""


def require_performance_schema(check: Check, ctx: CheckContext, consumer: str | None = None) -> None:
    """Raise :class:`NotExamined` when the statistics ``check`` reads on MariaDB/MySQL are not
    collected: performance_schema OFF (MariaDB's default) or ``consumer`` disabled. Empty tables
    would otherwise read as "nothing to report". ``check.queries["mysql"]["performance_schema"]``
    is :data:`PERFORMANCE_SCHEMA`."""
    row = ctx.query(check, "performance_schema", [consumer or ""])[0]
    if not truthy(row["performance_schema_on"]):
        raise NotExamined("performance_schema is OFF (set performance_schema = ON in the server's "
                          "configuration and restart it)")
    if consumer and not truthy(row["consumer_on"]):
        option = "performance-schema-consumer-" + consumer.replace("_", "-")
        raise NotExamined(f"performance_schema consumer {consumer} is disabled (set {option} = ON in the "
                          "server's configuration)")
# SQL Server: every database's state, read once before a per-catalog loop (a check that walks
# catalogs lists it as its "catalog_state" statement). A catalog is read only when it is ONLINE,
# the login may enter it (HAS_DBACCESS) and it is not SINGLE_USER; is_secondary marks an
# availability-group secondary (readable or not).
# https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-databases-transact-sql
MSSQL_CATALOG_STATE = """
SELECT d.name, d.state_desc, d.user_access_desc, d.is_in_standby,
       CAST(DATABASEPROPERTYEX(d.name, 'Updateability') AS nvarchar(20)) AS updateability,
       HAS_DBACCESS(d.name) AS has_access,
       CASE WHEN drs.is_primary_replica = 0 THEN 1 ELSE 0 END AS is_secondary
FROM sys.databases AS d
LEFT JOIN sys.dm_hadr_database_replica_states AS drs
       ON drs.database_id = d.database_id AND drs.is_local = 1
"""


def catalog_states(ctx: CheckContext, check: Check) -> dict[str, dict[str, Any]]:
    """SQL Server: name -> the MSSQL_CATALOG_STATE row (empty on the other engines)."""
    if ctx.engine != "mssql":
        return {}
    return {str(row["name"]): row for row in ctx.query(check, "catalog_state", max_rows=100_000)}


def unreadable_reason(row: dict[str, Any] | None) -> str | None:
    """Why a SQL Server catalog cannot be read (None: it can)."""
    if row is None:
        return "no such database on this server"
    if str(row.get("state_desc") or "").upper() != "ONLINE":
        return f"the database is {row.get('state_desc')}"
    if str(row.get("user_access_desc") or "").upper() == "SINGLE_USER":
        return "the database is in SINGLE_USER mode"
    if not truthy(row.get("has_access")):
        return "the login may not enter it (HAS_DBACCESS = 0: no user mapped, or a non-readable secondary)"
    return None


def readable_catalogs(ctx: CheckContext, check: Check) -> tuple[list[str | None], dict[str, dict[str, Any]]]:
    """The catalogs a per-catalog check reads (see :func:`catalogs`) that can be read, and the
    state rows (SQL Server); every other one is recorded as not examined with its reason."""
    names = catalogs(ctx)
    if ctx.engine != "mssql" or names == [None]:
        return names, {}
    states = catalog_states(ctx, check)
    readable: list[str | None] = []
    for name in names:
        reason = unreadable_reason(states.get(name or ""))
        if reason:
            ctx.not_examined(check.id, f"catalog {name} skipped: {reason}", catalog=name)
        else:
            readable.append(name)
    return readable, states


def isolated(ctx: CheckContext, check: Check, catalog: str | None,
             work: Callable[[], Iterable[Finding]]) -> list[Finding]:
    """The findings of ``work`` on one catalog; a database error there (offline, restoring, not
    readable, timed out: SQL Server 942/927/976) is recorded as that catalog not examined, and the
    next catalog is still read."""
    try:
        found = list(work())
    except DatabaseError as exc:
        if exc.kind == "closed":
            raise
        why = f"catalog {catalog or '(dsn default)'} skipped: {exc}"
        ctx.not_examined(check.id, why, catalog=catalog)
        ctx.error(why, catalog=catalog, what=check.id)
        return []
    ctx.examined("catalogs", 1, catalog=catalog)
    return found


def level(value: float, warning: float, critical: float) -> str | None:
    """critical, warning, or None for a value judged against "above is bad" levels."""
    if value >= critical:
        return "critical"
    if value >= warning:
        return "warning"
    return None


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 table``, ``2 tables``; ``words`` for an irregular plural."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


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
