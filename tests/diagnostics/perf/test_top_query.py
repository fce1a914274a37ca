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


# -- plans explain the top statements; scope by the catalogs a statement names (issue 18, 15) --

ADVISOR_OPTIONS = {"perf.top_query": {"min_total_seconds": 0.0, "top_n": 10}}


def test_postgresql_top_statement_shows_its_seq_scan_and_the_index_that_fixes_it(advisor_pg):
    from tests.diagnostics.perf.conftest import PG_CATALOG

    advisor_pg.execute_admin(f"GRANT pg_read_all_data TO {advisor_pg.monitor_user}", "postgres")
    findings = findings_of(run_check("perf.top_query", db_config(advisor_pg, PG_CATALOG, diagnostics=ADVISOR_OPTIONS)))
    by_text = {f.evidence["query"]: f for f in findings}
    finding = by_text["SELECT id, order_no, total FROM orders WHERE customer_id = $1"]
    (node, *_) = finding.evidence["costly_nodes"]
    assert node["node"] == "Seq Scan" and node["relation"] == "orders" and node["table_rows"] >= 200_000
    assert node["filter"] == "(customer_id = $1)"
    fix = "CREATE INDEX CONCURRENTLY ix_orders_customer_id ON public.orders (customer_id);"
    assert finding.evidence["fixed_by"] == [fix]
    assert finding.recommendation.endswith(fix)
    # a primary-key lookup has no costly node and needs no index
    lookup = by_text.get("SELECT id, order_no, total FROM orders WHERE id = $1")
    if lookup is not None:
        assert lookup.evidence["costly_nodes"] == [] and lookup.evidence["fixed_by"] == []


def test_mariadb_schemaless_and_cross_catalog_statements_count_for_each_catalog(advisor_mariadb):
    from tests.diagnostics.perf.conftest import MY_SCHEMALESS_JOIN

    for catalog in ("cat_a", "cat_b"):
        for host in ("127.0.0.1", "localhost"):
            advisor_mariadb.execute_admin(f"GRANT SELECT ON {catalog}.* TO '{advisor_mariadb.monitor_user}'@'{host}'")
    result = run_check("perf.top_query", db_config(advisor_mariadb, None, databases=["cat_b"],
                                                   diagnostics=ADVISOR_OPTIONS))
    findings = findings_of(result)
    join_head = MY_SCHEMALESS_JOIN.split(" WHERE")[0].split()[0]
    joins = [f for f in findings if "JOIN" in f.evidence["query"] and f.evidence["default_catalog"] is None]
    assert len(joins) == 1, [f.evidence["query"] for f in findings]
    join = joins[0]
    assert join.evidence["query"].startswith(join_head)
    # run with no default schema, it names cat_a and cat_b: it counts for cat_b, the one configured
    assert join.evidence["catalogs"] == ["cat_a", "cat_b"] and join.evidence["catalog"] == "cat_b"
    assert join.object.startswith("cat_b.query:")
    assert any(node.get("access_type") == "ALL" for node in join.evidence["costly_nodes"]), join.evidence
    # a statement naming no catalog at all is reported under the target
    bench = [f for f in findings if f.evidence["query"].startswith("SELECT `BENCHMARK` (")]
    assert len(bench) == 1 and bench[0].object.startswith("query:") and bench[0].evidence["catalogs"] == []
    # statements of cat_a alone are out of scope; the advisor's fix is named for the catalog's statement
    assert not [f for f in findings if f.evidence["catalogs"] == ["cat_a"]]
    email = [f for f in findings if "`email` = ?" in f.evidence["query"] and "JOIN" not in f.evidence["query"]]
    assert email and email[0].evidence["fixed_by"] == ["ALTER TABLE cat_b.customer ADD INDEX ix_customer_email (email);"]
    covered = {c.catalog: c.examined.get("statements", 0) for c in result.coverage}
    assert covered.get("cat_b", 0) >= 2 and covered.get(None, 0) >= 1, covered


