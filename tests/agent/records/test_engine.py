"""The record lifecycle on the real SQLite store, with a clock the test drives (seconds)."""

from __future__ import annotations

import sqlite3

import pytest

from l4agent.agent.records.engine import RecordEngine
from l4agent.core.redact import register_secret
from l4agent.diagnostics.base import Finding
from tests.agent.records.conftest import VALUE, make_config

RULE = {"name": "value-high", "metric": VALUE.name, "warning": 0.80, "critical": 0.90, "recovery_margin": 0.05}


def run(engine, values, start=0.0, step=15.0):
    """Evaluate one value per step (None = no sample this round); returns the last time used."""
    now = start
    for value in values:
        engine.evaluate_samples([] if value is None else [VALUE(value)], now=now)
        now += step
    return now - step


def only_record(store):
    records = store.list_records()
    assert len(records) == 1, [r.to_dict() for r in records]
    return records[0]


def test_one_record_per_breach_and_no_note_for_an_unchanged_repeat(engine_for, store):
    engine = engine_for([RULE])  # default renote_interval 1h
    run(engine, [0.85] * 40)  # ten minutes of the same breach
    record = only_record(store)
    assert (record.status, record.result, record.severity, record.priority) == ("open", "Failed", "warning", "P2")
    assert record.notes == []
    assert record.fingerprint == "value-high|db1|l4agent_test_value"
    assert record.sla_due_at == record.opened_at + 8 * 3600


def test_renote_interval_equal_to_the_interval_notes_every_repeat(engine_for, store):
    engine = engine_for([RULE], records={"renote_interval": "15s"})
    run(engine, [0.85] * 10)
    assert len(only_record(store).notes) == 9


def test_renote_once_per_interval(engine_for, store):
    engine = engine_for([RULE], records={"renote_interval": "1m"})
    run(engine, [0.85] * 21)  # 0 .. 300 s
    notes = only_record(store).notes
    assert [n.at for n in notes] == [60, 120, 180, 240, 300]
    assert "still in breach" in notes[0].text


def test_notes_when_something_changed(engine_for, store):
    engine = engine_for([RULE])  # value_step 5 % of the last noted value
    run(engine, [0.82, 0.84, 0.86, 0.87])
    assert len(only_record(store).notes) == 1  # 0.86 > 0.82 * 1.05
    run(engine, [0.95], start=100)
    record = only_record(store)
    assert record.severity == "critical" and record.priority == "P1"
    assert "severity warning -> critical" in record.notes[-1].text
    assert record.sla_due_at == 100 + 4 * 3600  # escalation brings the SLA forward
    run(engine, [0.93], start=115)  # critical - margin: still critical, nothing new
    assert len(only_record(store).notes) == 2


def test_recovery_needs_a_clean_reading_past_the_margin(engine_for, store):
    engine = engine_for([RULE])
    run(engine, [0.85, 0.78, 0.76])  # inside the warning margin: still in breach
    assert only_record(store).status == "open"
    run(engine, [0.70], start=45)
    record = only_record(store)
    assert (record.status, record.result, record.resolved_at) == ("resolved", "Passed", 45)
    assert record.notes[-1].text.startswith("recovered: value 0.7")


def test_missing_data_is_unknown_never_recovered(engine_for, store):
    engine = engine_for([RULE])
    run(engine, [0.85, None, None, None])
    record = only_record(store)
    assert record.status == "open" and record.result == "Failed"
    assert len(record.notes) == 1 and "no data" in record.notes[0].text  # said once
    run(engine, [0.86], start=60)
    assert "data is back" in only_record(store).notes[-1].text


def test_missing_data_breaks_a_pending_for(engine_for, store):
    engine = engine_for([{**RULE, "for": "30s"}])
    run(engine, [0.85, 0.85, None, 0.85, 0.85])  # 0, 15, (30 unknown), 45, 60
    assert store.list_records() == []
    run(engine, [0.85], start=75)
    assert only_record(store).opened_at == 75


def test_for_timer_resumes_after_a_restart(tmp_path, engine_for, store):
    rule = {**RULE, "for": "1m"}
    run(engine_for([rule]), [0.85, 0.85, 0.85])  # 0, 15, 30
    restarted = engine_for([rule])  # a new engine on the same store, as after `serve` restarts
    run(restarted, [0.85, 0.85], start=45)
    record = only_record(store)
    assert record.opened_at == 60
    assert record.evidence["breached_since"] == "1970-01-01T00:00:00Z"
    run(engine_for([rule]), [0.85] * 5, start=75)  # and again: still one record
    assert only_record(store).id == record.id


