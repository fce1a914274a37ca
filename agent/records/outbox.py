"""Delivering the outbox: every queued event to every sink, in order, at least once.

Each sink has its own thread and its own queue (the ``outbox`` rows for it, oldest first).
The head of the queue is leased (so a second process never sends it at the same moment),
sent, and then marked delivered. A failure is retried with exponential backoff and jitter
(``[records] retry_initial`` doubling up to ``retry_max``, or what a ``Retry-After`` asks), and
holds back the events behind it so they still arrive in order. A permanent failure (a 4xx, a
refused mail) parks the event with its error — visible in ``records show`` and
``l4agent_sink_parked_events`` — and the queue moves on. Rows survive restarts: whatever was
not marked delivered is sent again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter

from l4agent.agent.records.sinks import DeliveryError, Sink
from l4agent.agent.records.store import Store, StoreError
from l4agent.core.redact import redact

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # how often an idle sink looks for events queued by another process
LEASE_MARGIN = 5.0  # a lease outlives the send by this much, then another sender may take over


class Outbox:
    def __init__(self, store: Store, sinks: dict[str, Sink], retry_initial: float = 1.0,
                 retry_max: float = 300.0):
        self.store = store
        self.sinks = sinks
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.deliveries: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self._wake = {name: threading.Event() for name in sinks}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- one pass ----------------------------------------------------------------------------

    def deliver_due(self, name: str, now: float | None = None) -> float | None:
        """Send everything due for sink ``name``; returns seconds until its next attempt is due,
        or None when its queue is empty."""
        sink = self.sinks[name]
        while not self._stop.is_set():
            now = time.time() if now is None else now
            item = self.store.outbox_head(name)
            if item is None:
                return None
            # No retry is ever planned further ahead than retry_max: one that is must have been
            # planned before the wall clock went back, and is due now.
            if now < item.next_attempt_at <= now + self.retry_max:
                return item.next_attempt_at - now
            if item.lease_until is not None and item.lease_until > now:
                return item.lease_until - now  # another process is sending it
            if not self.store.claim(item.id, now, now + sink.timeout + LEASE_MARGIN):
                return POLL_SECONDS
            try:
                sink.send(item.payload)
            except DeliveryError as exc:
                self.failures[name] += 1
                if exc.permanent:
                    log.error("sink %s: %s event of work record #%d parked: %s", name, item.kind, item.record_id, exc)
                    self.store.park(item.id, time.time(), str(exc))
                    now = None
                    continue
                delay = self.backoff(item.attempts + 1, exc.retry_after)
                level = logging.WARNING if item.attempts == 0 else logging.INFO
                log.log(level, "sink %s: delivery of work record #%d (%s) failed, retry in %.0fs: %s",
                        name, item.record_id, item.kind, delay, exc)
                self.store.retry_later(item.id, time.time() + delay, str(exc))
                return delay
            except Exception as exc:  # noqa: BLE001 - a sink bug must not lose the event
                self.failures[name] += 1
                delay = self.backoff(item.attempts + 1, None)
                log.exception("sink %s failed unexpectedly; retry in %.0fs", name, delay)
                self.store.retry_later(item.id, time.time() + delay, redact(f"{type(exc).__name__}: {exc}"))
                return delay
            self.store.delivered(item.id, time.time())
            self.deliveries[name] += 1
            now = None
        return None

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before attempt ``attempt + 1``: doubling from retry_initial up to retry_max,
        with +-20 % jitter so many agents do not retry in step."""
        delay = min(self.retry_max, self.retry_initial * 2 ** max(0, attempt - 1))
        delay = min(self.retry_max, delay * random.uniform(0.8, 1.2))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_max))
        return delay

    def drain(self, timeout: float) -> None:
        """Deliver what is due now, for every sink, for at most ``timeout`` seconds (CLI use)."""
        deadline = time.monotonic() + timeout
        for name in self.sinks:
            if time.monotonic() >= deadline:
                break
            self.deliver_due(name)

    # -- threads -------------------------------------------------------------------------------

    def start(self) -> None:
        self.store.park_unknown_sinks(self.sinks, time.time())
        for name in self.sinks:
            thread = threading.Thread(target=self._run, args=(name,), name=f"sink-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for event in self._wake.values():
            event.set()
        for thread in self._threads:
            thread.join(timeout=1.0)

    def notify(self) -> None:
        """New events were queued: look now instead of at the next poll."""
        for event in self._wake.values():
            event.set()

    def _run(self, name: str) -> None:
        sink = self.sinks[name]
        next_refresh = time.monotonic() + (sink.refresh_interval or 0)
        while not self._stop.is_set():
            try:
                wait = self.deliver_due(name)
                if sink.refresh_interval and wait is None and time.monotonic() >= next_refresh:
                    next_refresh = time.monotonic() + sink.refresh_interval
                    self._refresh(sink)
            except StoreError as exc:
                log.error("sink %s: %s", name, exc)
                wait = POLL_SECONDS * 5
            timeout = POLL_SECONDS if wait is None else min(max(wait, 0.05), POLL_SECONDS)
            self._wake[name].wait(timeout)
            self._wake[name].clear()

    def _refresh(self, sink: Sink) -> None:
        try:
            sink.refresh([record.to_dict() for record in self.store.open_records()])
        except DeliveryError as exc:
            log.info("sink %s: refreshing the open records failed: %s", sink.name, exc)
