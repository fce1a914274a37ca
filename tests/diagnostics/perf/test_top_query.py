"""perf.top_query: a heavy statement is reported with its calls and mean time; a cheap one is not."""

from __future__ import annotations

import contextlib

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.checkrun import db_config, findings_of, run_check, run_mssql
from tests.diagnostics.checkrun import objects as objects_of

OPTIONS = {"perf.top_query": {"min_total_seconds": 0.02, "top_n": 3}}
HEAVY = "SELECT count(*) FROM orders WHERE note LIKE '%abc%'"
CHEAP = "SELECT 42 AS answer"


def test_postgresql_heavy_statement_is_top_cheap_one_is_not(pg_server, pg_db):
    pg_server.execute_admin(["CREATE TABLE orders (id int PRIMARY KEY, note text)",
                             "INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 60000) g"], pg_db)
    pg_server.execute_admin("SELECT pg_stat_statements_reset()")
    with contextlib.closing(pg_server.admin_connect(pg_db)) as conn:
        cursor = conn.cursor()
        for _ in range(12):
            cursor.execute(HEAVY).fetchall()
            cursor.execute(CHEAP).fetchall()
    cheap_calls = pg_server.execute_admin("SELECT calls FROM pg_stat_statements WHERE query = 'SELECT $1 AS answer'")
    assert [tuple(r) for r in cheap_calls] == [(12,)]  # the twin is there to be judged
    findings = findings_of(run_check("perf.top_query", db_config(pg_server, pg_db, databases=[pg_db], diagnostics=OPTIONS)))

    heavy = [f for f in findings if "like" in f.evidence["query"].lower()]
    assert len(heavy) == 1, [f.summary for f in findings]
    finding = heavy[0]
    assert finding.object == f"{pg_db}.query:{finding.evidence['query_id']}"
    assert finding.evidence["calls"] == 12
    assert finding.evidence["total_ms"] >= 20 and finding.evidence["mean_ms"] > 0
    assert finding.evidence["rank_by_time"] == 1
    assert "EXPLAIN" in finding.recommendation
    assert not [f for f in findings if "answer" in f.evidence["query"].lower()]


def test_postgresql_statements_of_other_databases_are_out_of_scope(pg_server, pg_db):
    other = pg_server.create_database(pg_db + "_other")
    try:
        pg_server.execute_admin(["CREATE TABLE orders (id int PRIMARY KEY, note text)",
                                 "INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 60000) g"], other)
        pg_server.execute_admin("SELECT pg_stat_statements_reset()")
        for _ in range(12):
            pg_server.execute_admin(HEAVY, other)
        result = run_check("perf.top_query", db_config(pg_server, pg_db, databases=[pg_db], diagnostics=OPTIONS))
        assert not [f for f in findings_of(result) if "like" in f.evidence["query"].lower()]
    finally:
        pg_server.drop_database(other)


def test_mariadb_heavy_statement_is_top_cheap_one_is_not(mariadb_server, mariadb_db):
    mariadb_server.execute_admin(["CREATE TABLE orders (id int PRIMARY KEY, note varchar(64))",
                                  "INSERT INTO orders SELECT seq, md5(seq) FROM seq_1_to_60000"], mariadb_db)
    mariadb_server.execute_admin("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest")
    # The text protocol (mariadb client) is what records digests; ODBC prepares statements.
    mariadb_server.execute_text(f"{HEAVY};\n{CHEAP};\n" * 12, mariadb_db)
    cheap_calls = mariadb_server.execute_admin(
        "SELECT COUNT_STAR FROM performance_schema.events_statements_summary_by_digest "
        "WHERE SCHEMA_NAME = ? AND DIGEST_TEXT LIKE '%answer%'", params=[mariadb_db])
    assert [tuple(r) for r in cheap_calls] == [(12,)]  # the twin is there to be judged
    config = db_config(mariadb_server, None, databases=[mariadb_db], diagnostics=OPTIONS)
    findings = findings_of(run_check("perf.top_query", config))

    heavy = [f for f in findings if "like" in f.evidence["query"].lower()]
    assert len(heavy) == 1, [f.summary for f in findings]
    assert heavy[0].evidence["calls"] == 12
    assert heavy[0].object == f"{mariadb_db}.query:{heavy[0].evidence['query_id']}"
    assert heavy[0].evidence["reads_unit"] == "rows examined" and heavy[0].evidence["reads"] >= 12 * 60000
    assert not [f for f in findings if "42" in f.evidence["query"] or "answer" in f.evidence["query"].lower()]


