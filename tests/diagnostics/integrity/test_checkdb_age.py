"""integrity.checkdb_age (SQL Server) on rows shaped like its statement: a database checked 10
days ago (warning), one never checked since its creation 60 days ago (critical), one checked
yesterday (clean); a server before 2016 SP2 (no LastGoodCheckDbTime) is "not examined"."""

from __future__ import annotations

from l4agent.diagnostics.base import CheckContext
from tests.diagnostics.checkrun import run_mssql

CHECK = "integrity.checkdb_age"
DAY = 86400


def row(catalog, checked_days_ago, created_days_ago=400, known=1):
    return {"catalog": catalog, "last_good_checkdb": None if checked_days_ago is None else "2026-11-24 03:00:00",
            "checkdb_age_seconds": None if checked_days_ago is None else checked_days_ago * DAY,
            "checkdb_known": known, "created_age_seconds": created_days_ago * DAY}


def test_old_and_never_checked_beside_a_fresh_check():
    rows = {"checkdb": [row("workcube_cf", 10), row("workcube_cf_1", None, 60), row("workcube_cf_2", 1),
                        row("master", 3)]}
    findings, _ = run_mssql(CHECK, rows)
    assert [(f.object, f.severity) for f in findings] == [("workcube_cf", "warning"), ("workcube_cf_1", "critical")]
    assert "never completed cleanly" in findings[1].summary
    assert "DBCC CHECKDB ([workcube_cf])" in findings[0].recommendation


def test_threshold_option():
    findings, _ = run_mssql(CHECK, {"checkdb": [row("workcube_cf", 10)]},
                            diagnostics={CHECK: {"warning": "14d", "critical": "60d"}})
    assert findings == []


def test_old_server_is_not_examined(monkeypatch):
    recorded = []
    monkeypatch.setattr(CheckContext, "not_examined", lambda self, what, why, catalog=None:
                        recorded.append((catalog, what, why)))
    findings, _ = run_mssql(CHECK, {"checkdb": [row("workcube_cf", None, known=0)]})
    assert findings == []
    assert recorded == [("workcube_cf", CHECK, "LastGoodCheckDbTime needs SQL Server 2016 SP2 or later (DBCC "
                                               "DBINFO, which needs sysadmin, is not run)")]
