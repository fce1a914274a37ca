"""The diagnostic check model: a Check is a unit with an id, the engines it applies to, its
named SQL statements per engine, its default options, and a function from rows to findings.

A finding says what (``summary``), where (``target`` and ``object``), why it matters and what
to do (``recommendation``), with the figures behind it (``evidence``, capped).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from l4agent.core.samples import Sample
from l4agent.diagnostics.coverage import CoverageLog

if TYPE_CHECKING:
    from l4agent.collectors.appserver.app_history import AppHistories
    from l4agent.core.config import Config, DatabaseConfig

SEVERITIES = ("info", "warning", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
HOST = "host"  # the pseudo-engine of checks that read the host, not a database
EVIDENCE_MAX_ROWS = 20
EVIDENCE_MAX_TEXT = 2000


@dataclass
class Finding:
    """One thing a specialist should look at. ``object`` is catalog.schema.table[.index] or a
    path/metric; ``evidence`` is JSON-serialisable."""

    check: str
    severity: str
    target: str
    object: str
    summary: str
    recommendation: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITY_RANK:
            raise ValueError(f"severity {self.severity!r} is not one of {SEVERITIES}")
        self.evidence = cap_evidence(self.evidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "target": self.target,
            "object": self.object,
            "summary": self.summary,
            "evidence": self.evidence,
            "recommendation": self.recommendation,
        }

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two findings the same problem (used for work-record fingerprints)."""
        return (self.check, self.target, self.object)


