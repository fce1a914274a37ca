"""The database collector: one per ``[[databases]]`` target (collector "database", target = name).

Each round runs the engine's steps (``mssql``/``postgresql``/``mysql``.STEPS) on a connection
kept open between rounds, then dates the newest file in each ``backup_dirs`` folder.

Faults, each reported as ``l4agent_database_up=0`` plus exactly one error entry:
- the target cannot be reached, refuses the login, or lacks its ODBC driver: the connection
  layer's one-line message (never the password);
- the connection breaks mid-round (server stopped, session killed): one reconnect is tried at
  once, so a server restarted between rounds costs nothing; if that fails too, that error;
- the server stops answering (frozen host, network black hole): the round is abandoned after
  ``round_deadline`` seconds and its connection dropped; a new one is opened next round.
A step that fails on its own (a permission, a timeout) is one error entry; the rest still report.

A wrong password or a missing driver is retried at most every ``login_retry`` seconds, so a
daemon polling every 15 s cannot lock the account out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from l4agent.collectors.base import Collector
from l4agent.collectors.database import metrics, mssql, mysql, postgresql
from l4agent.collectors.database.backup_files import newest_file
from l4agent.collectors.database.steps import MAX_CATALOGS, Step, StepContext
from l4agent.core.config import Config, DatabaseConfig
from l4agent.core.samples import Problem, Sample
from l4agent.dbaccess.connection import Connection, DatabaseError, connect

log = logging.getLogger(__name__)

STEPS_BY_ENGINE: dict[str, tuple[Step, ...]] = {
    "mssql": mssql.STEPS,
    "postgresql": postgresql.STEPS,
    "mysql": mysql.STEPS,
}

# Errors that mean the connection is gone (as opposed to one statement failing).
CONNECTION_LOST = ("unreachable", "closed")
# Errors a retry every round cannot fix, but could make worse (account lock-out policies).
LOGIN_REFUSED = ("login_failed", "driver_missing")
BACKUP_DIR_REFRESH = 300.0  # seconds between scans of a backup folder


@dataclass
class _Round:
    """One round's output, shared with its worker thread until the round is over or abandoned."""

    items: list[Sample | Problem] = field(default_factory=list)
    down: DatabaseError | None = None
    abandoned: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: Sample | Problem) -> None:
        with self.lock:
            if not self.abandoned:
                self.items.append(item)