def test_a_failing_check_is_an_error_entry_and_the_others_still_report(pg_server, tmp_path):
    """A database without pg_stat_statements: perf.top_query fails alone; backup.dir_stale reports."""
    name = "l4t_no_statements"
    pg_server.execute_admin([f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name} TEMPLATE template0",
                             f"GRANT CONNECT ON DATABASE {name} TO {pg_server.monitor_user}"])
    try:
        empty = tmp_path / "backups"
        empty.mkdir()
        from l4agent.diagnostics.runner import run_diagnostics

        config = db_config(pg_server, name, backup_dirs=[str(empty)])
        result = run_diagnostics(config, ["perf.top_query", "backup.dir_stale"])
        assert [e["check"] for e in result.errors] == ["perf.top_query"]
        assert "CREATE EXTENSION pg_stat_statements" in result.errors[0]["error"]
        assert objects_of(result.findings) == {str(empty)}
        assert result.unreachable == []
    finally:
        pg_server.drop_database(name)


# -- SQL Server: rows shaped like the statement over sys.dm_exec_query_stats -------------------

def _mssql_row(query_hash: bytes, calls: int, elapsed_us: int, cpu_us: int, reads: int, ranks: tuple, text: str,
               database: str = "erp", total_us: int = 10_000_000_000) -> dict:
    return {"query_hash": query_hash, "execution_count": calls, "total_elapsed_time": elapsed_us,
            "total_worker_time": cpu_us, "total_logical_reads": reads, "total_physical_reads": reads // 10,
            "creation_time": "2026-11-01 08:00:00", "last_execution_time": "2026-11-22 06:59:00",
            "time_rank": ranks[0], "cpu_rank": ranks[1], "reads_rank": ranks[2], "all_elapsed_time": total_us,
            "database_name": database, "statement_text": text}


def test_mssql_heavy_statement_is_reported_cheap_and_foreign_ones_are_not():
    rows = [
        _mssql_row(b"\x01\x02\x03\x04\x05\x06\x07\x08", 1200, 5_000_000_000, 4_000_000_000, 90_000_000, (1, 1, 1),
                   "SELECT * FROM ORDER_ROWS WHERE NOTE LIKE @p1"),
        _mssql_row(b"\x0a" * 8, 50_000, 1_000_000, 900_000, 50_000, (3, 3, 3), "SELECT 1"),
        _mssql_row(b"\x0b" * 8, 10, 4_000_000_000, 1_000_000, 10, (2, 2, 4), "EXEC other_app", database="otherdb"),
    ]
    findings, db = run_mssql("perf.top_query", {"ranked": rows}, databases=["erp"])
    assert db.calls[0][1] == (30, 30, 30)  # top_n 10, three candidates per slot, per ranking
    assert [f.object for f in findings] == ["erp.query:0x0102030405060708"]
    finding = findings[0]
    assert finding.severity == "warning"  # half of all statement time
    assert finding.evidence["calls"] == 1200
    assert finding.evidence["total_ms"] == 5_000_000.0  # microseconds -> ms
    assert finding.evidence["cpu_ms"] == 4_000_000.0 and finding.evidence["rank_by_cpu"] == 1
    assert round(finding.evidence["mean_ms"], 1) == round(5_000_000 / 1200, 1)
    assert finding.evidence["share_of_total_time"] == 0.5


def test_check_declares_every_engine():
    assert by_id("perf.top_query").engines == {"mssql", "postgresql", "mysql"}


def test_mssql_query_stats_is_read_once_and_text_applied_per_result_row():
    """Issue 16 item 8. Before: a correlated OUTER APPLY re-read sys.dm_exec_query_stats (with
    dm_exec_sql_text and dm_exec_plan_attributes) for every ranked candidate."""
    import sqlglot
    from sqlglot import exp

    from l4agent.diagnostics.perf.top_query import MSSQL_RANKED

    tree = sqlglot.parse_one(MSSQL_RANKED, read="tsql")
    reads = [t for t in tree.find_all(exp.Table) if t.name.lower() == "dm_exec_query_stats"]
    assert len(reads) == 1
    outer = tree.find(exp.Select)
    assert all(not lateral.find(exp.Table, bfs=False) or lateral.find(exp.Table).name.lower() != "dm_exec_query_stats"
               for lateral in outer.find_all(exp.Lateral))
