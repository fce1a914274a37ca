"""perf.index_fragmentation (SQL Server only): rows shaped like sys.dm_db_index_physical_stats
(LIMITED) joined to sys.indexes: > 30 % is REBUILD, 5-30 % REORGANIZE, small or tidy indexes
are left alone."""

from __future__ import annotations

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.checkrun import run_mssql


def _index(name: str, percent: float, pages: int, partition: int = 1) -> dict:
    return {"database_name": "erp", "schema_name": "dbo", "table_name": "ORDER_ROWS", "index_name": name,
            "index_id": 3, "partition_number": partition, "index_type_desc": "NONCLUSTERED INDEX",
            "alloc_unit_type_desc": "IN_ROW_DATA", "avg_fragmentation_in_percent": percent,
            "fragment_count": pages // 4, "page_count": pages}


def _state(name: str, state: str = "ONLINE", secondary: int = 0, access: int = 1) -> dict:
    return {"name": name, "state_desc": state, "user_access_desc": "MULTI_USER", "is_in_standby": False,
            "updateability": "READ_WRITE", "has_access": access, "is_secondary": secondary}


STATES = [_state("erp"), _state("erp_1")]


def test_rebuild_reorganize_and_clean_twins():
    rows = [_index("IX_REBUILD", 47.5, 25000), _index("IX_REORGANIZE", 12.0, 4000),
            _index("IX_TIDY", 2.0, 90000), _index("IX_SMALL", 80.0, 300)]
    findings, db = run_mssql("perf.index_fragmentation",
                             {"catalog_state": STATES, ("candidates", "erp"): [{"object_id": 42, "used_pages": 120000}],
                              ("candidates", "erp_1"): [], ("fragmented", "erp"): rows},
                             databases=["erp", "erp_1"])
    assert db.calls == [("catalog_state", (), None), ("candidates", (200, 1000), "erp"),
                        ("fragmented", (42, 1000, 5.0), "erp"), ("candidates", (200, 1000), "erp_1")]
    found = {f.object: f for f in findings}
    assert set(found) == {"erp.dbo.ORDER_ROWS.IX_REBUILD", "erp.dbo.ORDER_ROWS.IX_REORGANIZE"}
    assert found["erp.dbo.ORDER_ROWS.IX_REBUILD"].severity == "warning"
    assert found["erp.dbo.ORDER_ROWS.IX_REBUILD"].recommendation.startswith(
        "ALTER INDEX [IX_REBUILD] ON [dbo].[ORDER_ROWS] REBUILD;")
    assert found["erp.dbo.ORDER_ROWS.IX_REORGANIZE"].severity == "info"
    assert found["erp.dbo.ORDER_ROWS.IX_REORGANIZE"].recommendation.startswith(
        "ALTER INDEX [IX_REORGANIZE] ON [dbo].[ORDER_ROWS] REORGANIZE;")


def _not_examined(ctx):
    return [(e.catalog, i["why"]) for e in ctx.coverage.entries() for i in e.not_examined]


def test_scan_goes_object_by_object_and_a_slow_object_costs_only_itself():
    """Issue 16 item 8. Before: one LIMITED scan over the whole catalog, which on a big server passed
    query_timeout and (item 5) lost every later catalog."""
    from l4agent.dbaccess.connection import DatabaseError
    from tests.diagnostics.checkrun import run_mssql_ctx

    def fragmented(params):
        if params[0] == 1:
            raise DatabaseError("database 'erp': query timed out after 30s", "timeout")
        return [_index(f"IX_{params[0]}", 50.0, 20000)]

    candidates = [{"object_id": 1, "used_pages": 900000}, {"object_id": 2, "used_pages": 50000}]
    findings, db, ctx = run_mssql_ctx("perf.index_fragmentation",
                                      {"catalog_state": STATES, "candidates": candidates, "fragmented": fragmented},
                                      databases=["erp", "erp_1"])
    assert [c[1][0] for c in db.calls if c[0] == "fragmented"] == [1, 2, 1, 2]  # largest first, per catalog
    assert {f.object for f in findings} == {"erp.dbo.ORDER_ROWS.IX_2"}
    assert {c for c, why in _not_examined(ctx) if "longer than object_timeout" in why} == {"erp", "erp_1"}
    assert "sys.dm_db_index_physical_stats(DB_ID(), ?, NULL, NULL, 'LIMITED')" in \
        by_id("perf.index_fragmentation").queries["mssql"]["fragmented"]


def test_budget_spent_says_how_many_tables_were_left():
    from tests.diagnostics.checkrun import run_mssql_ctx

    candidates = [{"object_id": n, "used_pages": 10000} for n in range(5)]
    findings, db, ctx = run_mssql_ctx("perf.index_fragmentation",
                                      {"catalog_state": STATES, "candidates": candidates, "fragmented": []},
                                      databases=["erp"], diagnostics={"perf.index_fragmentation": {"budget": "0s"}})
    assert [c for c in db.calls if c[0] == "fragmented"] == []
    assert any("5 of 5 large tables not scanned" in why for _, why in _not_examined(ctx))


def test_offline_catalog_and_secondary_are_skipped_and_the_next_catalog_is_read():
    """Issue 16 items 5 and 3: an OFFLINE catalog is named and skipped, an AG secondary is not scanned
    (IS locks can block redo), a catalog failing mid-read costs only itself."""
    from l4agent.dbaccess.connection import DatabaseError
    from tests.diagnostics.checkrun import run_mssql_ctx

    def broken(params):
        raise DatabaseError("database 'erp': The target database, 'erp_2', is participating in an availability "
                            "group and is currently not accessible for queries. (SQLSTATE 42000)", "query")

    states = [_state("erp_old", state="OFFLINE"), _state("erp_ro", secondary=1), _state("erp_2"), _state("erp")]
    findings, db, ctx = run_mssql_ctx(
        "perf.index_fragmentation",
        {"catalog_state": states, ("candidates", "erp_2"): broken,
         ("candidates", "erp"): [{"object_id": 7, "used_pages": 9000}], "fragmented": [_index("IX_X", 40.0, 9000)]},
        databases=["erp_old", "erp_ro", "missing_db", "erp_2", "erp"])
    assert [f.object for f in findings] == ["erp.dbo.ORDER_ROWS.IX_X"]
    reasons = dict(_not_examined(ctx))
    assert "OFFLINE" in reasons["erp_old"] and "secondary" in reasons["erp_ro"]
    assert "no such database" in reasons["missing_db"] and "not accessible for queries" in reasons["erp_2"]
    assert {c[2] for c in db.calls if c[0] == "candidates"} == {"erp_2", "erp"}


def test_statement_uses_limited_mode_and_runs_on_sql_server_only():
    check = by_id("perf.index_fragmentation")
    assert check.engines == {"mssql"}
    assert "'LIMITED'" in check.queries["mssql"]["fragmented"]
