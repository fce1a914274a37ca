"""The coverage log and its one line per target for people."""

from __future__ import annotations

from l4agent.agent.remote.fleet import OK, HostResult
from l4agent.agent.remote.output import target_unreachable
from l4agent.diagnostics.coverage import CoverageLog, summary_lines


def test_one_line_per_target_sums_catalogs_and_groups_reasons():
    log = CoverageLog()
    log.examined("erp", "tables", 30, "a")
    log.examined("erp", "tables", 7, "b")
    log.examined("erp", "tables", 5, "b")  # several checks read the same tables: counted once
    log.count("erp", "checks", 2)
    log.not_examined("erp", "schema.no_primary_key", "catalog 'c' does not exist", "c")
    log.not_examined("erp", "schema.wide_table", "catalog 'c' does not exist", "c")
    log.not_examined("erp", "perf.top_query", "performance_schema is OFF")
    log.entry("db1")
    for check in ("perf.a", "perf.b", "perf.c"):
        log.not_examined("erp", check, "no grant", "d")
    assert dict(summary_lines(log.entries())) == {
        "db1": "nothing examined",
        "erp": "examined 2 catalogs, 37 tables, 2 checks; not examined: (perf.top_query): performance_schema is OFF; "
               "c (schema.no_primary_key, schema.wide_table): catalog 'c' does not exist; d (perf.* (3 checks)): no grant",
    }
    assert log.incomplete()


def test_errors_shared_by_checks_are_kept_once():
    log = CoverageLog()
    for _ in range(8):
        log.error("erp", "schema.*", "catalog 'c' does not exist", "c")
    assert log.errors() == [{"check": "schema.*", "target": "erp", "catalog": "c", "error": "catalog 'c' does not exist"}]
    assert not log.incomplete()  # an error alone is not coverage: the checks add their not_examined


def test_remote_diagnose_with_anything_not_examined_is_exit_3():
    clean = {"findings": [], "errors": [], "coverage": [{"target": "erp", "catalog": None, "examined": {"checks": 1},
                                                         "not_examined": []}]}
    partial = {"findings": [], "errors": [], "coverage": [{"target": "erp", "catalog": "c", "examined": {},
                                                           "not_examined": [{"what": "x", "why": "y"}]}]}
    assert not target_unreachable(HostResult("h", "agent", OK, clean), "diagnose")
    assert target_unreachable(HostResult("h", "agent", OK, partial), "diagnose")