# A cached plan as sys.dm_exec_query_plan returns it (showplan XML, trimmed to the elements read).
SHOWPLAN = """<ShowPlanXML xmlns="http://schemas.microsoft.com/sqlserver/2004/07/showplan" Version="1.564">
<BatchSequence><Batch><Statements><StmtSimple StatementText="SELECT ...">
<QueryPlan>
 <MissingIndexes><MissingIndexGroup Impact="91.2"><MissingIndex Database="[erp]" Schema="[dbo]" Table="[ORDER_ROWS]">
  <ColumnGroup Usage="EQUALITY"><Column Name="[NOTE]" ColumnId="4"/></ColumnGroup></MissingIndex></MissingIndexGroup>
 </MissingIndexes>
 <Warnings>
  <PlanAffectingConvert ConvertIssue="Seek Plan" Expression="CONVERT_IMPLICIT(nvarchar(40),[erp].[dbo].[ORDER_ROWS].[CODE],0)=[@p1]"/>
  <SpillToTempDb SpillLevel="1" SpilledThreadCount="1"/>
 </Warnings>
 <RelOp NodeId="3" PhysicalOp="Clustered Index Seek" LogicalOp="Clustered Index Seek">
  <IndexScan Lookup="1" Ordered="1" ScanDirection="FORWARD"><DefinedValues/></IndexScan>
 </RelOp>
 <RelOp NodeId="5" PhysicalOp="Sort" LogicalOp="Sort"><SortSpillDetails GrantedMemoryKb="1024"/></RelOp>
</QueryPlan></StmtSimple></Statements></Batch></BatchSequence></ShowPlanXML>"""


def test_mssql_top_statement_carries_its_plan_cache_warnings():
    rows = [_mssql_row(b"\x01\x02\x03\x04\x05\x06\x07\x08", 1200, 5_000_000_000, 4_000_000_000, 90_000_000,
                       (1, 1, 1), "SELECT * FROM ORDER_ROWS WHERE CODE = @p1")]
    findings, db = run_mssql("perf.top_query", {"ranked": rows, "plan": [{"query_plan": SHOWPLAN}]},
                             databases=["erp"])
    assert ("plan", ("0x0102030405060708",), None) in db.calls
    warnings = findings[0].evidence["plan_warnings"]
    assert warnings == [
        "implicit conversion (Seek Plan: CONVERT_IMPLICIT(nvarchar(40),[erp].[dbo].[ORDER_ROWS].[CODE],0)=[@p1])",
        "key lookup (1 in the plan)",
        "missing index in plan on [erp].[dbo].[ORDER_ROWS] (impact 91%)",
        "spill to tempdb (SortSpillDetails, SpillToTempDb)",
    ]


def test_mssql_plan_without_warnings_and_no_cached_plan():
    rows = [_mssql_row(b"\x01" * 8, 1200, 5_000_000_000, 4_000_000_000, 90_000_000, (1, 1, 1), "SELECT 1 FROM T")]
    clean = SHOWPLAN.split("<QueryPlan>")[0] + "<QueryPlan/></StmtSimple></Statements></Batch></BatchSequence></ShowPlanXML>"
    findings, _ = run_mssql("perf.top_query", {"ranked": rows, "plan": [{"query_plan": clean}]}, databases=["erp"])
    assert findings[0].evidence["plan_warnings"] == []
    findings, _ = run_mssql("perf.top_query", {"ranked": rows}, databases=["erp"])
    assert findings[0].evidence["plan"] == "no cached plan"


def test_mssql_statement_run_from_another_database_counts_for_the_catalog_it_names():
    rows = [
        # run from master (the application's connection default), naming erp.dbo.ORDERS: counts for erp
        _mssql_row(b"\x0c" * 8, 1200, 5_000_000_000, 4_000_000_000, 90_000_000, (1, 1, 1),
                   "(@P1 int)SELECT TOTAL FROM erp.dbo.ORDERS WHERE CUSTOMER_ID = @P1", database="master"),
        # master alone: out of scope
        _mssql_row(b"\x0d" * 8, 1200, 4_000_000_000, 4_000_000_000, 90_000_000, (2, 2, 2),
                   "SELECT name FROM sys.databases", database="master"),
    ]
    findings, _ = run_mssql("perf.top_query", {"ranked": rows}, databases=["erp"])
    assert [f.object for f in findings] == ["erp.query:0x0C0C0C0C0C0C0C0C"]
    assert findings[0].evidence["catalogs"] == ["erp"] and findings[0].evidence["default_catalog"] == "master"
