"""Issue 15, 2: with performance_schema OFF (MariaDB's default) the statement and table-I/O
statistics are empty tables; perf.missing_index and perf.top_query used to say "nothing to
report". Now each is an error entry and a ``not_examined`` item whose ``why`` is
"performance_schema is OFF ..." (exit 3). Clean twin: the shared server, performance_schema ON."""

from __future__ import annotations

from l4agent.diagnostics.runner import run_diagnostics
from tests.diagnostics.checkrun import db_config
from tests.support.dbservers import MariaDbServer

CHECKS = ["perf.missing_index", "perf.top_query"]


def test_performance_schema_off_is_not_examined_with_the_reason():
    with MariaDbServer(extra_options=["--performance-schema=OFF"]) as server:
        database = server.create_database("l4t_ps_off")
        server.execute_admin(["CREATE TABLE t (id int PRIMARY KEY, v int)",
                              "INSERT INTO t SELECT seq, seq FROM seq_1_to_1000",
                              *["SELECT SUM(v) FROM t WHERE v > 10"] * 5], database)
        result = run_diagnostics(db_config(server, None, databases=[database]), CHECKS)
    assert result.findings == []
    assert sorted(e["check"] for e in result.errors) == CHECKS
    assert all(e["error"].startswith("performance_schema is OFF") for e in result.errors)
    assert result.incomplete
    [target] = [c for c in result.coverage if c.catalog is None]
    assert {item["what"] for item in target.not_examined} == set(CHECKS)
    assert all(item["why"].startswith("performance_schema is OFF") for item in target.not_examined)


def test_performance_schema_on_is_examined(mariadb_server, mariadb_db):
    result = run_diagnostics(db_config(mariadb_server, None, databases=[mariadb_db]), CHECKS)
    assert result.errors == []
    assert not result.incomplete
    [target] = [c for c in result.coverage if c.catalog is None]
    assert target.examined["checks"] == 2 and "statements" in target.examined
