"""Work records inside ``l4agent serve``, and the entry point for other commands.

``install(daemon)`` (listed in ``DAEMON_PLUGINS``) opens the store in ``state_dir``, evaluates
the threshold rules after every collection and after every diagnostics run, delivers the
outbox to the sinks in the background, serves ``/records`` (JSON) and adds to /metrics:
``l4agent_work_records_open{priority}``, ``l4agent_work_records_sla_breached{priority}``,
``l4agent_work_records_store_ok``, ``l4agent_sink_pending_events{sink}``,
``l4agent_sink_parked_events{sink}``, ``l4agent_sink_deliveries_total{sink}``,
``l4agent_sink_delivery_failures_total{sink}``, ``l4agent_work_records_backlog``.

Nothing is lost while the store cannot be written (disk full, file locked by another process),
and collection never waits for it: each evaluation (the watched samples or the findings, with
the time they were taken) is queued in memory, and the service's own writer thread applies the
queue in order, each with its own time, as soon as the store takes writes — a breach that began
during the outage opens its record at the moment it did. The log says once when writing starts
failing and once when it works again. (Without ``start()``, as in tests and one-shot commands,
each evaluation is written at once in the caller's thread.)

:func:`record_findings` feeds a diagnostics result from elsewhere (``remote diagnose
--record``) into the same store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from l4agent.agent.records.engine import Change, Origin, RecordEngine
from l4agent.agent.records.outbox import Outbox
from l4agent.agent.records.priority import PRIORITIES
from l4agent.agent.records.sinks import build_sinks
from l4agent.agent.records.store import Store, StoreError, store_path
from l4agent.core.config import Config
from l4agent.core.samples import counter, gauge

log = logging.getLogger(__name__)

RECORDS_OPEN = gauge("l4agent_work_records_open", "Open L4 work records by priority.")
RECORDS_SLA_BREACHED = gauge("l4agent_work_records_sla_breached",
                             "Open L4 work records past their SLA response target, by priority.")
STORE_OK = gauge("l4agent_work_records_store_ok", "1 when the work-record store is usable, else 0.")
SINK_PENDING = gauge("l4agent_sink_pending_events", "Work-record events waiting for delivery to the sink.")
SINK_PARKED = gauge("l4agent_sink_parked_events",
                    "Work-record events the sink refused for good (see l4agent records show).")
SINK_DELIVERIES = counter("l4agent_sink_deliveries_total", "Work-record events delivered to the sink.")
SINK_FAILURES = counter("l4agent_sink_delivery_failures_total", "Failed delivery attempts to the sink.")

BACKLOG = gauge("l4agent_work_records_backlog",
                "Evaluations waiting to be written to the work-record store (it cannot be written now).")

#: evaluations kept while the store cannot be written: 4 h at a 15 s interval; beyond that the
#: oldest are dropped (and the log says so once)
BACKLOG_LIMIT = 1000
RETRY_SECONDS = 1.0  # how soon the writer tries a failing store again when nothing new arrives
PRUNE_AFTER = 30 * 86400.0  # delivered events older than this are forgotten
PRUNE_EVERY = 86400.0


class _NotOpen:
    """Stands in for the store until it could be opened: every use is a StoreError saying why."""

    def __init__(self, path: str, why: str):
        self.path = path
        self.why = why
        self.lock = threading.RLock()

    def __getattr__(self, name: str):
        raise StoreError(f"the work-record store {self.path} is not open yet: {self.why}")


class RecordsService:
    """Thresholds -> records -> sinks for one daemon.

    ``store`` may be None with an ``opener``: then the store is opened by the writer (retried
    every RETRY_SECONDS while it fails: state_dir full, read-only, missing) and the evaluations
    wait in the backlog meanwhile, as they do while an open store cannot be written."""

    def __init__(self, config: Config, host: str, store: Store | None,
                 opener: Callable[[], Store] | None = None, open_error: str = ""):
        self.config = config
        self._opener = opener
        self.opened = store is not None
        self.store: Any = store if store is not None else _NotOpen(
            store_path(config.agent.state_dir), open_error or "not tried yet")
        self.outbox = Outbox(store, build_sinks(config.sinks), config.records.retry_initial,
                             config.records.retry_max)
        self.engine = RecordEngine(store, config, host, sinks=list(self.outbox.sinks),
                                   on_change=lambda changes: self.outbox.notify())
        self.store_ok = self.opened
        self.stopped = False
        self._outbox_started = False
        self._next_prune = 0.0
        self._last_counts: list = []  # the counts of the last scrape that could read the store
        # (kind, taken at, inputs) not yet written, oldest first; _drain applies them in order
        self._backlog: deque[tuple[str, float, Any]] = deque()
        self._queue_lock = threading.Lock()  # held for queue edits only, never while writing
        self._drain_lock = threading.Lock()  # one writer at a time
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None
        self._closing = False  # stop() asked the writer thread to end
        self._failing_since: float | None = None if self.opened else time.monotonic()
        self.dropped = 0
        self._open_lock = threading.Lock()

    def _ensure_open(self) -> bool:
        """Open the store if it is not open yet; False (and logged once) while it cannot be."""
        if self.opened:
            return True
        with self._open_lock:
            if self.opened:
                return True
            try:
                store = self._opener()
            except StoreError as exc:
                self.store.why = str(exc)
                self._write_failed(exc)
                return False
            if store.recovered_from:
                log.error("%s; it was moved aside to %s (nothing deleted) and a new, empty store was started",
                          store.corruption, store.recovered_from)
            self.store = self.engine.store = self.outbox.store = store
            self.opened = True
            log.warning("the work-record store %s is open", store.path)
        if self._writer is not None and not self._closing:
            self._start_outbox()
        return True

    def _start_outbox(self) -> None:
        if self._outbox_started:
            return
        self._outbox_started = True
        try:
            self.outbox.start()
        except StoreError as exc:
            log.error("work-record delivery: %s", exc)

    # -- service lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._writer = threading.Thread(target=self._write_loop, name="records-writer", daemon=True)
        self._writer.start()
        if self.opened:
            self._start_outbox()

    def threads(self) -> dict[str, threading.Thread]:
        """The threads that must keep running (the daemon watches them)."""
        threads = {"records-writer": self._writer} if self._writer is not None else {}
        threads.update({thread.name: thread for thread in self.outbox._threads})
        return threads

    def stop(self) -> None:
        self._closing = True
        self._wake.set()
        if self._writer is not None:
            self._writer.join(timeout=0.5)
        if self._backlog and self.store_ok and not (self._writer and self._writer.is_alive()):
            try:  # the round queued just before the stop
                self._drain()
            except Exception:  # noqa: BLE001 - stopping anyway
                log.exception("work-record evaluation failed")
        self.stopped = True
        if self._backlog:
            log.error("stopping with %d evaluations not written to the work-record store (it could not be "
                      "written); the next run re-evaluates from fresh readings", len(self._backlog))
        self.outbox.stop()
        if not self.opened:
            return
        if self._writer is not None and self._writer.is_alive():
            # Still waiting for another process's lock on the file: closing would wait with it
            # (up to the busy timeout) and stop must take a second. Nothing is half-written: the
            # store's file is closed with the process.
            return
        self.store.close()

    # -- inputs -----------------------------------------------------------------------------------

    def on_snapshot(self, snapshot, samples=None) -> list[Change]:
        """After each collection: every metric rule against what /metrics exports now."""
        if self.stopped:
            return []
        watched = {rule.metric for rule in self.engine.metric_rules}
        samples = snapshot.samples if samples is None else samples
        return self._apply("samples", [s for s in samples if s.name in watched])

    def on_findings(self, result) -> list[Change]:
        """After each diagnostics run: every check rule against its findings."""
        if self.stopped:
            return []
        return self._apply("findings", (result.findings, checks_that_ran(self.config, result), result.host))

    def _apply(self, kind: str, inputs: Any) -> list[Change]:
        """Queue one evaluation behind any not yet written; the writer thread writes it (or, with
        no writer running, write the queue now and return the changes)."""
        with self._queue_lock:
            if len(self._backlog) >= BACKLOG_LIMIT:
                self._backlog.popleft()
                self.dropped += 1
                if self.dropped == 1:
                    log.error("the work-record store has not taken writes for %d evaluations: the oldest are "
                              "being dropped (fix the store: disk space, a process holding its lock)", BACKLOG_LIMIT)
            self._backlog.append((kind, time.time(), inputs))
        if self._writer is not None:
            self._wake.set()
            return []
        return self._drain()

    def _write_loop(self) -> None:
        while not self._closing:
            self._wake.wait(RETRY_SECONDS if self._backlog or not self.opened else None)
            self._wake.clear()
            if self._closing:
                break
            try:
                if self._ensure_open():
                    self._drain()
            except Exception:  # noqa: BLE001 - a bug in one evaluation must not stop the writer
                log.exception("work-record evaluation failed")

    def _drain(self) -> list[Change]:
        """Write the queued evaluations in order until the queue is empty or the store fails."""
        changes: list[Change] = []
        if not self._ensure_open():
            return changes
        with self._drain_lock:
            while self._backlog and not self.stopped:
                item = self._backlog[0]
                kind, at, inputs = item
                try:
                    if kind == "samples":
                        changes += self.engine.evaluate_samples(inputs, now=at)
                    else:
                        findings, ran, host = inputs
                        changes += self.engine.evaluate_findings(findings, ran, host=host, now=at)
                except StoreError as exc:
                    self._write_failed(exc)
                    return changes
                except Exception:
                    self._pop(item)  # a bug in one evaluation must not hold back the rest
                    raise
                self._pop(item)
            if not self._backlog:
                self._write_works()
        if self.store_ok:
            try:
                self._housekeeping()
            except StoreError as exc:
                log.warning("work-record housekeeping skipped: %s", exc)
        return changes

    def _pop(self, item: tuple) -> None:
        with self._queue_lock:
            if self._backlog and self._backlog[0] is item:  # unless dropped for overflow meanwhile
                self._backlog.popleft()

    def _write_failed(self, exc: StoreError) -> None:
        if self._closing:
            log.debug("work records not written while stopping: %s", exc)
        elif self._failing_since is None:
            self._failing_since = time.monotonic()
            log.error("work records not written: %s; the evaluations are kept and written in order when the "
                      "store works again", exc)
        else:
            log.debug("work records still not written (%d evaluations waiting): %s", len(self._backlog), exc)
        self.store_ok = False

    def _write_works(self) -> None:
        if self._failing_since is not None:
            log.warning("work records written again after %.0fs; the evaluations kept meanwhile are applied",
                        time.monotonic() - self._failing_since)
            self._failing_since = None
        self.store_ok = True

    def _housekeeping(self) -> None:
        now = time.time()
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY
            self.store.prune(now - PRUNE_AFTER)

    # -- outputs ----------------------------------------------------------------------------------

    def samples(self) -> list:
        """The /metrics samples of records, outbox and sinks. A scrape never waits long for the
        store: while another thread holds it (a write waiting on a locked file), the last
        counts are served (the store's health and backlog are always current)."""
        health = [STORE_OK(1 if self.store_ok else 0), BACKLOG(len(self._backlog))]
        if self.stopped or not self.opened or not self.store.lock.acquire(timeout=0.5):
            return health + self._last_counts
        try:
            counts = self.store.open_counts(time.time())
            outbox = self.store.outbox_counts()
        except StoreError as exc:
            log.warning("work-record metrics unavailable: %s", exc)
            return [STORE_OK(0), BACKLOG(len(self._backlog))]
        finally:
            self.store.lock.release()
        out = [RECORDS_OPEN(counts.get(p, (0, 0))[0], priority=p) for p in PRIORITIES]
        out += [RECORDS_SLA_BREACHED(counts.get(p, (0, 0))[1], priority=p) for p in PRIORITIES]
        for name in self.outbox.sinks:
            queued = outbox.get(name, {})
            out.append(SINK_PENDING(queued.get("pending", 0), sink=name))
            out.append(SINK_PARKED(queued.get("parked", 0), sink=name))
            out.append(SINK_DELIVERIES(self.outbox.deliveries[name], sink=name))
            out.append(SINK_FAILURES(self.outbox.failures[name], sink=name))
        self._last_counts = out
        return health + out

    def records_page(self, request):
        """``GET /records[?status=open]``: the records as ``records list --format json`` prints them."""
        from l4agent.exporters.http import Response

        status = (request.query.get("status") or [None])[0]
        if status not in (None, "open", "resolved", "closed"):
            return Response.text("status must be open, resolved or closed\n", 400)
        try:
            records = self.store.list_records(status, limit=500)
        except StoreError as exc:
            return Response.text(f"{exc}\n", 503)
        return Response.json({"records": [record.to_dict() for record in records]})


def install(daemon) -> None:
    """Wire thresholds, records and sinks into ``serve``."""
    config = daemon.config
    path = store_path(config.agent.state_dir)

    def opener() -> Store:
        return Store.open(path, repair=True)

    try:
        store, why = opener(), ""
    except StoreError as exc:
        # Not for good: the writer retries the open, and the evaluations wait in its backlog.
        log.error("work records are not written yet: %s; the open is retried every %.0fs and the evaluations "
                  "are kept until it works", exc, RETRY_SECONDS)
        store, why = None, str(exc)
    if store is not None and store.recovered_from:
        log.error("%s; it was moved aside to %s (nothing deleted) and a new, empty store was started",
                  store.corruption, store.recovered_from)
    service = RecordsService(config, daemon.host, store, opener=opener, open_error=why)

    def on_snapshot(snapshot) -> None:
        service.on_snapshot(snapshot, _exported_samples(daemon, snapshot))

    daemon.on_snapshot(on_snapshot)
    daemon.findings_subscribers.append(service.on_findings)
    daemon.add_service(service)
    daemon.exposition.add_source(service.samples)
    daemon.web.route("/records", service.records_page)
    daemon.records = service


def _exported_samples(daemon, snapshot) -> list:
    """Everything /metrics shows (the snapshot plus other sources such as diagnostic findings),
    so a rule may watch any exported metric."""
    try:
        return daemon.exposition.samples()
    except Exception:  # noqa: BLE001 - a broken extra source must not stop the thresholds
        log.exception("exposition sources failed; evaluating thresholds on the collection alone")
        return list(snapshot.samples)


def checks_that_ran(config: Config, result) -> set[tuple[str, str]]:
    """(check, target) pairs a full diagnostics run covered cleanly: every enabled check on
    every target it applies to, minus unreachable targets and failed checks, plus whatever
    reported a finding."""
    from l4agent.diagnostics.base import HOST
    from l4agent.diagnostics.registry import all_checks

    failed = {(error.get("check"), error.get("target")) for error in result.errors}
    # a check that could not look at one catalog did not re-test the findings there
    failed |= {(item["what"], entry.target) for entry in getattr(result, "coverage", ()) for item in entry.not_examined}
    unreachable = set(result.unreachable)
    ran: set[tuple[str, str]] = set()
    for check in all_checks():
        family = check.id.split(".")[0]
        if any(config.diagnostics.get(key, {}).get("enabled") is False for key in (check.id, family)):
            continue
        if HOST in check.engines:
            targets = [result.host]
        else:
            targets = [db.name for db in config.databases if db.engine in check.engines]
        for target in targets:
            if target in unreachable or (check.id, target) in failed or (None, target) in failed:
                continue
            ran.add((check.id, target))
    ran.update((finding.check, finding.target) for finding in result.findings)
    return ran


def record_findings(config: Config, result, host: str | None = None, ran: set[tuple[str, str]] | None = None,
                    deliver_for: float = 0.0, origin: Origin | None = None) -> list[Change]:
    """Feed a diagnostics result (e.g. from a remote host) into the work-record store.

    ``host`` defaults to ``result.host``; ``ran`` to :func:`checks_that_ran` with this config.
    With ``deliver_for`` > 0 the queued events are also sent for up to that many seconds
    (otherwise a running ``serve`` delivers them). Raises StoreError with a printable message.
    """
    store = Store.open(store_path(config.agent.state_dir))
    try:
        sinks = build_sinks(config.sinks)
        engine = RecordEngine(store, config, host or result.host, sinks=list(sinks), origin=origin)
        changes = engine.evaluate_findings(result.findings, checks_that_ran(config, result) if ran is None else ran,
                                           host=host or result.host)
        if deliver_for > 0 and changes:
            Outbox(store, sinks, config.records.retry_initial, config.records.retry_max).drain(deliver_for)
        return changes
    finally:
        store.close()


def open_store_for_cli(config: Config, create: bool = False) -> Store:
    """The store for a CLI command (shorter lock wait than the daemon's)."""
    return Store.open(store_path(config.agent.state_dir), create=create, busy_timeout=3.0)

