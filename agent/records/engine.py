"""From readings to work records: open once, note what changes, resolve, re-open.

Per series (fingerprint = rule + target + object), each evaluation:

- clean reading: the timer ends; an open record is resolved (note, ``result = Passed``);
- breach still pending (``for`` not yet held): only the timer is stored;
- breach in effect, no open record: a record opens — or, when the last record of this
  fingerprint was resolved within ``reopen_window``, that record re-opens with a note; else the
  new record links the old one;
- breach in effect, record open: a flow note only when something changed (severity, value worse
  by ``value_step``, data back after a gap), else one digest note per ``renote_interval`` (a day
  by default);
- no reading (unknown): the record stays open (one note says the data is missing); a pending
  timer ends, because the breach was not seen to hold.

A record closed by hand while its breach still holds stays closed; the next breach after a
recovery opens a new record that links it.

Every change is one transaction holding the record, its note, the timers and one outbox row
per sink, so a change is never stored without its delivery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from l4agent.agent.records import content
from l4agent.agent.records.model import (
    CLOSED,
    CLOSED_EVENT,
    FAILED,
    NOTED,
    OPEN,
    OPENED,
    PASSED,
    REOPENED,
    RESOLVED,
    RESOLVED_EVENT,
    Record,
)
from l4agent.agent.records.priority import more_urgent, priority_for, sla_due
from l4agent.agent.records.store import Store, Tx
from l4agent.agent.thresholds import (
    Reading,
    Timer,
    advance,
    effective_rules,
    finding_readings,
    metric_readings,
)
from l4agent.collectors.probes import PROBE_FAILURE, PROBE_SUCCESS
from l4agent.core.config import ALL_ADDRESSES, Config, ThresholdConfig
from l4agent.core.durations import format_duration
from l4agent.core.redact import redact
from l4agent.core.units import iso_epoch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """What one evaluation did to one record (for logs and tests)."""

    kind: str  # opened | noted | resolved | reopened | closed
    record_id: int
    fingerprint: str
    title: str
    priority: str


@dataclass(frozen=True)
class Origin:
    """Where a remote host's records come from: its inventory name and address, and its own
    status page (None: it has none, and the records link nowhere rather than to this machine)."""

    name: str
    address: str
    status_url: str | None = None


class RecordEngine:
    """Applies threshold readings to the store. One engine per process; thread-safe via the store."""

    def __init__(self, store: Store, config: Config, host: str, sinks: Sequence[str] = (),
                 on_change: Callable[[list[Change]], None] | None = None,
                 rules: Sequence[ThresholdConfig] | None = None, origin: Origin | None = None):
        self.store = store
        #: set for another machine's findings (``remote diagnose --record``): its name and page
        self.origin = origin
        self.config = config
        self.host = host
        self.sinks = list(sinks)
        self.on_change = on_change
        self.rules = list(effective_rules(config) if rules is None else rules)
        agent = config.agent
        # Longer than this between two evaluations and a "for" timer starts over (nobody saw it hold).
        self.metric_gap = 3 * agent.interval + agent.collector_timeout
        self.finding_gap = 3 * agent.diagnostics_interval + 60.0
        self._probe_reasons: dict[str | None, str | None] = {}  # probe -> why it failed, this round

    @property
    def metric_rules(self) -> list[ThresholdConfig]:
        return [rule for rule in self.rules if rule.metric]

    @property
    def check_rules(self) -> list[ThresholdConfig]:
        return [rule for rule in self.rules if rule.check]

    # -- inputs ------------------------------------------------------------------------------

    def evaluate_samples(self, samples: Iterable, now: float | None = None) -> list[Change]:
        """One collection round: every metric rule against ``samples``."""
        now = time.time() if now is None else now
        samples = list(samples)
        changes: list[Change] = []
        self._probe_reasons = {s.labels.get("probe"): s.labels.get("reason") for s in samples
                               if s.spec.name == PROBE_FAILURE.name}
        with self.store.transaction() as tx:
            for rule in self.metric_rules:
                stored = {row["fingerprint"]: row for row in tx.series_of_rule(self.host, rule.name)}
                previous = {fp: row["level"] for fp, row in stored.items()}
                seen: set[str] = set()
                for reading in metric_readings(rule, samples, self.host, previous):
                    if reading.fingerprint in seen:
                        continue
                    seen.add(reading.fingerprint)
                    self._step(tx, self.host, reading, stored.get(reading.fingerprint), now, self.metric_gap,
                               self.config.agent.interval, changes)
                for fp, row in stored.items():
                    if fp not in seen:
                        self._unknown(tx, self.host, row, now, "no data this round (the collector failed or "
                                                               "the series is gone)", changes)
        self._notify(changes)
        return changes

    def evaluate_findings(self, findings: Iterable, ran: set[tuple[str, str]], host: str | None = None,
                          now: float | None = None) -> list[Change]:
        """One diagnostics run: every check rule against ``findings``.

        ``ran`` holds the (check, target) pairs that ran cleanly; a breach whose finding is gone
        recovers only where its check ran, elsewhere it is unknown.
        """
        now = time.time() if now is None else now
        host = host or self.host
        findings = list(findings)
        changes: list[Change] = []
        with self.store.transaction() as tx:
            for rule in self.check_rules:
                readings = {r.fingerprint: r for r in finding_readings(rule, findings)}
                stored = {row["fingerprint"]: row for row in tx.series_of_rule(host, rule.name)}
                for fp, reading in readings.items():
                    self._step(tx, host, reading, stored.get(fp), now, self.finding_gap,
                               self.config.agent.diagnostics_interval, changes)
                # Series and open records this run did not report: recovered where the check ran.
                absent = {fp: (row["target"], row["object"], row) for fp, row in stored.items() if fp not in readings}
                for record in tx.open_records_of_rule(host, rule.name):
                    if record.fingerprint not in readings:
                        absent.setdefault(record.fingerprint, (record.target, record.object, None))
                for target, obj, row in absent.values():
                    if (rule.check, target) in ran:
                        clean = Reading(rule, target, obj, None)
                        self._step(tx, host, clean, row, now, self.finding_gap, 0.0, changes)
                    elif row is not None:
                        self._unknown(tx, host, row, now, f"not re-tested: check {rule.check} did not run "
                                                          f"cleanly on {target}", changes)
        self._notify(changes)
        return changes

    def close(self, record_id: int, note: str | None = None, now: float | None = None) -> Record:
        """Close a record by hand (``l4agent records close``). Raises KeyError / ValueError."""
        now = time.time() if now is None else now
        with self.store.transaction() as tx:
            record = tx.record(record_id)
            if record is None:
                raise KeyError(f"no work record #{record_id}")
            if record.status == CLOSED:
                raise ValueError(f"work record #{record_id} is already closed")
            record.status, record.closed_at, record.updated_at = CLOSED, now, now
            text = "closed by hand" + (f": {note}" if note else "")
            self._write(tx, record, now, CLOSED_EVENT, text)
        return record

    # -- the state machine ----------------------------------------------------------------------

    def _step(self, tx: Tx, host: str, reading: Reading, row, now: float, max_gap: float, interval: float,
              changes: list[Change]) -> None:
        fp = reading.fingerprint
        timer = Timer(row["level"], row["since"], row["critical_since"], row["last_eval_at"]) if row else None
        clock_back = max(0.0, row["last_eval_at"] - now) if row else 0.0  # the wall clock went back this much
        timer, severity = advance(timer, reading.level, now, reading.rule, max_gap)
        if timer is None:  # clean
            if row is not None:
                tx.delete_series(host, fp)
            record = tx.open_record(host, fp)
            if record is not None:
                self._resolve(tx, record, reading, now, changes)
            return
        data_back = row is not None and row["unknown_since"] is not None
        tx.put_series(host, fp, reading.rule.name, reading.target, reading.object, timer.level, timer.since,
                      timer.critical_since, timer.last_eval_at, None)
        if severity is None:
            return  # pending: "for" has not held yet
        record = tx.open_record(host, fp)
        if record is not None:
            self._ongoing(tx, record, reading, severity, timer, now, interval, data_back, clock_back, changes)
            return
        latest = tx.latest_record(host, fp)
        if latest is not None and latest.status == CLOSED and (latest.closed_at or 0) >= timer.since:
            return  # closed by hand during this very breach: leave it closed
        window = self.config.records.reopen_window
        if latest is not None and latest.status == RESOLVED and now - (latest.resolved_at or 0) <= window:
            self._reopen(tx, latest, reading, severity, timer, now, changes)
        else:
            self._open(tx, host, reading, severity, timer, now, latest, changes)

    def _unknown(self, tx: Tx, host: str, row, now: float, why: str, changes: list[Change]) -> None:
        fp = row["fingerprint"]
        record = tx.open_record(host, fp)
        if record is None:
            tx.delete_series(host, fp)  # a pending breach not seen to hold any more
            return
        if row["unknown_since"] is not None:
            return  # said once already
        tx.put_series(host, fp, row["rule"], row["target"], row["object"], row["level"], row["since"],
                      row["critical_since"], row["last_eval_at"], now)
        record.updated_at = now
        self._write(tx, record, now, NOTED, f"{why}; the record stays open until a clean re-test", changes)

    def _open(self, tx: Tx, host: str, reading: Reading, severity: str, timer: Timer, now: float,
              previous: Record | None, changes: list[Change]) -> None:
        rule = reading.rule
        priority = priority_for(severity, self.config.agent.environment, rule.priority, rule.check)
        record = Record(
            host=host,
            fingerprint=reading.fingerprint,
            rule=rule.name,
            target=reading.target,
            object=reading.object,
            title=self._title(reading, host),
            severity=severity,
            priority=priority,
            environment=self.config.agent.environment,
            opened_at=now,
            sla_due_at=sla_due(priority, now, self.config.records.sla),
            related=self._related(reading, host, previous),
            problems=content.problems(reading, severity, timer.since),
            requests=content.requests(reading),
            evidence=content.evidence(reading, severity, timer.since),
            updated_at=now,
            last_value=reading.value,
            last_noted_at=now,
            previous_id=previous.id if previous else None,
        )
        self._write(tx, record, now, OPENED, None, changes)

    def _reopen(self, tx: Tx, record: Record, reading: Reading, severity: str, timer: Timer, now: float,
                changes: list[Change]) -> None:
        after = format_duration(now - (record.resolved_at or now))
        record.status, record.result, record.resolved_at = OPEN, FAILED, None
        self._escalate(record, reading, severity, now)
        self._refresh(record, reading, severity, timer, now)
        text = f"re-opened: breached again {after} after it was resolved; {content.reading_text(reading, severity)}"
        self._write(tx, record, now, REOPENED, text, changes)

    def _ongoing(self, tx: Tx, record: Record, reading: Reading, severity: str, timer: Timer, now: float,
                 interval: float, data_back: bool, clock_back: float, changes: list[Change]) -> None:
        settings = self.config.records
        if clock_back and record.last_noted_at > now:
            # The wall clock went back: the last note moves back with it, so the next renote
            # comes one renote_interval after it, not that plus the jump.
            record.last_noted_at -= clock_back
            tx.update_record(record)
        reasons = []
        if severity != record.severity:
            reasons.append(f"severity {record.severity} -> {severity}")
            self._escalate(record, reading, severity, now)
        if data_back:
            reasons.append("data is back")
        if _worse(reading, record.last_value, settings.value_step):
            reasons.append(f"worse than {_value(reading, record.last_value)} at the last note")
        # Half an interval of slack: evaluations land a little early or late, never exactly on time.
        due = now - record.last_noted_at >= settings.renote_interval - min(interval, settings.renote_interval) / 2
        if not reasons and due:
            reasons.append(f"digest: still in breach after {format_duration(now - record.opened_at)}, "
                           f"unchanged since the last note")
        if not reasons:
            return
        self._refresh(record, reading, severity, timer, now)
        self._write(tx, record, now, NOTED, f"{content.reading_text(reading, severity)}; {'; '.join(reasons)}",
                    changes)

    def _resolve(self, tx: Tx, record: Record, reading: Reading, now: float, changes: list[Change]) -> None:
        record.status, record.result, record.resolved_at, record.updated_at = RESOLVED, PASSED, now, now
        if reading.finding is None and reading.value is not None:
            text = f"recovered: {content.reading_text(reading, None)}; re-test clean, result Passed"
            record.evidence = {**record.evidence, "recovered_value": reading.value}
        else:
            text = f"recovered: check {reading.rule.check} no longer reports it; re-test clean, result Passed"
        self._write(tx, record, now, RESOLVED_EVENT, text, changes)

    # -- helpers --------------------------------------------------------------------------------

    def _escalate(self, record: Record, reading: Reading, severity: str, now: float) -> None:
        """A new severity; the priority only ever becomes more urgent (the SLA with it)."""
        record.severity = severity
        priority = priority_for(severity, record.environment, reading.rule.priority, reading.rule.check)
        if priority != record.priority and more_urgent(priority, record.priority) == priority:
            record.priority = priority
            record.sla_due_at = min(record.sla_due_at, sla_due(priority, now, self.config.records.sla))

    def _refresh(self, record: Record, reading: Reading, severity: str, timer: Timer, now: float) -> None:
        record.problems = content.problems(reading, severity, timer.since)
        record.evidence = content.evidence(reading, severity, timer.since)
        record.last_value = reading.value
        record.last_noted_at = record.updated_at = now

    def _write(self, tx: Tx, record: Record, now: float, event: str, note: str | None,
               changes: list[Change] | None = None) -> None:
        """Store the record, its note and the event for every sink, in the caller's transaction."""
        _scrub(record)
        if record.id is None:
            tx.insert_record(record)
        else:
            tx.update_record(record)
        note_dict = None
        if note:
            note = redact(note)
            tx.add_note(record, now, note)
            note_dict = {"at": iso_epoch(now), "text": note}
        record.notes = tx.notes(record.id)
        payload = {"at": iso_epoch(now), "record": record.to_dict(), "note": note_dict}
        tx.add_event(record.id, event, now, payload, self.sinks)
        if changes is not None:
            changes.append(Change(event, record.id, record.fingerprint, record.title, record.priority))

    def _title(self, reading: Reading, host: str) -> str:
        title = self._probe_title(reading) or content.title(reading)
        # A remote host's record names the host (its targets' names alone do not say which machine).
        return title if self.origin is None or reading.target == host else f"{host}: {title}"

    def _probe_title(self, reading: Reading) -> str | None:
        """A failing probe's record is titled by what it is about: ``db1:1433 refused``."""
        if reading.rule.metric != PROBE_SUCCESS.name:
            return None
        name = (reading.labels or {}).get("probe")
        probe = next((p for p in self.config.probes if p.name == name), None)
        if probe is None:
            return None
        endpoint = f"{probe.tcp_host}:{probe.tcp_port}" if probe.tcp_host else f"DNS {probe.dns}"
        return f"{endpoint} {self._probe_reasons.get(name) or 'unreachable'} (probe {name})"

    def _related(self, reading: Reading, host: str, previous: Record | None) -> dict:
        if self.origin is None:
            return content.related(reading, host, self._url(), previous.id if previous else None)
        related = content.related(reading, host, self.origin.status_url, previous.id if previous else None)
        related["address"] = self.origin.address
        return related

    def _url(self) -> str:
        agent = self.config.agent
        if agent.dashboard_url:
            return agent.dashboard_url
        host = self.host if agent.listen_host in (ALL_ADDRESSES, "::") else agent.listen_host
        host = f"[{host}]" if ":" in host else host
        scheme = "https" if agent.web.tls_cert_file else "http"
        return f"{scheme}://{host}:{agent.listen_port}/"

    def _notify(self, changes: list[Change]) -> None:
        for change in changes:
            log.info("work record #%d %s: %s (%s)", change.record_id, change.kind, change.title, change.priority)
        if changes and self.on_change is not None:
            self.on_change(changes)


def _scrub(record: Record) -> None:
    for name in ("title", "target", "object"):
        setattr(record, name, redact(getattr(record, name)))
    record.related = content.scrub(record.related)
    record.problems = content.scrub(record.problems)
    record.requests = content.scrub(record.requests)
    record.evidence = content.scrub(record.evidence)


def _worse(reading: Reading, last: float | None, step: float) -> bool:
    """The value moved further into the breach by more than ``step`` (a fraction of ``last``)."""
    if reading.value is None or last is None:
        return False
    margin = abs(last) * step
    if reading.rule.direction == "above":
        return reading.value > last + margin
    return reading.value < last - margin


def _value(reading: Reading, value: float | None) -> str:
    from l4agent.core.units import format_value

    return format_value(reading.rule.metric or "", value) if value is not None else "n/a"
