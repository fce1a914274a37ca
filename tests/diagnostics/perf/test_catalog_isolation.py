"""Issue 15, 3, for the per-catalog perf checks on real PostgreSQL: a catalog that cannot be
read beside a readable one is one error naming it and a ``not_examined`` item for it; the
readable catalog is still examined (and its findings still come out)."""

from __future__ import annotations

import pytest

from l4agent.diagnostics.runner import run_diagnostics
from tests.diagnostics.checkrun import db_config

PER_CATALOG = ["perf.index_fragmentation", "perf.stale_statistics", "perf.unused_index", "perf.table_bloat",
               "perf.missing_index"]


@pytest.mark.parametrize("check", [c for c in PER_CATALOG if c != "perf.index_fragmentation"])  # mssql only
def test_a_missing_catalog_beside_a_readable_one(pg_server, pg_db, check):
    config = db_config(pg_server, pg_db, databases=[pg_db, "l4t_doesnotexist"])
    result = run_diagnostics(config, [check])
    [error] = result.errors
    assert (error["check"], error["catalog"]) == (check, "l4t_doesnotexist")
    assert "l4t_doesnotexist" in error["error"] and "does not exist" in error["error"]
    entries = {c.catalog: c for c in result.coverage}
    assert entries[pg_db].examined["catalogs"] == 1
    # a fresh catalog's usage statistics are too young for perf.unused_index: said, not an error
    assert [i for i in entries[pg_db].not_examined if "too young" not in i["why"]] == []
    assert entries["l4t_doesnotexist"].not_examined == [{"what": check, "why": error["error"]}]
    assert result.incomplete


def test_table_bloat_findings_of_the_readable_catalog_still_come_out(pg_server, pg_db):
    pg_server.execute_admin(["CREATE TABLE churn (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = off)",
                             "INSERT INTO churn SELECT g, g FROM generate_series(1, 20000) AS g",
                             "DELETE FROM churn WHERE id % 2 = 0"], pg_db)
    pg_server.execute_admin("ANALYZE churn", pg_db)
    options = {"perf.table_bloat": {"min_dead_rows": 1000}}
    alone = run_diagnostics(db_config(pg_server, pg_db, databases=[pg_db], diagnostics=options), ["perf.table_bloat"])
    beside = run_diagnostics(db_config(pg_server, pg_db, databases=[pg_db, "l4t_doesnotexist"], diagnostics=options),
                             ["perf.table_bloat"])
    assert alone.errors == [] and alone.findings
    assert [f.object for f in beside.findings] == [f.object for f in alone.findings]
    assert len(beside.errors) == 1
