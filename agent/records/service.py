"""Work records inside ``l4agent serve``, and the entry point for other commands.

``install(daemon)`` (listed in ``DAEMON_PLUGINS``) opens the store in ``state_dir``, evaluates
the threshold rules after every collection and after every diagnostics run, delivers the
outbox to the sinks in the background, serves ``/records`` (JSON) and adds to /metrics:
``l4agent_work_records_open{priority}``, ``l4agent_work_records_sla_breached{priority}``,
``l4agent_work_records_store_ok``, ``l4agent_sink_pending_events{sink}``,
``l4agent_sink_parked_events{sink}``, ``l4agent_sink_deliveries_total{sink}``,
``l4agent_sink_delivery_failures_total{sink}``.

:func:`record_findings` feeds a diagnostics result from elsewhere (``remote diagnose
--record``) into the same store.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from agent.config import Config
from agent.records.engine import Change, RecordEngine
from agent.records.outbox import Outbox
from agent.records.priority import PRIORITIES
from agent.records.sinks import build_sinks
from agent.records.store import Store, StoreError, store_path
from collectors.base import counter, gauge

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

PRUNE_AFTER = 30 * 86400.0  # delivered events older than this are forgotten
PRUNE_EVERY = 86400.0


class RecordsService:
    """Thresholds -> records -> sinks for one daemon."""

    def __init__(self, config: Config, host: str, store: Store):
        self.config = config
        self.store = store
        self.outbox = Outbox(store, build_sinks(config.sinks), config.records.retry_initial,
                             config.records.retry_max)
        self.engine = RecordEngine(store, config, host, sinks=list(self.outbox.sinks),
                                   on_change=lambda changes: self.outbox.notify())
        self.store_ok = True
        self.stopped = False
        self._next_prune = 0.0
        self._last_samples: list = [STORE_OK(0)]

    # -- service lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        try:
            self.outbox.start()
        except StoreError as exc:
            log.error("work-record delivery: %s", exc)

    def stop(self) -> None:
        self.stopped = True
        self.outbox.stop()
        self.store.close()

    # -- inputs -----------------------------------------------------------------------------------

    def on_snapshot(self, snapshot, samples=None) -> list[Change]:
        """After each collection: every metric rule against what /metrics exports now."""
        if self.stopped:
            return []
        try:
            changes = self.engine.evaluate_samples(snapshot.samples if samples is None else samples)
            self._housekeeping()
            self.store_ok = True
            return changes
        except StoreError as exc:
            self.store_ok = False
            log.error("thresholds not evaluated this round: %s", exc)
            return []

    def on_findings(self, result) -> list[Change]:
        """After each diagnostics run: every check rule against its findings."""
        if self.stopped:
            return []
        try:
            changes = self.engine.evaluate_findings(result.findings, checks_that_ran(self.config, result),
                                                    host=result.host)
            self.store_ok = True
            return changes
        except StoreError as exc:
            self.store_ok = False
            log.error("diagnostic findings not recorded this run: %s", exc)
            return []

    def _housekeeping(self) -> None:
        now = time.time()
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY
            self.store.prune(now - PRUNE_AFTER)

    # -- outputs ----------------------------------------------------------------------------------

    def samples(self) -> list:
        """The /metrics samples of records, outbox and sinks. A scrape never waits long for the
        store: while another thread holds it (a write waiting on a locked file), the last
        counts are served."""
        if self.stopped or not self.store.lock.acquire(timeout=0.5):
            return list(self._last_samples)
        try:
            counts = self.store.open_counts(time.time())
            outbox = self.store.outbox_counts()
        except StoreError as exc:
            log.warning("work-record metrics unavailable: %s", exc)
            return [STORE_OK(0)]
        finally:
            self.store.lock.release()
        out = [STORE_OK(1 if self.store_ok else 0)]
        out += [RECORDS_OPEN(counts.get(p, (0, 0))[0], priority=p) for p in PRIORITIES]
        out += [RECORDS_SLA_BREACHED(counts.get(p, (0, 0))[1], priority=p) for p in PRIORITIES]
        for name in self.outbox.sinks:
            queued = outbox.get(name, {})
            out.append(SINK_PENDING(queued.get("pending", 0), sink=name))
            out.append(SINK_PARKED(queued.get("parked", 0), sink=name))
            out.append(SINK_DELIVERIES(self.outbox.deliveries[name], sink=name))
            out.append(SINK_FAILURES(self.outbox.failures[name], sink=name))
        self._last_samples = out
        return out

    def records_page(self, request):
        """``GET /records[?status=open]``: the records as ``records list --format json`` prints them."""
        from exporters.http import Response

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
    try:
        store = Store.open(path, repair=True)
    except StoreError as exc:
        log.error("work records are off: %s", exc)
        daemon.exposition.add_source(lambda: [STORE_OK(0)])
        return
    if store.recovered_from:
        log.error("%s; it was moved aside to %s (nothing deleted) and a new, empty store was started",
                  store.corruption, store.recovered_from)
    service = RecordsService(config, daemon.host, store)

    def on_snapshot(snapshot) -> None:
        service.on_snapshot(snapshot, _exported_samples(daemon, snapshot))

    daemon.on_snapshot(on_snapshot)
    subscribers = getattr(daemon, "findings_subscribers", None)
    if subscribers is None:
        subscribers = daemon.findings_subscribers = []
    subscribers.append(service.on_findings)
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
    from diagnostics.base import HOST
    from diagnostics.registry import all_checks

    failed = {(error.get("check"), error.get("target")) for error in result.errors}
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
                    deliver_for: float = 0.0) -> list[Change]:
    """Feed a diagnostics result (e.g. from a remote host) into the work-record store.

    ``host`` defaults to ``result.host``; ``ran`` to :func:`checks_that_ran` with this config.
    With ``deliver_for`` > 0 the queued events are also sent for up to that many seconds
    (otherwise a running ``serve`` delivers them). Raises StoreError with a printable message.
    """
    store = Store.open(store_path(config.agent.state_dir))
    try:
        sinks = build_sinks(config.sinks)
        engine = RecordEngine(store, config, host or result.host, sinks=list(sinks))
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


def records_json(records) -> dict[str, Any]:
    return {"records": [record.to_dict() for record in records]}
