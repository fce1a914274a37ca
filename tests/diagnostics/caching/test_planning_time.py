"""caching.planning_time: a flood of literal statements beside its parameterized twin (real
PostgreSQL 15 with pg_stat_statements.track_planning on); tracking off is coverage, not silence."""

from __future__ import annotations

import pytest

from tests.diagnostics.checkrun import db_config, findings_of, run_check
from tests.support.dbservers import PostgresServer

JOIN = ("FROM t1 JOIN t2 ON t2.id = t1.ref JOIN t3 ON t3.id = t2.ref JOIN t4 ON t4.id = t3.ref "
        "JOIN t5 ON t5.id = t4.ref JOIN t6 ON t6.id = t5.ref")
OPTIONS = {"caching.planning_time": {"min_plans": 200, "min_plan_ms": 20.0, "min_share": 0.3}}


@pytest.fixture(scope="module")
def planning_pg():
    """A server of its own: the test resets pg_stat_statements (the test servers track planning)."""
    with PostgresServer() as server:
        yield server


def test_literal_flood_is_reported_and_its_prepared_twin_is_not(planning_pg):
    db = planning_pg.create_database("erp")
    planning_pg.execute_admin([
        *[f"CREATE TABLE t{i} (id int PRIMARY KEY, ref int, v text)" for i in range(1, 7)],
        *[f"INSERT INTO t{i} SELECT g, g, 'x' || g FROM generate_series(1, 1000) g" for i in range(1, 7)],
        "ANALYZE", "SELECT pg_stat_statements_reset()",
        # planted: a CFML page with #url.id#: one statement text per value
        *[f"SELECT t1.v AS planted, t6.v {JOIN} WHERE t1.id = {i}" for i in range(1, 1001)],
        # twin: <cfqueryparam> through JDBC is a named server-side statement (generic plan after five runs)
        f"PREPARE twin(int) AS SELECT t1.id AS twin, t6.v {JOIN} WHERE t1.id = $1",
        *[f"EXECUTE twin({i})" for i in range(1, 1001)],
    ], db)
    result = run_check("caching.planning_time", db_config(planning_pg, db, diagnostics=OPTIONS))
    findings = findings_of(result)
    assert [f.evidence["sample"].split(" AS ")[1].split(",")[0] for f in findings] == ["planted"]
    [finding] = findings
    assert finding.severity == "warning" and finding.evidence["plans"] == finding.evidence["calls"] == 1000
    assert finding.evidence["plan_share"] > 0.5 and "<cfqueryparam>" in finding.recommendation
    assert finding.object.startswith("erp:queryid ")
    [coverage] = [c for c in result.coverage if c.target == "db"]
    assert coverage.examined["statements"] > 2 and not result.incomplete


def test_tracking_off_is_not_examined_with_the_statement_to_turn_it_on():
    with PostgresServer(extra_settings={"pg_stat_statements.track_planning": "off"}) as server:  # PostgreSQL's default
        result = run_check("caching.planning_time", db_config(server, None, diagnostics=OPTIONS))
    assert result.findings == [] and result.incomplete
    [error] = result.errors
    assert error["check"] == "caching.planning_time" and "track_planning is off" in error["error"]
    assert "ALTER SYSTEM SET pg_stat_statements.track_planning = on" in error["error"]
    [entry] = [c for c in result.coverage if c.not_examined]
    assert entry.not_examined[0]["what"] == "caching.planning_time"


def test_without_the_extension_in_the_dsn_database_it_says_so(planning_pg):
    db = planning_pg.create_database("bare")
    planning_pg.execute_admin("DROP EXTENSION pg_stat_statements", db)
    result = run_check("caching.planning_time", db_config(planning_pg, db, diagnostics=OPTIONS))
    assert result.findings == [] and "CREATE EXTENSION pg_stat_statements" in result.errors[0]["error"]
