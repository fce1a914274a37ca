"""perf.stale_statistics: a table with many rows changed since ANALYZE is reported; its
re-analyzed twin and a table with few changes are not."""

from __future__ import annotations

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.checkrun import db_config, findings_of, objects, run_check, run_mssql


def test_postgresql_modified_table_beside_analyzed_twin(pg_server, pg_db):
    tables = ("stock", "stock_clean", "rates")
    # Separate sessions: a session's row counts reach the statistics when it ends, so each step
    # must be counted before the next one resets them.
    pg_server.execute_admin([f"CREATE TABLE {t} (id int PRIMARY KEY, qty int) WITH (autovacuum_enabled = false)"
                             for t in tables]
                            + [f"INSERT INTO {t} SELECT g, 0 FROM generate_series(1, 10000) g" for t in tables], pg_db)
    pg_server.execute_admin(f"ANALYZE {', '.join(tables)}", pg_db)
    pg_server.execute_admin(["UPDATE stock SET qty = 1 WHERE id <= 5000", "UPDATE stock_clean SET qty = 1 WHERE id <= 5000",
                             "UPDATE rates SET qty = 1 WHERE id <= 500"], pg_db)
    pg_server.execute_admin("ANALYZE stock_clean", pg_db)
    findings = findings_of(run_check("perf.stale_statistics", db_config(pg_server, pg_db)))

    assert objects(findings) == {f"{pg_db}.public.stock"}
    finding = findings[0]
    assert finding.evidence["n_mod_since_analyze"] == 5000
    assert finding.evidence["analyze_age_seconds"] is not None and "last analyzed" in finding.summary
    assert finding.recommendation.startswith('ANALYZE "public"."stock";')
    assert finding.evidence["autovacuum_disabled"] is True


def test_not_run_on_mariadb_which_recalculates_by_itself():
    assert by_id("perf.stale_statistics").engines == {"mssql", "postgresql"}


# -- SQL Server: rows shaped like sys.stats + sys.dm_db_stats_properties ----------------------

def _stats(table: str, name: str, rows: int, modified: int, no_recompute: bool = False) -> dict:
    return {"database_name": "erp", "schema_name": "dbo", "table_name": table, "stats_name": name,
            "auto_created": name.startswith("_WA"), "no_recompute": no_recompute,
            "last_updated": "2026-10-01 03:00:00", "rows": rows, "rows_sampled": rows // 10,
            "modification_counter": modified, "age_seconds": 4_500_000}


def test_mssql_one_finding_per_table_with_its_stale_statistics():
    rows = [_stats("ORDER_ROWS", "PK_ORDER_ROWS", 1_000_000, 400_000),
            _stats("ORDER_ROWS", "_WA_Sys_00000003_0EA330E9", 1_000_000, 400_000, no_recompute=True),
            _stats("CUSTOMERS", "PK_CUSTOMERS", 1_000_000, 5_000)]  # 0.5 % changed: fine
    state = [{"name": "erp_2024", "state_desc": "ONLINE", "user_access_desc": "MULTI_USER", "is_in_standby": False,
              "updateability": "READ_WRITE", "has_access": 1, "is_secondary": 0}]
    findings, db = run_mssql("perf.stale_statistics", {"catalog_state": state, ("modified", "erp_2024"): rows},
                             databases=["erp_2024"])
    assert db.calls == [("catalog_state", (), None), ("modified", (1000,), "erp_2024")]
    assert [f.object for f in findings] == ["erp.dbo.ORDER_ROWS"]
    assert findings[0].recommendation.startswith("UPDATE STATISTICS [dbo].[ORDER_ROWS];")
    assert "NORECOMPUTE" in findings[0].recommendation
    assert len(findings[0].evidence["statistics"]) == 2


def test_mssql_restoring_catalog_is_skipped_and_the_next_one_read():
    """Issue 16 item 5. Before: one RESTORING catalog (927) ended the loop and lost every later one."""
    from tests.diagnostics.checkrun import run_mssql_ctx

    state = [{"name": n, "state_desc": s, "user_access_desc": "MULTI_USER", "is_in_standby": False,
              "updateability": "READ_WRITE", "has_access": 1, "is_secondary": 0}
             for n, s in (("erp_old", "RESTORING"), ("erp", "ONLINE"))]
    rows = [_stats("ORDER_ROWS", "PK_ORDER_ROWS", 1_000_000, 400_000)]
    findings, db, ctx = run_mssql_ctx("perf.stale_statistics", {"catalog_state": state, ("modified", "erp"): rows},
                                      databases=["erp_old", "erp"])
    assert [c[2] for c in db.calls if c[0] == "modified"] == ["erp"]
    assert [f.object for f in findings] == ["erp.dbo.ORDER_ROWS"]
    assert [(e.catalog, i["why"]) for e in ctx.coverage.entries() for i in e.not_examined] == [
        ("erp_old", "catalog erp_old skipped: the database is RESTORING")]