def test_reopen_within_the_window_else_a_new_record_links_the_old(engine_for, store):
    engine = engine_for([RULE], records={"reopen_window": "1h"})
    run(engine, [0.85, 0.5, 0.85])  # open, resolve at 15, breach again at 30
    record = only_record(store)
    assert record.status == "open" and record.result == "Failed" and record.resolved_at is None
    assert record.notes[-1].text.startswith("re-opened: breached again 15s after it was resolved")
    run(engine, [0.5], start=45)
    run(engine, [0.85], start=45 + 3601)
    newest, old = store.list_records()
    assert (newest.status, old.status) == ("open", "resolved")
    assert newest.previous_id == old.id and newest.related["previous_record"] == old.id
    assert newest.notes == []


def test_closed_by_hand_stays_closed_while_the_breach_holds(engine_for, store):
    engine = engine_for([RULE])
    run(engine, [0.85])
    engine.close(only_record(store).id, "accepted for now", now=5)
    run(engine, [0.85] * 5, start=15)
    record = only_record(store)
    assert record.status == "closed" and record.notes[-1].text == "closed by hand: accepted for now"
    with pytest.raises(ValueError):
        engine.close(record.id)
    with pytest.raises(KeyError):
        engine.close(999)
    run(engine, [0.5, 0.85], start=100)  # recovered, then a new breach: a new record linking the old
    newest, old = store.list_records()
    assert old.id == record.id and old.status == "closed"
    assert newest.status == "open" and newest.previous_id == record.id


def test_priority_from_environment_and_rule(engine_for, store):
    run(engine_for([RULE], agent={"environment": "development"}), [0.85])
    assert only_record(store).priority == "P4"
    store.conn.execute("DELETE FROM outbox")
    store.conn.execute("DELETE FROM events")
    store.conn.execute("DELETE FROM notes")
    store.conn.execute("DELETE FROM series")
    store.conn.execute("DELETE FROM records")
    run(engine_for([{**RULE, "priority": "P1"}], agent={"environment": "qa"}), [0.85])
    assert only_record(store).priority == "P1"


def test_one_open_record_per_fingerprint_is_enforced_by_the_schema(engine_for, store):
    run(engine_for([RULE]), [0.85])
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute("INSERT INTO records SELECT NULL, host, fingerprint, rule, target, object, title, "
                           "status, severity, priority, environment, result, opened_at, updated_at, "
                           "resolved_at, closed_at, sla_due_at, related, problems, requests, evidence, "
                           "last_value, last_noted_at, previous_id FROM records")


def test_every_change_queues_one_event_per_sink(tmp_path, engine_for, store):
    sinks = [{"type": "webhook", "name": "hook", "url": "http://127.0.0.1:9/"},
             {"type": "command", "name": "erp", "command": ["true"]}]
    engine = engine_for([RULE], records={"renote_interval": "15s"}, sinks=sinks)
    run(engine, [0.85, 0.85, 0.5, 0.85])  # opened, noted, resolved, reopened
    kinds = [row[0] for row in store.conn.execute("SELECT kind FROM events ORDER BY id")]
    assert kinds == ["opened", "noted", "resolved", "reopened"]
    assert store.outbox_counts() == {"hook": {"pending": 4}, "erp": {"pending": 4}}
    head = store.outbox_head("hook")
    assert head.kind == "opened" and head.payload["record"]["status"] == "open"
    assert head.payload["idempotency_key"] == head.idempotency_key


def test_a_failed_write_leaves_nothing_half_done(engine_for, store):
    engine = engine_for([RULE], sinks=[{"type": "webhook", "name": "hook", "url": "http://127.0.0.1:9/"}])
    engine.sinks = ["hook", "hook"]  # the second outbox row violates UNIQUE (event, sink)
    with pytest.raises(Exception):
        run(engine, [0.85])
    assert store.list_records() == [] and store.outbox_counts() == {}


FINDING = {"name": "backup-stale", "check": "backup.stale"}


def stale(target="erp", obj="erp.main", severity="critical", summary="newest full backup is 3d old"):
    return Finding("backup.stale", severity, target, obj, summary, "Run a full backup. Check the job.",
                   {"age_seconds": 259200})


