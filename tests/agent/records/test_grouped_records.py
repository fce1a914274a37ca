"""Issue 15: work records follow the grouped findings. Heap tables planted in a real PostgreSQL
catalog are one schema.no_primary_key finding (object = the catalog), so one record whose
evidence lists the tables; a heap added later keeps the same record (same fingerprint), and a
keyed twin table is never in it."""

from __future__ import annotations

from l4agent.agent.records.engine import RecordEngine
from l4agent.agent.records.store import Store, store_path
from l4agent.diagnostics.runner import run_diagnostics
from tests.agent.records.conftest import make_config
from tests.diagnostics.schema_support import planted

RULE = {"name": "heaps", "check": "schema.no_primary_key"}


def test_grouped_findings_open_one_record_per_catalog(pg_server, tmp_path):
    statements = [f"CREATE TABLE heap_{n} (a int)" for n in range(3)] + ["CREATE TABLE keyed (id int PRIMARY KEY)"]
    (tmp_path / "db").mkdir()
    with planted(pg_server, statements, tmp_path / "db") as erp:
        config = make_config(tmp_path, thresholds=[RULE])
        store = Store.open(store_path(str(tmp_path / "state")))
        try:
            engine = RecordEngine(store, config, "db1", rules=list(config.thresholds))
            ran = {("schema.no_primary_key", "erp")}
            first = run_diagnostics(erp.config, ["schema.no_primary_key"]).findings
            engine.evaluate_findings(first, ran, now=0)
            [record] = store.list_records()
            assert (record.object, record.status, record.severity) == (erp.database, "open", "warning")
            assert "3 tables without a primary key" in record.problems[0]
            listed = [t["object"] for t in record.evidence["details"]["tables"]]
            assert sorted(listed) == [erp.obj(f"heap_{n}") for n in range(3)]
            assert erp.obj("keyed") not in listed

            pg_server.execute_admin("CREATE TABLE heap_3 (a int)", erp.database)
            engine.evaluate_findings(run_diagnostics(erp.config, ["schema.no_primary_key"]).findings, ran, now=3600)
            [same] = store.list_records()
            assert (same.id, same.fingerprint, same.status) == (record.id, record.fingerprint, "open")
        finally:
            store.close()
