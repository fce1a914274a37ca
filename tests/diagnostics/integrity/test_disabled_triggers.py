"""integrity.disabled_triggers: in l4_bad a disabled user trigger (warning) and DISABLE TRIGGER
ALL, which switches foreign keys off (critical); l4_good has the same triggers enabled. SQL
Server on sys.triggers / sys.foreign_keys-shaped rows. MariaDB has no such state: not run there."""

from __future__ import annotations

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.checkrun import db_config, findings_of, run_check, run_mssql
from tests.support.signal_plants import BAD, GOOD

CHECK = "integrity.disabled_triggers"


def test_disabled_trigger_and_foreign_keys_off(pg_signals):
    findings = {f.object: f for f in findings_of(run_check(CHECK, db_config(pg_signals.primary, BAD)))}
    assert {o: f.severity for o, f in findings.items()} == {"public.audited": "warning", "public.line": "critical"}
    assert findings["public.audited"].summary == "trigger(s) audited_touch disabled"
    assert "foreign-key enforcement off (2 internal trigger(s)" in findings["public.line"].summary
    assert findings_of(run_check(CHECK, db_config(pg_signals.primary, GOOD))) == []


def test_mssql_rows():
    rows = {"disabled": [{"schema_name": "dbo", "table_name": "ORDERS", "trigger_name": "TR_ORDERS_AUDIT",
                          "internal": 0, "enforces_constraint": 0},
                         {"schema_name": "dbo", "table_name": "ORDER_ROWS", "trigger_name": "FK_ROWS_ORDERS",
                          "internal": 1, "enforces_constraint": 1}],
            "count": [{"triggers": 120}],
            "catalog_state": [{"name": "workcube_cf", "state_desc": "ONLINE", "user_access_desc": "MULTI_USER",
                               "is_in_standby": 0, "updateability": "READ_WRITE", "has_access": 1, "is_secondary": 0}]}
    findings, _ = run_mssql(CHECK, rows, databases=["workcube_cf"])
    assert [(f.object, f.severity) for f in findings] == [("workcube_cf.dbo.ORDERS", "warning"),
                                                          ("workcube_cf.dbo.ORDER_ROWS", "critical")]
    assert "WITH CHECK CHECK CONSTRAINT ALL" in findings[1].recommendation


def test_not_run_on_mariadb():
    assert by_id(CHECK).engines == {"postgresql", "mssql"}