def test_findings_open_per_object_and_recover_only_where_the_check_ran(engine_for, store):
    engine = engine_for([FINDING])
    ran = {("backup.stale", "erp"), ("backup.stale", "crm")}
    engine.evaluate_findings([stale(), stale(obj="erp.hr"), stale("crm", "crm.main", "warning")], ran, now=0)
    records = {r.object: r for r in store.list_records()}
    assert set(records) == {"erp.main", "erp.hr", "crm.main"}
    main = records["erp.main"]
    assert main.problems[0] == "Newest full backup is 3d old."
    assert main.requests[:2] == ["Run a full backup.", "Check the job."]
    assert main.evidence["details"] == {"age_seconds": 259200}
    # next run: erp.hr is gone (recovered); crm could not be checked (unknown, stays open)
    engine.evaluate_findings([stale()], {("backup.stale", "erp")}, now=3600)
    records = {r.object: r for r in store.list_records()}
    assert records["erp.hr"].status == "resolved" and records["erp.hr"].result == "Passed"
    assert records["crm.main"].status == "open"
    assert "not re-tested" in records["crm.main"].notes[-1].text
    assert records["erp.main"].status == "open"
    engine.evaluate_findings([], {("backup.stale", "erp"), ("backup.stale", "crm")}, now=7200)
    assert {r.status for r in store.list_records()} == {"resolved"}


def test_findings_of_another_host_are_kept_apart(engine_for, store):
    engine = engine_for([FINDING])
    engine.evaluate_findings([stale()], {("backup.stale", "erp")}, host="db2", now=0)
    engine.evaluate_findings([stale()], {("backup.stale", "erp")}, host="db1", now=0)
    assert sorted(r.host for r in store.list_records()) == ["db1", "db2"]


def test_no_secret_reaches_a_record(engine_for, store):
    register_secret("s3cr3t-t0ken-value")
    engine = engine_for([FINDING])
    leaky = stale(summary="login with password=hunter2 failed; token s3cr3t-t0ken-value rejected")
    engine.evaluate_findings([leaky], {("backup.stale", "erp")}, now=0)
    text = str(only_record(store).to_dict()) + str(store.conn.execute("SELECT payload FROM events").fetchall())
    assert "hunter2" not in text and "s3cr3t-t0ken-value" not in text
    assert "***" in text


def test_builtin_rules_run_without_any_config(tmp_path, store):
    from l4agent.core.samples import gauge

    fs = gauge("l4agent_filesystem_used_ratio", "t")
    config = make_config(tmp_path, agent={"interval": "5m"})
    engine = RecordEngine(store, config, "db1")
    for now in range(0, 1801, 300):
        engine.evaluate_samples([fs(0.97, mountpoint="/var", fstype="ext4", device="/dev/vdb"),
                                 fs(0.20, mountpoint="/", fstype="ext4", device="/dev/vda")], now=float(now))
    record = only_record(store)
    assert (record.rule, record.object, record.severity, record.priority) == ("disk-used", "/var", "critical", "P1")
    assert record.problems[0] == "Disk space used on /var: l4agent_filesystem_used_ratio is 97.0 %, critical above 95.0 %."


def test_daemon_findings_subscriber_uses_the_checks_that_ran(tmp_path, store):
    from l4agent.agent.records.service import RecordsService
    from l4agent.diagnostics.runner import DiagnoseResult

    config = make_config(tmp_path, databases=[{"name": "erp", "engine": "mssql", "dsn": "DRIVER=x;SERVER=db"}])
    service = RecordsService(config, "db1", store)

    def result(findings=(), errors=(), unreachable=()):
        return DiagnoseResult("db1", "2026-01-01T00:00:00Z", 1.0, list(findings), list(errors), list(unreachable))

    service.on_findings(result([stale()]))
    assert [(r.rule, r.status) for r in store.list_records()] == [("backup-stale", "open")]
    service.on_findings(result(errors=[{"check": None, "target": "erp", "error": "login timeout"}],
                               unreachable=["erp"]))
    assert only_record(store).status == "open"  # unreachable: not re-tested, not recovered
    service.on_findings(result(errors=[{"check": "backup.stale", "target": "erp", "error": "permission"}]))
    assert only_record(store).status == "open"  # the check failed: still unknown
    service.on_findings(result())
    assert only_record(store).status == "resolved"