def cap_evidence(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """Keep evidence small: lists to EVIDENCE_MAX_ROWS items, strings to EVIDENCE_MAX_TEXT chars,
    everything JSON-safe (datetimes and decimals become strings/floats)."""

    def cap(value: Any) -> Any:
        if isinstance(value, str):
            return value if len(value) <= EVIDENCE_MAX_TEXT else value[:EVIDENCE_MAX_TEXT] + "…"
        if isinstance(value, bool | int | float) or value is None:
            return value
        if isinstance(value, Mapping):
            return {str(k): cap(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            items = [cap(v) for v in list(value)[:EVIDENCE_MAX_ROWS]]
            if len(value) > EVIDENCE_MAX_ROWS:
                items.append(f"… {len(value) - EVIDENCE_MAX_ROWS} more")
            return items
        try:
            return float(value)  # Decimal
        except (TypeError, ValueError):
            return str(value)

    if all(_plain(v) for v in evidence.values()):  # the common case: nothing to cap or convert
        return {str(k): list(v) if isinstance(v, list | tuple) else v for k, v in evidence.items()}
    capped = cap(dict(evidence))
    json.dumps(capped)  # fail here, in the check, not later in a sink
    return capped


_NUMBERS = (int, float, bool, type(None))


def _plain(value: Any) -> bool:
    """A value cap_evidence returns as it is (a list or tuple as a list): a short string, a
    number, a flag, None, or a short list/tuple of those."""
    kind = type(value)
    if kind is str:
        return len(value) <= EVIDENCE_MAX_TEXT
    if kind in _NUMBERS:
        return True
    if kind is list or kind is tuple:
        return len(value) <= EVIDENCE_MAX_ROWS and all(
            type(v) in _NUMBERS or (type(v) is str and len(v) <= EVIDENCE_MAX_TEXT) for v in value)
    return False


@dataclass
class CheckContext:
    """What a check run gets: the config, its options, and for database checks the target and
    an open connection (shared by every check on that target)."""

    config: Config
    options: dict[str, Any]
    host: str
    target: DatabaseConfig | None = None
    db: Any = None  # collectors.database.connection.Connection for database checks
    state_dir: str | None = None
    #: True inside ``serve``, which keeps history: a check that would otherwise take samples
    #: during the run (a trend from seconds) waits for the history instead.
    in_daemon: bool = False
    #: recent probes and status reads per app server (the daemon's, or this run's own)
    app_histories: AppHistories | None = None
    #: the run's coverage (see :mod:`l4agent.diagnostics.coverage`)
    coverage: CoverageLog = field(default_factory=CoverageLog)
    #: figures the checks measured on the way, exported by ``serve`` as metrics
    measurements: list[Sample] = field(default_factory=list)

    def measure(self, sample: Sample) -> None:
        """Keep a figure the check measured (a sample of a gauge the check declares)."""
        self.measurements.append(sample)  # list.append is atomic: contexts of one run share the list

    def examined(self, kind: str, count: int, catalog: str | None = None) -> None:
        """Record that ``count`` things of ``kind`` ("tables", "statements", ...) were examined."""
        self.coverage.examined(self.target_name, kind, count, catalog)

    def not_examined(self, what: str, why: str, catalog: str | None = None) -> None:
        """Record that ``what`` (a check id, or part of one) was not examined, and why; the run
        exits 3. Raise :class:`NotExamined` instead when the check could not look at all."""
        self.coverage.not_examined(self.target_name, what, why, catalog)

    def error(self, why: str, catalog: str | None = None, what: str | None = None) -> None:
        """One error entry for a fault that several checks meet (a catalog that cannot be
        read): the run lists it once. ``what`` defaults to the family's checks ("schema.*")."""
        self.coverage.error(self.target_name, what or "?", why, catalog)

    @property
    def engine(self) -> str:
        return self.target.engine if self.target else HOST

    @property
    def target_name(self) -> str:
        return self.target.name if self.target else self.host

    def sql(self, check: Check, name: str) -> str:
        """The check's statement ``name`` for this context's engine."""
        return check.queries[self.engine][name]

    def query(self, check: Check, name: str, params: Iterable[Any] = (), catalog: str | None = None,
              max_rows: int | None = None, timeout: float | None = None) -> list[dict[str, Any]]:
        """Run the check's named statement on this target; rows as dicts with lower-case keys.

        Where it runs is explicit: a statement named in ``check.catalog_statements`` runs in
        ``catalog`` (the DSN's own catalog when None); every other statement is server-scoped and
        runs in the engine's server catalog (SQL Server: master), never in whatever catalog an
        earlier statement switched to."""
        if catalog is None and name not in check.catalog_statements:
            catalog = getattr(self.db, "server_catalog", None)
        extra = {"timeout": timeout} if timeout is not None else {}  # this statement's own limit (seconds)
        return self.db.query(self.sql(check, name), tuple(params), catalog=catalog,
                             max_rows=max_rows or check.max_rows, **extra)


class Check:
    """Base class of every diagnostic. Subclasses set the class attributes and ``run``."""

    id: ClassVar[str]
    #: engines it runs on: "mssql", "postgresql", "mysql", or HOST for host checks
    engines: ClassVar[frozenset[str]]
    #: one-line description for --help and the docs
    title: ClassVar[str] = ""
    #: named SQL statements per engine: {"postgresql": {"tables": "SELECT ..."}, ...}
    queries: ClassVar[Mapping[str, Mapping[str, str]]] = {}
    #: statements that read one catalog's own objects (sys.tables, sys.indexes, DB_ID() ...): they
    #: run in the catalog passed to ``ctx.query``; the others are server-scoped (see ``query``)
    catalog_statements: ClassVar[frozenset[str]] = frozenset()
    #: options and their defaults, overridable under [diagnostics.<id>]
    defaults: ClassVar[Mapping[str, Any]] = {}
    #: upper bound on rows any one statement of this check returns
    max_rows: ClassVar[int] = 500

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        raise NotImplementedError

    def finding(self, ctx: CheckContext, severity: str, obj: str, summary: str, recommendation: str,
                **evidence: Any) -> Finding:
        """A finding of this check on ``ctx``'s target."""
        return Finding(self.id, severity, ctx.target_name, obj, summary, recommendation, evidence)
