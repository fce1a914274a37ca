"""capacity.xid_wraparound: 50,000 XIDs burnt with every catalog frozen except one table of
l4_bad (tests/support/signal_plants.py): that catalog is reported with the table holding it back,
its frozen twin l4_good and the other catalogs are not; default thresholds report nothing."""

from __future__ import annotations

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.checkrun import db_config, findings_of, run_check
from tests.diagnostics.signal_support import examined
from tests.support.signal_plants import BAD, XID_BURN

LOW = {"capacity.xid_wraparound": {"warning_age": 40_000, "critical_age": 1_000_000}}


def test_old_catalog_reported_with_the_table_holding_it_back(pg_signals):
    result = run_check("capacity.xid_wraparound", db_config(pg_signals.primary, "postgres", diagnostics=LOW))
    [finding] = findings_of(result)
    assert (finding.object, finding.severity) == (BAD, "warning")
    assert finding.evidence["xid_age"] >= XID_BURN
    assert finding.evidence["tables"][0]["table_name"] == "old_orders"
    assert "old_orders" in finding.summary and "VACUUM (FREEZE" in finding.recommendation
    assert examined(result)[(None, "catalogs")] == 5


def test_critical_beyond_the_critical_age(pg_signals):
    options = {"capacity.xid_wraparound": {"warning_age": 10_000, "critical_age": 40_000}}
    [finding] = findings_of(run_check("capacity.xid_wraparound", db_config(pg_signals.primary, "postgres",
                                                                           diagnostics=options)))
    assert (finding.object, finding.severity) == (BAD, "critical")


def test_default_thresholds_report_nothing_here(pg_signals):
    assert findings_of(run_check("capacity.xid_wraparound", db_config(pg_signals.primary, "postgres"))) == []


def test_standby_sees_the_same_ages(pg_signals):
    findings = findings_of(run_check("capacity.xid_wraparound", db_config(pg_signals.standby, "postgres",
                                                                          diagnostics=LOW)))
    assert [f.object for f in findings] == [BAD]


def test_postgresql_only():
    assert by_id("capacity.xid_wraparound").engines == {"postgresql"}
