"""A PostgreSQL catalog of 20,000 generated tables: all eight schema checks finish (the bound
is generous on purpose; ``bench/schema_scale.py`` measures) and see every table."""

from __future__ import annotations

import math
import time

import pytest

from l4agent.diagnostics.runner import run_diagnostics
from tests.diagnostics.schema_support import generate_tables_sql, planted

TABLES = 20_000


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_twenty_thousand_tables(pg_server, tmp_path):
    with planted(pg_server, [generate_tables_sql(TABLES)], tmp_path) as erp:
        started = time.monotonic()
        result = run_diagnostics(erp.config, ["schema"])
        elapsed = time.monotonic() - started
        assert result.errors == []
        by_check: dict[str, int] = {}
        for finding in result.findings:
            by_check[finding.check] = by_check.get(finding.check, 0) + 1
        # 1 table in 20 has a primary key (and companies has one); one finding for all the rest
        assert by_check["schema.no_primary_key"] == 1
        grouped = {f.check: f for f in result.findings if f.object == erp.database}
        assert grouped["schema.no_primary_key"].evidence["count"] == TABLES - TABLES // 20
        # families of 120 monthly tables, the last one shorter
        assert by_check["schema.period_table_sprawl"] == math.ceil(TABLES / 120)
        assert by_check["schema.unindexed_foreign_key"] == 1
        assert grouped["schema.unindexed_foreign_key"].evidence["count"] == TABLES // 20
        assert elapsed < 120, f"schema checks on {TABLES} tables took {elapsed:.1f}s"
