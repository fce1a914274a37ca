"""A collection step: one named statement and the function turning its rows into samples.

Each engine module (``mssql``, ``postgresql``, ``mysql``) lists its steps in ``STEPS``; the
collector runs them in order, each failure becoming one error entry while the others still run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from l4agent.collectors.database import metrics
from l4agent.core.samples import Sample
from l4agent.dbaccess.values import number

Rows = list[dict[str, Any]]


@dataclass
class StepContext:
    """What a step's ``to_samples`` gets besides its rows.

    ``database`` is the target name (the ``database`` label); ``elapsed`` the seconds since the
    rows were read (a step with ``refresh`` reuses them, so ages must add it); ``facts`` what
    earlier steps of this round learned (e.g. that replication is running).
    """

    database: str
    engine: str
    elapsed: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """``name`` appears in error entries ("database 'erp': sessions: permission denied ...")."""

    name: str
    sql: str
    to_samples: Callable[[Rows, StepContext], Iterable[Sample]]
    #: seconds the rows stay good (0: read every round). Slow-moving, costly reads (catalog
    #: sizes, backup history) are read every few minutes, not every collection.
    refresh: float = 0.0
    #: row cap: a server with thousands of catalogs cannot flood a collection
    max_rows: int | None = None
    #: run only when this returns True for the facts gathered so far
    applies: Callable[[dict[str, Any]], bool] | None = None
    #: run once in each catalog the earlier steps found (``facts["catalogs"]``, narrowed to the
    #: target's ``databases`` when set); every row gets a ``catalog`` key
    per_catalog: bool = False


MAX_CATALOGS = 500  # per-catalog steps look at no more catalogs than this per round


SESSION_STATES = ("active", "idle", "idle_in_transaction", "other")


def session_samples(rows: Rows, ctx: StepContext) -> Iterable[Sample]:
    """Rows of (state, sessions, blocked) -> sessions by state (every state, 0 when absent), active
    and blocked sessions. Unknown states count as "other"."""
    by_state = dict.fromkeys(SESSION_STATES, 0.0)
    blocked = 0.0
    for row in rows:
        state = row["state"] if row["state"] in by_state else "other"
        by_state[state] += number(row["sessions"])
        blocked += number(row.get("blocked"))
    for state, count in by_state.items():
        yield metrics.SESSIONS(count, database=ctx.database, state=state)
    yield metrics.ACTIVE_SESSIONS(by_state["active"], database=ctx.database)
    yield metrics.BLOCKED_SESSIONS(blocked, database=ctx.database)


def longest_transaction_sample(rows: Rows, ctx: StepContext) -> Sample:
    """The largest ``longest_transaction_seconds`` of the rows, 0 when there is none."""
    ages = [number(row.get("longest_transaction_seconds")) for row in rows]
    return metrics.LONGEST_TRANSACTION(round(max(ages, default=0.0), 3), database=ctx.database)
