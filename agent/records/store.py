"""The work-record store: one SQLite file, ``records.sqlite`` in ``state_dir``.

- WAL mode, ``synchronous=FULL``: a committed record change survives a crash or power loss.
- One writer: the daemon holds one connection and serialises every transaction on a lock;
  other processes (``l4agent records close``) wait up to ``busy_timeout`` for the file lock,
  then fail with :class:`StoreLocked` — a clear error, nothing half-written.
- The schema is versioned (``PRAGMA user_version``) and upgraded by :data:`MIGRATIONS`, in
  order, each in its own transaction. A store newer than this agent is refused, not touched.
- A corrupt file is never silently replaced: :meth:`Store.open` raises :class:`StoreCorrupt`,
  or with ``repair=True`` (the daemon) moves it aside (``records.sqlite.corrupt-<UTC time>``),
  starts an empty store and says so in ``recovered_from``.
- The outbox (``events`` + one ``outbox`` row per sink) is written in the same transaction as
  the record change it announces, so a change is never stored without its delivery, or the
  reverse.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from l4agent.agent.records.model import Note, Record
from l4agent.core.sqlitefile import create_private, enable_wal

FILENAME = "records.sqlite"

# Schema migrations: MIGRATIONS[n] takes the store from version n to n + 1. Append, never edit.
MIGRATIONS: list[str] = [
    # v1: records, their notes, the per-series "for" timers, and the outbox.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE records (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        host TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        rule TEXT NOT NULL,
        target TEXT NOT NULL,
        object TEXT NOT NULL,
        title TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'resolved', 'closed')),
        severity TEXT NOT NULL,
        priority TEXT NOT NULL,
        environment TEXT NOT NULL,
        result TEXT NOT NULL CHECK (result IN ('Failed', 'Passed')),
        opened_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        resolved_at REAL,
        closed_at REAL,
        sla_due_at REAL NOT NULL,
        related TEXT NOT NULL,
        problems TEXT NOT NULL,
        requests TEXT NOT NULL,
        evidence TEXT NOT NULL,
        last_value REAL,
        last_noted_at REAL NOT NULL,
        previous_id INTEGER REFERENCES records(id)
    );
    CREATE INDEX records_by_fingerprint ON records (host, fingerprint, id);
    -- The same ongoing problem never has a second open record.
    CREATE UNIQUE INDEX records_one_open ON records (host, fingerprint) WHERE status = 'open';
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id INTEGER NOT NULL REFERENCES records(id),
        at REAL NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX notes_by_record ON notes (record_id, id);
    CREATE TABLE series (
        host TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        rule TEXT NOT NULL,
        target TEXT NOT NULL,
        object TEXT NOT NULL,
        level TEXT NOT NULL,
        since REAL NOT NULL,
        critical_since REAL,
        last_eval_at REAL NOT NULL,
        unknown_since REAL,
        PRIMARY KEY (host, fingerprint)
    );
    CREATE INDEX series_by_rule ON series (host, rule);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id INTEGER NOT NULL REFERENCES records(id),
        kind TEXT NOT NULL,
        at REAL NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        payload TEXT NOT NULL
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id INTEGER NOT NULL REFERENCES events(id),
        sink TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'parked')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        lease_until REAL,
        last_error TEXT,
        done_at REAL,
        UNIQUE (event_id, sink)
    );
    CREATE INDEX outbox_queue ON outbox (sink, status, id);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

# The record columns in the order INSERT_RECORD and UPDATE_RECORD bind them.
_RECORD_COLUMNS = (
    "host", "fingerprint", "rule", "target", "object", "title", "status", "severity", "priority",
    "environment", "result", "opened_at", "updated_at", "resolved_at", "closed_at", "sla_due_at",
    "related", "problems", "requests", "evidence", "last_value", "last_noted_at", "previous_id",
)
_JSON_COLUMNS = frozenset({"related", "problems", "requests", "evidence"})

INSERT_RECORD = """
    INSERT INTO records (host, fingerprint, rule, target, object, title, status, severity, priority,
                         environment, result, opened_at, updated_at, resolved_at, closed_at, sla_due_at,
                         related, problems, requests, evidence, last_value, last_noted_at, previous_id)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
