"""The report's data: verdict and reasons, layer tables judged by the threshold rules, top
queries and forecasts from findings, trends from the history file."""

from __future__ import annotations

from l4agent.core.history import History
from l4agent.exporters.report import inputs as sources
from l4agent.exporters.report.inputs import RecordsView
from l4agent.exporters.report.model import CRITICAL, OK, WARNING, build_report
from tests.exporters.report.inputs import (
    GIB,
    NOW,
    breaches,
    config,
    diagnosis,
    disk_forecast,
    finding,
    no_history,
    no_records,
    snapshot,
    top_query,
)


def build(snap=None, diag=None, records=None, history=None, **kwargs):
    snap = snap or snapshot()
    kwargs.setdefault("breaches", breaches(snap))
    return build_report(config(), "db1", snap, diag, records or no_records(), history or no_history(),
                        NOW, **kwargs)


def test_a_healthy_host_is_ok():
    report = build(diag=diagnosis())
    assert report.verdict == OK
    assert report.reasons == ["no findings, no thresholds breached, no open work records"]
    assert [layer.name for layer in report.layers] == ["OS", "Network", "Database", "App server"]


def test_a_warning_finding_makes_a_warning_verdict():
    report = build(diag=diagnosis(finding()))
    assert report.verdict == WARNING
    assert "1 warning finding" in report.reasons


def test_info_findings_alone_stay_ok():
    report = build(diag=diagnosis(top_query(5000, "SELECT 1")))
    assert report.verdict == OK


def test_critical_finding_or_unreachable_database_is_critical():
    assert build(diag=diagnosis(finding(severity="critical"))).verdict == CRITICAL
    report = build(snap=snapshot(database_up=0), diag=diagnosis())
    assert report.verdict == CRITICAL
    assert "erp unreachable" in report.reasons
    assert report.unreachable == ["erp"]


def test_threshold_breach_marks_the_row_and_the_verdict():
    report = build(snap=snapshot(root_used=0.97), diag=diagnosis())
    assert report.verdict == CRITICAL
    assert any("/" in reason and "critical above" in reason for reason in report.reasons)
    filesystems = report.layers[0].tables[1]
    statuses = {row.cells[0]: row.status for row in filesystems.rows}
    assert statuses == {"/": CRITICAL, "/data": OK}


def test_backup_older_than_twice_the_rpo_is_critical_in_the_backup_table():
    report = build(diag=diagnosis())
    backups = next(t for t in report.layers[2].tables if t.title == "Newest backups")
    assert backups.rows[0].status == CRITICAL
    assert backups.rows[0].cells[:3] == ["erp", "workcube_cf", "full"]


def test_open_records_and_errors_count_as_warnings():
    records = RecordsView([{"id": 7, "priority": "P2", "title": "disk space used", "sla_due_at": "2000-01-01T00:00:00Z"}])
    report = build(diag=diagnosis(), records=records)
    assert report.verdict == WARNING
    assert "1 open work record" in report.reasons


def test_top_queries_are_sorted_by_total_time():
    report = build(diag=diagnosis(top_query(1000, "SELECT a"), top_query(9000, "SELECT b"), top_query(5000, "SELECT c")))
    assert [q.query for q in report.top_queries] == ["SELECT b", "SELECT c", "SELECT a"]
    assert report.top_queries[0].total_seconds == 9.0


def test_disk_forecast_uses_the_finding_and_the_history(tmp_path):
    history = History.in_state_dir(tmp_path)
    history.record_many([(sources.FS_USED, {"mountpoint": "/data"}, NOW - 86400 * d, (80 - 4 * d) * GIB) for d in range(5)])
    report = build(diag=diagnosis(disk_forecast(days=5)), history=sources.HistoryView(history))
    (forecast,) = report.forecasts
    assert forecast.mountpoint == "/data"
    assert forecast.used_bytes == 80 * GIB and forecast.size_bytes == 100 * GIB
    assert abs(forecast.full_at - (NOW + 5 * 86400)) < 1
    assert len(forecast.history) == 5


def test_trends_come_from_the_history(tmp_path):
    history = History.in_state_dir(tmp_path)
    points = []
    for i in range(10):
        ts = NOW - 60 - 3600 * (9 - i)
        points += [(sources.CPU_BUSY, {}, ts, 0.1 * i / 10), (sources.MEMORY_AVAILABLE, {}, ts, 0.5),
                   (sources.FS_USED, {"mountpoint": "/"}, ts, 40 * GIB), (sources.FS_FREE, {"mountpoint": "/"}, ts, 60 * GIB)]
    history.record_many(points)
    report = build(diag=diagnosis(), history=sources.HistoryView(history))
    trends = {t.title: t for t in report.trends}
    assert len(trends["CPU busy"].points) == 10
    assert trends["Disk used /"].points[0][1] == 0.4
    assert trends["Disk used /data"].points == []  # nothing recorded for it
    assert report.history_note is None
    assert "CPU busy" in [row.cells[0] for row in report.layers[0].tables[0].rows]  # the latest point, < 15 min old


def test_problems_keep_their_key_and_skip_info():
    report = build(snap=snapshot(root_used=0.97), diag=diagnosis(finding(), top_query(1, "x")))
    keys = set(report.problems())
    assert "finding|schema.no_primary_key|erp|erp.public.orders" in keys
    assert "threshold|disk-used|db1|/" in keys
    assert len(keys) == 2


def test_json_shape():
    data = build(diag=diagnosis(finding())).to_dict()
    assert data["verdict"] == WARNING
    assert data["findings"][0]["check"] == "schema.no_primary_key"
    assert {"layers", "filesystems", "trends", "forecasts", "top_queries", "records", "comparison"} <= set(data)
