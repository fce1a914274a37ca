"""Every T-SQL statement of the perf.* and backup.* checks parses with sqlglot's tsql dialect
(SQL Server cannot run here), and every check carries statements for each engine it claims."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from l4agent.diagnostics.registry import all_checks

FAMILIES = ("perf.", "backup.")
CHECKS = [c for c in all_checks() if c.id.startswith(FAMILIES)]
TSQL = [(c.id, name, sql) for c in CHECKS for name, sql in c.queries.get("mssql", {}).items()]


def test_all_perf_and_backup_checks_are_registered():
    assert {c.id for c in CHECKS} == {
        "perf.top_query", "perf.missing_index", "perf.index_fragmentation", "perf.table_bloat", "perf.blocking",
        "perf.long_running", "perf.cache_hit_ratio", "perf.stale_statistics", "perf.unused_index", "perf.wait_stats",
        "backup.never", "backup.stale", "backup.no_log_backup", "backup.archive_failing", "backup.no_checksum",
        "backup.dir_stale", "backup.same_volume",
        "backup.no_point_in_time"}


@pytest.mark.parametrize(("check_id", "name", "sql"), TSQL, ids=[f"{c}:{n}" for c, n, _ in TSQL])
def test_tsql_statement_parses(check_id, name, sql):
    statements = sqlglot.parse(sql, read="tsql", error_level=ErrorLevel.RAISE)
    assert len(statements) == 1
    assert not isinstance(statements[0], exp.Command), f"{check_id}:{name} fell back to an unparsed command"
    assert isinstance(statements[0], exp.Select | exp.Union)


@pytest.mark.parametrize("check", CHECKS, ids=[c.id for c in CHECKS])
def test_statements_for_every_engine_it_claims(check):
    if check.queries:  # backup.dir_stale reads folders only
        assert check.engines <= set(check.queries), check.id
    assert check.title and check.id.count(".") == 1