UPDATE_RECORD = """
    UPDATE records SET host = ?, fingerprint = ?, rule = ?, target = ?, object = ?, title = ?, status = ?,
        severity = ?, priority = ?, environment = ?, result = ?, opened_at = ?, updated_at = ?,
        resolved_at = ?, closed_at = ?, sla_due_at = ?, related = ?, problems = ?, requests = ?,
        evidence = ?, last_value = ?, last_noted_at = ?, previous_id = ?
    WHERE id = ?
"""
LATEST_RECORD = "SELECT * FROM records WHERE host = ? AND fingerprint = ? ORDER BY id DESC LIMIT 1"
OPEN_RECORD = "SELECT * FROM records WHERE host = ? AND fingerprint = ? AND status = 'open'"
RECORD_BY_ID = "SELECT * FROM records WHERE id = ?"
LIST_RECORDS = "SELECT * FROM records WHERE (? IS NULL OR status = ?) ORDER BY id DESC LIMIT ?"
NOTES_OF = "SELECT record_id, at, text FROM notes WHERE record_id IN ({ids}) ORDER BY id"
INSERT_NOTE = "INSERT INTO notes (record_id, at, text) VALUES (?, ?, ?)"
OPEN_COUNTS = """
    SELECT priority, COUNT(*) AS open, SUM(CASE WHEN sla_due_at < ? THEN 1 ELSE 0 END) AS sla_breached
    FROM records WHERE status = 'open' GROUP BY priority
"""
OPEN_RECORDS = "SELECT * FROM records WHERE status = 'open' ORDER BY id"
OPEN_RECORDS_OF_RULE = "SELECT * FROM records WHERE host = ? AND rule = ? AND status = 'open' ORDER BY id"

GET_SERIES = "SELECT * FROM series WHERE host = ? AND fingerprint = ?"
SERIES_OF_RULE = "SELECT * FROM series WHERE host = ? AND rule = ?"
PUT_SERIES = """
    INSERT INTO series (host, fingerprint, rule, target, object, level, since, critical_since, last_eval_at,
                        unknown_since)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (host, fingerprint) DO UPDATE SET level = excluded.level,
        since = excluded.since, critical_since = excluded.critical_since,
        last_eval_at = excluded.last_eval_at, unknown_since = excluded.unknown_since
"""
DELETE_SERIES = "DELETE FROM series WHERE host = ? AND fingerprint = ?"

INSERT_EVENT = "INSERT INTO events (record_id, kind, at, idempotency_key, payload) VALUES (?, ?, ?, ?, ?)"
INSERT_OUTBOX = "INSERT INTO outbox (event_id, sink, status, next_attempt_at) VALUES (?, ?, 'pending', ?)"
# The head of a sink's queue: delivery is in order, so a failing head holds back the rest.
OUTBOX_HEAD = """
    SELECT o.id, o.sink, o.attempts, o.next_attempt_at, o.lease_until, e.kind, e.idempotency_key,
           e.payload, e.record_id
    FROM outbox o JOIN events e ON e.id = o.event_id
    WHERE o.sink = ? AND o.status = 'pending' ORDER BY o.id LIMIT 1
"""
CLAIM_OUTBOX = """
    UPDATE outbox SET lease_until = ?
    WHERE id = ? AND status = 'pending' AND (lease_until IS NULL OR lease_until < ?)
"""
OUTBOX_DELIVERED = "UPDATE outbox SET status = 'delivered', done_at = ?, lease_until = NULL, attempts = attempts + 1, last_error = NULL WHERE id = ?"
OUTBOX_RETRY = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ?"
OUTBOX_PARKED = "UPDATE outbox SET status = 'parked', done_at = ?, lease_until = NULL, attempts = attempts + 1, last_error = ? WHERE id = ?"
PARK_UNKNOWN_SINKS = "UPDATE outbox SET status = 'parked', done_at = ?, last_error = ? WHERE status = 'pending' AND sink NOT IN ({sinks})"
OUTBOX_COUNTS = "SELECT sink, status, COUNT(*) AS n FROM outbox WHERE status != 'delivered' GROUP BY sink, status"
DELIVERIES_OF = """
    SELECT o.sink, e.id AS event_id, e.kind, e.at, o.status, o.attempts, o.last_error, o.done_at
    FROM outbox o JOIN events e ON e.id = o.event_id WHERE e.record_id = ? ORDER BY o.sink, e.id
"""
# Delivered events older than the cut-off carry nothing a sink still needs.
PRUNE_OUTBOX = "DELETE FROM outbox WHERE status = 'delivered' AND done_at < ?"
PRUNE_EVENTS = "DELETE FROM events WHERE at < ? AND id NOT IN (SELECT event_id FROM outbox)"


