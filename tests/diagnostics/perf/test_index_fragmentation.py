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


def test_rebuild_reorganize_and_clean_twins():
    rows = [_index("IX_REBUILD", 47.5, 25000), _index("IX_REORGANIZE", 12.0, 4000),
            _index("IX_TIDY", 2.0, 90000), _index("IX_SMALL", 80.0, 300)]
    findings, db = run_mssql("perf.index_fragmentation", {("fragmented", "erp"): rows, ("fragmented", "erp_1"): []},
                             databases=["erp", "erp_1"])
    assert db.calls == [("fragmented", (1000, 5.0), "erp"), ("fragmented", (1000, 5.0), "erp_1")]
    found = {f.object: f for f in findings}
    assert set(found) == {"erp.dbo.ORDER_ROWS.IX_REBUILD", "erp.dbo.ORDER_ROWS.IX_REORGANIZE"}
    assert found["erp.dbo.ORDER_ROWS.IX_REBUILD"].severity == "warning"
    assert found["erp.dbo.ORDER_ROWS.IX_REBUILD"].recommendation.startswith(
        "ALTER INDEX [IX_REBUILD] ON [dbo].[ORDER_ROWS] REBUILD;")
    assert found["erp.dbo.ORDER_ROWS.IX_REORGANIZE"].severity == "info"
    assert found["erp.dbo.ORDER_ROWS.IX_REORGANIZE"].recommendation.startswith(
        "ALTER INDEX [IX_REORGANIZE] ON [dbo].[ORDER_ROWS] REORGANIZE;")


def test_statement_uses_limited_mode_and_runs_on_sql_server_only():
    check = by_id("perf.index_fragmentation")
    assert check.engines == {"mssql"}
    assert "'LIMITED'" in check.queries["mssql"]["fragmented"]