@dataclass
class DatabaseCollector(Collector):
    """One ``[[databases]]`` target (``database``); its connection lives from round to round."""

    name: str = "database"
    database: DatabaseConfig | None = None
    #: makes the connection; tests pass a wrapper to break it at a chosen moment
    connector: Callable[[DatabaseConfig], Connection] = connect
    #: seconds a round may take before the server counts as not answering
    round_deadline: float = 17.0
    #: seconds between login attempts after a wrong password or a missing driver
    login_retry: float = 60.0

    def __post_init__(self) -> None:
        self.steps = STEPS_BY_ENGINE[self.database.engine]
        self._db: Connection | None = None
        self._refused: tuple[float, DatabaseError] | None = None  # (when, why) of the last refused login
        self._cache: dict[str, tuple[float, list]] = {}  # step name -> (read at, rows)
        self._dir_cache: dict[str, tuple[float, object]] = {}  # folder -> (scanned at, BackupFile|None)
        self._hung: tuple[threading.Thread, float] | None = None  # abandoned worker, since when
        self._facts: dict = {}  # what this round's steps learned so far (catalogs for per-catalog steps)

    # -- the round ---------------------------------------------------------------------------

    def collect(self) -> Iterator[Sample | Problem]:
        yield from self._collect_database()
        yield from self._backup_dir_samples()  # local files: dated even when the server is down

    def _collect_database(self) -> list[Sample | Problem]:
        labels = {"database": self.target, "engine": self.database.engine}
        if self._hung is not None:
            worker, since = self._hung
            if worker.is_alive():
                waited = time.monotonic() - since + self.round_deadline
                return [metrics.UP(0, **labels),
                        Problem(f"database {self.target!r}: a query has had no answer for {waited:.0f}s "
                                "(server hung or network down); not sending another")]
            self._hung = None
        run = _Round()
        worker = threading.Thread(target=self._run_round, args=(run,), name=f"database-{self.target}", daemon=True)
        worker.start()
        worker.join(self.round_deadline)
        with run.lock:
            if worker.is_alive():
                run.abandoned = True
                self._hung = (worker, time.monotonic())
                self._db = None  # the worker closes it if its query ever returns
                return [*run.items, metrics.UP(0, **labels),
                        Problem(f"database {self.target!r}: no answer within {self.round_deadline:g}s (server "
                                "hung or network down); the connection is dropped and opened anew next round")]
            items = list(run.items)
        if run.down is not None:
            return [*items, metrics.UP(0, **labels), Problem(str(run.down))]
        return [metrics.UP(1, **labels), *items]

    def _run_round(self, run: _Round) -> None:
        """The steps in order, on this thread; ``run.down`` set when the target is unreachable."""
        db: Connection | None = None
        reconnected = False
        try:
            db = self._connection()
            facts: dict = {}
            self._facts = facts
            for step in self.steps:
                if step.applies is not None and not step.applies(facts):
                    continue
                try:
                    rows, elapsed = self._rows(db, step)
                except DatabaseError as error:
                    if error.kind in CONNECTION_LOST and not reconnected:
                        log.info("%s; reconnecting once", error)
                        reconnected = True
                        self._drop_connection()
                        db = self._connection()
                        try:
                            rows, elapsed = self._rows(db, step)
                            error = None
                        except DatabaseError as again:
                            error = again
                    if error is not None:
                        if error.kind in CONNECTION_LOST or (step is self.steps[0] and error.kind == "timeout"):
                            raise error from None  # the server does not answer even the first question
                        run.add(Problem(self._step_message(step, error)))
                        continue
                if run.abandoned:
                    return
                context = StepContext(self.target, self.database.engine, elapsed, facts)
                try:
                    for sample in step.to_samples(rows, context):
                        run.add(sample)
                except (KeyError, IndexError, TypeError, ValueError) as exc:
                    # A server whose views differ from what the step expects (an old version).
                    run.add(Problem(f"database {self.target!r}: {step.name}: unexpected result "
                                    f"({type(exc).__name__}: {exc})"))
        except DatabaseError as error:
            run.down = error
            if error.kind in CONNECTION_LOST or error.kind == "timeout":
                self._drop_connection()
        finally:
            if run.abandoned and db is not None:
                if self._db is db:
                    self._db = None
                db.close(wait=0)

    def _rows(self, db: Connection, step: Step) -> tuple[list, float]:
        """The step's rows and their age in seconds: read now, or reused within ``step.refresh``."""
        cached = self._cache.get(step.name)
        now = time.monotonic()
        if cached is not None and now - cached[0] < step.refresh:
            return cached[1], now - cached[0]
        if step.per_catalog:
            rows = self._catalog_rows(db, step)
        else:
            # Collector steps read server-wide views: SQL Server runs them in master, explicitly.
            rows = db.query(step.sql, max_rows=step.max_rows, catalog=getattr(db, "server_catalog", None))
        if step.refresh:
            self._cache[step.name] = (now, rows)
        return rows, 0.0

    def _catalog_rows(self, db: Connection, step: Step) -> list:
        """``step`` run in each catalog; a catalog that fails is skipped (its error raised only
        when every catalog failed). PostgreSQL's per-catalog connections are closed after use."""
        catalogs = list(self._facts.get("catalogs") or [])
        if self.database.databases:
            catalogs = [c for c in catalogs if c in self.database.databases]
        rows: list = []
        failure: DatabaseError | None = None
        for catalog in catalogs[:MAX_CATALOGS]:
            try:
                for row in db.query(step.sql, catalog=catalog, max_rows=step.max_rows):
                    rows.append({**row, "catalog": catalog})
            except DatabaseError as error:
                if error.kind in CONNECTION_LOST:
                    raise
                failure = error
            finally:
                db.release(catalog)
        if failure is not None and not rows:
            raise failure
        return rows

    def _step_message(self, step: Step, error: DatabaseError) -> str:
        prefix = f"database {self.target!r}: "
        return f"{prefix}{step.name}: {str(error).removeprefix(prefix)}"

    # -- the connection ----------------------------------------------------------------------

    def _connection(self) -> Connection:
        """The open connection, else a new one (raises DatabaseError)."""
        if self._db is not None:
            return self._db
        if self._refused is not None:
            when, error = self._refused
            if time.monotonic() - when < self.login_retry:
                raise error  # the same answer; asking again so soon could lock the account
        try:
            self._db = self.connector(self.database)
        except DatabaseError as error:
            self._refused = (time.monotonic(), error) if error.kind in LOGIN_REFUSED else None
            raise
        self._refused = None
        return self._db

    def _drop_connection(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close(wait=0)

    def close(self) -> None:
        if self._hung is None:
            self._drop_connection()

    # -- backup folders ----------------------------------------------------------------------

    def _backup_dir_samples(self) -> Iterator[Sample | Problem]:
        """Age of the newest file in each ``backup_dirs`` folder (type="file"), rescanned every
        few minutes; a folder that cannot be read is one error entry. An empty folder is no
        collection fault (the database answered, the folder was read): it has no age sample,
        and ``backup.dir_stale`` reports it as a finding."""
        for folder in self.database.backup_dirs:
            now = time.monotonic()
            cached = self._dir_cache.get(folder)
            if cached is None or now - cached[0] >= BACKUP_DIR_REFRESH:
                try:
                    cached = self._dir_cache[folder] = (now, newest_file(folder))
                except OSError as exc:
                    self._dir_cache.pop(folder, None)
                    yield Problem(f"database {self.target!r}: backup_dirs: cannot read {folder}: "
                                  f"{exc.strerror or exc}")
                    continue
            newest = cached[1]
            if newest is None:
                continue
            yield metrics.BACKUP_AGE(round(max(0.0, time.time() - newest.mtime), 3), database=self.target,
                                     catalog=metrics.ALL_CATALOGS, type="file", path=folder)


def from_config(config: Config) -> list[Collector]:
    collectors: list[Collector] = []
    for database in config.databases:
        deadline = database.login_timeout + database.query_timeout + 2.0
        collectors.append(DatabaseCollector(target=database.name, database=database, round_deadline=deadline,
                                            timeout=max(config.agent.collector_timeout, deadline + 3.0)))
    return collectors