class StoreError(Exception):
    """A store problem with a message fit to print (names the file, says what to do)."""


class StoreCorrupt(StoreError):
    pass


class StoreLocked(StoreError):
    pass


class StoreMissing(StoreError):
    pass


def store_path(state_dir: str) -> str:
    return os.path.join(state_dir, FILENAME)


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


def _is_lock(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


@dataclass
class OutboxItem:
    """The next event one sink should get."""

    id: int
    sink: str
    attempts: int
    next_attempt_at: float
    lease_until: float | None
    kind: str
    idempotency_key: str
    payload: dict[str, Any]
    record_id: int


class Store:
    """The open store. Thread-safe: every use goes through ``lock`` (one connection)."""

    def __init__(self, path: str, conn: sqlite3.Connection, busy_timeout: float):
        self.path = path
        self.conn = conn
        self.busy_timeout = busy_timeout
        self.lock = threading.RLock()
        self.recovered_from: str | None = None  # set when a corrupt file was moved aside
        self.corruption: str | None = None  # what was wrong with it
        self.closed = False

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str, *, create: bool = True, repair: bool = False, busy_timeout: float = 5.0) -> Store:
        """Open (and create or upgrade) the store at ``path``.

        Raises StoreMissing (``create=False`` and no file), StoreLocked, StoreCorrupt (unless
        ``repair``: then the file is moved aside and a new store started), or StoreError.
        """
        if not create and not os.path.exists(path):
            raise StoreMissing(f"no work-record store at {path} yet")
        try:
            return cls._open(path, busy_timeout)
        except StoreCorrupt as exc:
            if not repair:
                raise
            moved = _move_aside(path)
            store = cls._open(path, busy_timeout)
            store.recovered_from = moved
            store.corruption = str(exc)
            return store

    @classmethod
    def _open(cls, path: str, busy_timeout: float) -> Store:
        directory = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the state directory {directory}: {exc.strerror}") from None
        try:
            create_private(path)  # 0600 whatever the umask, before SQLite creates it
        except OSError as exc:
            raise StoreError(f"cannot create the work-record store {path}: {exc.strerror}") from None
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the work-record store {path}: {exc}") from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            # Another process may be creating the same file: journal_mode does not wait by itself.
            mode = enable_wal(conn, busy_timeout)
            if str(mode).lower() != "wal":
                raise StoreError(f"the work-record store {path} cannot use WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise StoreCorrupt(f"the work-record store {path} is corrupt: {check}")
            store = cls(path, conn, busy_timeout)
            store._migrate()
            return store
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _translate(exc, path) from None
        except StoreError:
            conn.close()
            raise

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"the work-record store {self.path} has schema v{version}, newer than this "
                             f"l4agent understands (v{SCHEMA_VERSION}); upgrade l4agent")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction() as tx:
                # Read the version again under the write lock: another process opening the same
                # new store may have run this step between the read above and BEGIN IMMEDIATE.
                current = tx.conn.execute("PRAGMA user_version").fetchone()[0]
                if current >= target:
                    continue
                _run_script(tx.conn, MIGRATIONS[target - 1])
                if target == 1:
                    tx.conn.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?)", (uuid.uuid4().hex,))
                tx.conn.execute(f"PRAGMA user_version = {target}")

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.conn.close()

    @property
    def schema_version(self) -> int:
        with self.lock:
            return self.conn.execute("PRAGMA user_version").fetchone()[0]

    # -- transactions --------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction (BEGIN IMMEDIATE): everything in it commits together or not at all."""
        with self.lock:
            self._check_open()
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise _translate(exc, self.path) from None
            try:
                yield Tx(self.conn)
                self.conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError):
                    raise _translate(exc, self.path) from None
                raise

    def _check_open(self) -> None:
        if self.closed:
            raise StoreError(f"the work-record store {self.path} is closed")

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self.lock:
            self._check_open()
            try:
                return self.conn.execute(sql, tuple(params)).fetchall()
            except sqlite3.DatabaseError as exc:
                raise _translate(exc, self.path) from None

    # -- records ---------------------------------------------------------------------------------

    def get_record(self, record_id: int) -> Record | None:
        rows = self._read(RECORD_BY_ID, (record_id,))
        if not rows:
            return None
        record = _record(rows[0])
        self._attach_notes([record])
        return record

    def list_records(self, status: str | None = None, limit: int = 10000) -> list[Record]:
        """Records newest first, with their notes."""
        records = [_record(row) for row in self._read(LIST_RECORDS, (status, status, limit))]
        self._attach_notes(records)
        return records

    def open_records(self) -> list[Record]:
        return [_record(row) for row in self._read(OPEN_RECORDS)]

    def _attach_notes(self, records: list[Record]) -> None:
        by_id = {r.id: r for r in records}
        for start in range(0, len(records), 500):  # SQLite caps bound parameters
            ids = [r.id for r in records[start:start + 500]]
            sql = NOTES_OF.format(ids=", ".join("?" for _ in ids))
            for row in self._read(sql, ids):
                by_id[row["record_id"]].notes.append(Note(row["at"], row["text"]))

    def open_counts(self, now: float) -> dict[str, tuple[int, int]]:
        """priority -> (open records, open records past their SLA)."""
        return {row["priority"]: (row["open"], row["sla_breached"] or 0) for row in self._read(OPEN_COUNTS, (now,))}

    @property
    def store_id(self) -> str:
        return self._read("SELECT value FROM meta WHERE key = 'store_id'")[0]["value"]

    # -- outbox ----------------------------------------------------------------------------------

    def outbox_head(self, sink: str) -> OutboxItem | None:
        rows = self._read(OUTBOX_HEAD, (sink,))
        if not rows:
            return None
        row = rows[0]
        return OutboxItem(row["id"], row["sink"], row["attempts"], row["next_attempt_at"], row["lease_until"],
                          row["kind"], row["idempotency_key"], json.loads(row["payload"]), row["record_id"])

    def claim(self, item_id: int, now: float, lease_until: float) -> bool:
        """Lease an outbox row so no other process sends it at the same time."""
        with self.transaction() as tx:
            return tx.conn.execute(CLAIM_OUTBOX, (lease_until, item_id, now)).rowcount == 1

    def delivered(self, item_id: int, now: float) -> None:
        with self.transaction() as tx:
            tx.conn.execute(OUTBOX_DELIVERED, (now, item_id))

    def retry_later(self, item_id: int, next_attempt_at: float, error: str) -> None:
        with self.transaction() as tx:
            tx.conn.execute(OUTBOX_RETRY, (next_attempt_at, error, item_id))

    def park(self, item_id: int, now: float, error: str) -> None:
        with self.transaction() as tx:
            tx.conn.execute(OUTBOX_PARKED, (now, error, item_id))

    def park_unknown_sinks(self, known: Iterable[str], now: float) -> int:
        """Park pending deliveries to sinks no longer configured; returns how many."""
        known = list(known)
        sql = PARK_UNKNOWN_SINKS.format(sinks=", ".join("?" for _ in known) or "NULL")
        with self.transaction() as tx:
            return tx.conn.execute(sql, (now, "sink no longer configured", *known)).rowcount

    def outbox_counts(self) -> dict[str, dict[str, int]]:
        """sink -> {"pending": n, "parked": n}."""
        counts: dict[str, dict[str, int]] = {}
        for row in self._read(OUTBOX_COUNTS):
            counts.setdefault(row["sink"], {})[row["status"]] = row["n"]
        return counts

    def deliveries(self, record_id: int) -> list[dict[str, Any]]:
        """Every delivery of this record's events, per sink and event, in order."""
        return [dict(row) for row in self._read(DELIVERIES_OF, (record_id,))]

    def prune(self, before: float) -> None:
        """Forget deliveries (and their event payloads) completed before ``before``."""
        with self.transaction() as tx:
            tx.conn.execute(PRUNE_OUTBOX, (before,))
            tx.conn.execute(PRUNE_EVENTS, (before,))


