"""replication.slot_retention: a physical and a logical slot whose consumers are gone keep WAL
(tests/support/signal_plants.py); the standby's active, caught-up slot is the clean twin."""

from __future__ import annotations

from tests.diagnostics.checkrun import db_config, findings_of, run_check
from tests.diagnostics.signal_support import examined


def test_stale_slots_beside_the_active_one(pg_signals):
    pg_signals.standby.wait_caught_up()
    result = run_check("replication.slot_retention", db_config(pg_signals.primary, "postgres"))
    findings = {f.object: f for f in findings_of(result)}
    assert set(findings) == {"slot stale_logical", "slot stale_physical"}
    physical = findings["slot stale_physical"]
    assert physical.severity == "warning" and physical.evidence["retained_bytes"] > 8 << 20
    assert "pg_drop_replication_slot('stale_physical')" in physical.recommendation
    assert "catalog_xmin" in findings["slot stale_logical"].summary
    assert examined(result)[(None, "replication slots")] == 3


def test_over_the_byte_threshold_even_when_active(pg_signals):
    options = {"replication.slot_retention": {"warning_bytes": 1, "critical_bytes": 1 << 20}}
    findings = {f.object: f.severity for f in findings_of(run_check(
        "replication.slot_retention", db_config(pg_signals.primary, "postgres", diagnostics=options)))}
    assert findings["slot stale_physical"] == "critical"
