"""perf.missing_index: a large table read by full scans is reported; its index-served twin and a
small scanned table are not. SQL Server: the missing-index DMVs become CREATE INDEX statements."""

from __future__ import annotations

import contextlib

import sqlglot

from tests.diagnostics.checkrun import db_config, findings_of, objects, one, run_check, run_mssql


def test_postgresql_scan_heavy_large_table_beside_index_served_one(pg_server, pg_db):
    pg_server.execute_admin([
        "CREATE TABLE customer_visits (id int PRIMARY KEY, code text, note text)",
        "INSERT INTO customer_visits SELECT g, 'c' || g, md5(g::text) FROM generate_series(1, 30000) g",
        "CREATE TABLE customer_orders (id int PRIMARY KEY, code text, note text)",
        "INSERT INTO customer_orders SELECT g, 'c' || g, md5(g::text) FROM generate_series(1, 30000) g",
        "CREATE INDEX customer_orders_code ON customer_orders (code)",
        "CREATE TABLE currencies (id int PRIMARY KEY, code text)",
        "INSERT INTO currencies SELECT g, 'c' || g FROM generate_series(1, 500) g",
        "ANALYZE",
    ], pg_db)
    with contextlib.closing(pg_server.admin_connect(pg_db)) as conn:
        cursor = conn.cursor()
        for i in range(60):
            cursor.execute("SELECT * FROM customer_visits WHERE code = ?", f"c{i}").fetchall()
            cursor.execute("SELECT * FROM customer_orders WHERE code = ?", f"c{i}").fetchall()
            cursor.execute("SELECT * FROM currencies WHERE code = ?", f"c{i}").fetchall()
    findings = findings_of(run_check("perf.missing_index", db_config(pg_server, pg_db)))

    assert objects(findings) == {f"{pg_db}.public.customer_visits"}
    finding = findings[0]
    assert finding.evidence["seq_scan"] >= 60 and finding.evidence["n_live_tup"] >= 30000
    assert 'CREATE INDEX CONCURRENTLY ON "public"."customer_visits"' in finding.recommendation
    assert any("customer_visits WHERE code" in s for s in finding.evidence["statements"])


def test_mariadb_full_scanned_table_beside_index_served_one(mariadb_server, mariadb_db):
    mariadb_server.execute_admin([
        "CREATE TABLE customer_visits (id int PRIMARY KEY, code varchar(20), note varchar(40))",
        "INSERT INTO customer_visits SELECT seq, CONCAT('c', seq), md5(seq) FROM seq_1_to_20000",
        "CREATE TABLE customer_orders (id int PRIMARY KEY, code varchar(20), note varchar(40), KEY orders_code (code))",
        "INSERT INTO customer_orders SELECT seq, CONCAT('c', seq), md5(seq) FROM seq_1_to_20000",
    ], mariadb_db)
    with contextlib.closing(mariadb_server.admin_connect(mariadb_db)) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT COUNT(note) FROM customer_orders IGNORE INDEX (orders_code) WHERE code = 'x'").fetchall()
        for i in range(60):
            cursor.execute("SELECT COUNT(note) FROM customer_visits WHERE code = ?", f"c{i}").fetchall()
            cursor.execute("SELECT COUNT(note) FROM customer_orders FORCE INDEX (orders_code) "
                           "WHERE code BETWEEN 'c10000' AND 'c10999'").fetchall()
    options = {"perf.missing_index": {"min_full_scan_rows": 10000}}
    findings = findings_of(run_check("perf.missing_index", db_config(mariadb_server, None, databases=[mariadb_db],
                                                                      diagnostics=options)))
    # customer_orders had one full scan (20,000 rows, over the volume floor) but most reads use its index.
    assert f"{mariadb_db}.customer_orders" not in objects(findings)
    finding = one(findings, f"{mariadb_db}.customer_visits")
    assert finding.evidence["full_scan_rows"] >= 60 * 20000
    assert f"ALTER TABLE `{mariadb_db}`.`customer_visits` ADD INDEX" in finding.recommendation


# -- SQL Server: rows shaped like sys.dm_db_missing_index_details/_groups/_group_stats --------

def _suggestion(database: str, table: str, equality: str | None, inequality: str | None, included: str | None,
                seeks: int, cost: float, impact: float) -> dict:
    return {"database_id": 5, "database_name": database, "object_id": 901578250,
            "statement": f"[{database}].[dbo].[{table}]", "equality_columns": equality,
            "inequality_columns": inequality, "included_columns": included, "user_seeks": seeks, "user_scans": 0,
            "avg_total_user_cost": cost, "avg_user_impact": impact, "last_user_seek": "2026-11-22 06:55:00",
            "unique_compiles": 3}


def test_mssql_missing_index_becomes_create_index_and_small_gains_are_ignored():
    rows = [
        _suggestion("erp", "ORDER_ROWS", "[COMPANY_ID], [ORDER_ID]", "[RECORD_DATE]", "[AMOUNT]", 48000, 12.5, 97.1),
        _suggestion("erp", "CURRENCY", "[CODE]", None, None, 40, 0.02, 30.0),  # 24: not worth an index
    ]
    findings, db = run_mssql("perf.missing_index", {"suggestions": rows})
    assert db.calls == [("suggestions", (60,), None)]
    assert [f.object for f in findings] == ["erp.dbo.ORDER_ROWS"]
    finding = findings[0]
    statement = finding.evidence["create_index"]
    assert statement == ("CREATE NONCLUSTERED INDEX [IX_ORDER_ROWS_COMPANY_ID_ORDER_ID_RECORD_DATE] ON "
                         "[erp].[dbo].[ORDER_ROWS] ([COMPANY_ID], [ORDER_ID], [RECORD_DATE]) INCLUDE ([AMOUNT]);")
    sqlglot.parse(statement, read="tsql")
    assert statement in finding.recommendation
    assert finding.severity == "warning"  # 48,000 x 12.5 x 97.1 = 58 million
    assert finding.evidence["score"] == round(48000 * 12.5 * 97.1, 1)


def test_mssql_suggestions_for_databases_out_of_scope_are_skipped():
    rows = [_suggestion("other", "T", "[A]", None, None, 48000, 12.5, 97.1)]
    findings, _ = run_mssql("perf.missing_index", {"suggestions": rows}, databases=["erp"])
    assert findings == []