class Tx:
    """The writes (and the reads they depend on) the record engine makes in one transaction."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def latest_record(self, host: str, fingerprint: str) -> Record | None:
        row = self.conn.execute(LATEST_RECORD, (host, fingerprint)).fetchone()
        return _record(row) if row else None

    def open_record(self, host: str, fingerprint: str) -> Record | None:
        row = self.conn.execute(OPEN_RECORD, (host, fingerprint)).fetchone()
        return _record(row) if row else None

    def open_records_of_rule(self, host: str, rule: str) -> list[Record]:
        return [_record(row) for row in self.conn.execute(OPEN_RECORDS_OF_RULE, (host, rule)).fetchall()]

    def record(self, record_id: int) -> Record | None:
        row = self.conn.execute(RECORD_BY_ID, (record_id,)).fetchone()
        return _record(row) if row else None

    def notes(self, record_id: int) -> list[Note]:
        rows = self.conn.execute(NOTES_OF.format(ids="?"), (record_id,)).fetchall()
        return [Note(row["at"], row["text"]) for row in rows]

    def insert_record(self, record: Record) -> int:
        record.id = self.conn.execute(INSERT_RECORD, _record_params(record)).lastrowid
        return record.id

    def update_record(self, record: Record) -> None:
        self.conn.execute(UPDATE_RECORD, (*_record_params(record), record.id))

    def add_note(self, record: Record, at: float, text: str) -> None:
        self.conn.execute(INSERT_NOTE, (record.id, at, text))
        record.notes.append(Note(at, text))

    def add_event(self, record_id: int, kind: str, at: float, payload: dict[str, Any],
                  sinks: Iterable[str]) -> str:
        """Store an event and queue it for every sink; returns its idempotency key."""
        key = uuid.uuid4().hex
        payload = {"event": kind, "idempotency_key": key, **payload}
        event_id = self.conn.execute(INSERT_EVENT, (record_id, kind, at, key, json.dumps(payload))).lastrowid
        for sink in sinks:
            self.conn.execute(INSERT_OUTBOX, (event_id, sink, at))
        return key

    # series timers

    def series(self, host: str, fingerprint: str) -> sqlite3.Row | None:
        return self.conn.execute(GET_SERIES, (host, fingerprint)).fetchone()

    def series_of_rule(self, host: str, rule: str) -> list[sqlite3.Row]:
        return self.conn.execute(SERIES_OF_RULE, (host, rule)).fetchall()

    def put_series(self, host: str, fingerprint: str, rule: str, target: str, obj: str, level: str,
                   since: float, critical_since: float | None, last_eval_at: float,
                   unknown_since: float | None) -> None:
        self.conn.execute(PUT_SERIES, (host, fingerprint, rule, target, obj, level, since, critical_since,
                                       last_eval_at, unknown_since))

    def delete_series(self, host: str, fingerprint: str) -> None:
        self.conn.execute(DELETE_SERIES, (host, fingerprint))


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the open transaction; run statement by statement instead.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _record_params(record: Record) -> tuple:
    values = []
    for column in _RECORD_COLUMNS:
        value = getattr(record, column)
        values.append(json.dumps(value) if column in _JSON_COLUMNS else value)
    return tuple(values)


def _record(row: sqlite3.Row) -> Record:
    fields = {column: row[column] for column in _RECORD_COLUMNS}
    for column in _JSON_COLUMNS:
        fields[column] = json.loads(fields[column])
    return Record(id=row["id"], **fields)


def _translate(exc: sqlite3.DatabaseError, path: str) -> StoreError:
    if _is_lock(exc):
        return StoreLocked(f"the work-record store {path} is locked by another process "
                           f"({exc}); try again, or find the process holding it (fuser {path})")
    if _is_corruption(exc):
        return StoreCorrupt(f"the work-record store {path} is corrupt: {exc}")
    return StoreError(f"work-record store {path}: {exc}")


def _move_aside(path: str) -> str:
    """Rename a corrupt store (and its WAL/SHM files) out of the way; returns the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    moved = f"{path}.corrupt-{stamp}"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.replace(path + suffix, moved + suffix)
    return moved
