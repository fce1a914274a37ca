"""caching.plan_cache (SQL Server, on rows shaped like the DMVs): a cache flooded with single-use ad
hoc plans and a statement shape with many plans, beside a healthy cache; the T-SQL parses."""

from __future__ import annotations

import sqlglot

from l4agent.diagnostics.caching.plan_cache import PlanCache
from tests.diagnostics.checkrun import run_mssql

GIB = 1024 ** 3


def rows(single_use: int, total: int, ad_hoc: int, families: list[dict]) -> dict:
    return {
        "summary": [{"total_bytes": total, "total_plans": 40_000, "single_use_bytes": single_use,
                     "single_use_plans": 31_000}],
        "optimize_for_ad_hoc": [{"value_in_use": ad_hoc}],
        "families": families,
    }


FAMILY = {"query_hash": "0x9A3F00C1D2E3F405", "plan_count": 4_800, "executions": 4_800, "cache_bytes": 390_000_000,
          "catalog_name": "workcube_cf_1", "sample_text": "SELECT * FROM ORDERS WHERE ORDER_ID = 1042"}


def test_flooded_cache_and_literal_family_are_reported_with_their_statements():
    findings, db = run_mssql("caching.plan_cache", rows(int(0.62 * GIB), GIB, 0, [FAMILY]))
    assert [f.object for f in findings] == ["plan cache", "query_hash 0x9A3F00C1D2E3F405"]
    cache, family = findings
    assert cache.evidence["single_use_ratio"] == 0.62 and cache.evidence["optimize_for_ad_hoc_workloads"] is False
    assert "EXEC sp_configure 'optimize for ad hoc workloads', 1; RECONFIGURE;" in cache.recommendation
    assert family.evidence["plan_count"] == 4_800 and "<cfqueryparam>" in family.recommendation
    assert "ALTER DATABASE [workcube_cf_1] SET PARAMETERIZATION FORCED;" in family.recommendation
    assert [c[1] for c in db.calls if c[0] == "families"] == [(50,)]


def test_healthy_cache_gives_no_finding():
    findings, _ = run_mssql("caching.plan_cache", rows(int(0.05 * GIB), GIB, 1, []))
    assert findings == []


def test_a_small_cache_is_not_judged_and_ad_hoc_on_drops_the_stopgap():
    findings, _ = run_mssql("caching.plan_cache", rows(60 * 2**20, 100 * 2**20, 0, []))
    assert findings == []  # 60 % single-use, but a 100 MiB cache is below min_cache_bytes
    findings, _ = run_mssql("caching.plan_cache", rows(int(0.5 * GIB), GIB, 1, []))
    assert "sp_configure" not in findings[0].recommendation


def test_every_statement_parses_as_tsql():
    for name, sql in PlanCache.queries["mssql"].items():
        assert sqlglot.parse_one(sql, read="tsql") is not None, name