def test_disk_full_forecast_opens_only_inside_seven_days(tmp_path, store):
    config = make_config(tmp_path)
    engine = RecordEngine(store, config, "db1")
    forecast = [Finding("capacity.disk_full_forecast", "warning", "db1", "/data", "full in 20 days", "grow it"),
                Finding("capacity.disk_full_forecast", "critical", "db1", "/var", "full in 5 days", "grow it")]
    engine.evaluate_findings(forecast, {("capacity.disk_full_forecast", "db1")}, now=0)
    assert [(r.rule, r.object, r.priority) for r in store.list_records()] == [("disk-full-forecast", "/var", "P1")]


def test_app_tier_findings_open_records_through_the_builtin_rules(tmp_path, store):
    """A slow, failing or expiring app server's finding becomes a work record by default."""
    engine = RecordEngine(store, make_config(tmp_path), "db1")
    slow = Finding("app.slow_response", "critical", "lucee", "https://erp/index.cfm", "p95 6.1s over 5 probes",
                   "Find the slow requests in the app server's log.")
    chain = Finding("app.tls_chain", "warning", "lucee", "https://erp/index.cfm", "certificate does not verify",
                    "Install the intermediate certificate.")
    fine = {("app.slow_response", "lucee"), ("app.tls_chain", "lucee"), ("app.error_rate", "lucee")}
    engine.evaluate_findings([slow, chain], fine, now=0)
    assert sorted((r.rule, r.target, r.priority) for r in store.list_records()) == [
        ("app-slow-response", "lucee", "P1"), ("app-tls-chain", "lucee", "P2")]
    engine.evaluate_findings([chain], fine, now=60)  # the slow response is gone on the re-test
    assert {r.rule: r.result for r in store.list_records()} == {"app-slow-response": "Passed", "app-tls-chain": "Failed"}


def test_a_day_of_an_unchanged_breach_is_one_open_event_and_one_digest(engine_for, store):
    """Defaults that fit a support desk: a steady breach evaluated every 15 s for a simulated day
    (the engine's clock runs as fast as the test) reaches the sink twice: opened, then one digest
    note after 24 h. A change (severity up) notes at once, whatever the interval."""
    engine = engine_for([RULE], sinks=[{"type": "webhook", "name": "hook", "url": "https://tickets.example/hook"}])
    run(engine, [0.85] * (24 * 240 + 1))  # 0 .. 86,400 s
    record = only_record(store)
    assert [n.at for n in record.notes] == [86400]
    assert record.notes[0].text.endswith("unchanged since the last note")
    assert store.outbox_counts() == {"hook": {"pending": 2}}
    run(engine, [0.95], start=86415)
    assert len(only_record(store).notes) == 2 and store.outbox_counts() == {"hook": {"pending": 3}}


def test_structural_findings_are_planned_work_not_incidents(engine_for, store):
    rule = {"name": "schema", "check": "schema.no_primary_key"}
    engine = engine_for([rule], agent={"environment": "production"})
    finding = Finding("schema.no_primary_key", "warning", "db1", "erp.public", "37 tables without a primary key",
                      "add primary keys", {"tables": ["a", "b"]})
    engine.evaluate_findings([finding], {("schema.no_primary_key", "db1")}, now=0)
    assert only_record(store).priority == "P4"  # a warning in production would be P2 for an incident
    engine = engine_for([{**rule, "name": "schema-p2", "priority": "P2"}], agent={"environment": "production"})
    engine.evaluate_findings([Finding("schema.no_primary_key", "critical", "db1", "erp.dbo", "x", "y", {})],
                             {("schema.no_primary_key", "db1")}, now=0)
    assert {r.rule: r.priority for r in store.list_records()} == {"schema": "P4", "schema-p2": "P2"}


def test_a_failing_probe_record_is_titled_by_its_endpoint_and_reason(engine_for, store):
    from l4agent.collectors.probes import PROBE_FAILURE, PROBE_SUCCESS

    rule = {"name": "probe-down", "metric": "l4agent_probe_success", "direction": "below", "critical": 1}
    engine = engine_for([rule], probes=[{"name": "db-port", "tcp": "db1:1433"}])
    engine.evaluate_samples([PROBE_SUCCESS(0, probe="db-port", kind="tcp"),
                             PROBE_FAILURE(1, probe="db-port", kind="tcp", reason="refused")], now=0)
    record = only_record(store)
    assert record.title == "db1:1433 refused (probe db-port)"
    assert "l4agent_probe_success" not in record.title
