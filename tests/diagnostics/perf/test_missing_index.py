"""perf.missing_index: the index advisor on real PostgreSQL (with and without hypopg, with and
without the grants) and MariaDB (two catalogs) gives the exact CREATE INDEX for the statements
that scan a table, in the right column order, nothing for what an existing index serves or for
the twin read through its index. SQL Server: the missing-index DMVs, folded and checked against
the existing indexes, become CREATE INDEX statements."""

from __future__ import annotations

import contextlib

import sqlglot

from tests.diagnostics.checkrun import db_config, findings_of, run_check, run_mssql
from tests.diagnostics.perf.conftest import PG_CATALOG

PG_ADVICE = {
    "orders(customer_id)": "CREATE INDEX CONCURRENTLY ix_orders_customer_id ON public.orders (customer_id);",
    "orders(status, created_at)":
        "CREATE INDEX CONCURRENTLY ix_orders_status_created_at ON public.orders (status, created_at);",
    "customer(email)": "CREATE INDEX CONCURRENTLY ix_customer_email ON public.customer (email);",
}


def _pg_findings(server, **diagnostics):
    result = run_check("perf.missing_index", db_config(server, PG_CATALOG, diagnostics={"perf.missing_index": diagnostics}
                                                       if diagnostics else None))
    return findings_of(result), result


def _by_table(findings, catalog_prefix: str) -> dict:
    return {f.object.removeprefix(catalog_prefix): f for f in findings}


def _not_examined(result) -> list[dict]:
    return [item for c in result.coverage for item in c.not_examined]


def test_postgresql_pg_monitor_only_is_not_examined_never_guessed(advisor_pg):
    advisor_pg.execute_admin(f"REVOKE pg_read_all_data FROM {advisor_pg.monitor_user}", "postgres")
    findings, result = _pg_findings(advisor_pg)
    assert findings == []
    missing = _not_examined(result)
    assert {m["what"] for m in missing} == {"perf.missing_index: public.orders", "perf.missing_index: public.customer"}
    assert all("GRANT pg_read_all_data TO l4monitor" in m["why"] for m in missing), missing
    assert result.incomplete


def test_postgresql_hypopg_proves_the_exact_indexes(advisor_pg):
    advisor_pg.execute_admin(f"GRANT pg_read_all_data TO {advisor_pg.monitor_user}", "postgres")
    advisor_pg.execute_admin("CREATE EXTENSION IF NOT EXISTS hypopg", PG_CATALOG)
    try:
        findings, result = _pg_findings(advisor_pg)
    finally:
        leftover = advisor_pg.execute_admin("SELECT count(*) FROM hypopg_list_indexes", PG_CATALOG)[0][0]
        advisor_pg.execute_admin("DROP EXTENSION hypopg", PG_CATALOG)
    assert leftover == 0  # hypothetical indexes live in the advisor's session only, and are reset
    assert not result.incomplete
    advice = _by_table(findings, f"{PG_CATALOG}.public.")
    # many primary-key lookups on orders do not hide its scans; order_no is led by an existing
    # index and the twin (invoices) is read through its index: no advice for either
    assert set(advice) == set(PG_ADVICE), [f.object for f in findings]
    for key, statement in PG_ADVICE.items():
        finding = advice[key]
        assert finding.evidence["create_index"] == statement
        assert finding.recommendation.endswith(statement)
        assert finding.summary.startswith("planner cost ") and "(hypopg)" in finding.summary
        ev = finding.evidence
        for query_id, after in ev["cost_after"].items():
            assert after < ev["cost_before"][query_id]
        assert ev["index_bytes"] > 0 and ev["hypothetical_index_used"] and ev["planner"].startswith("hypopg ")
        assert ev["advisor_cost"]["statements"] > 0
    orders = advice["orders(customer_id)"].evidence
    (query_id,) = orders["cost_before"]
    assert orders["cost_after"][query_id] < orders["cost_before"][query_id] / 10
    assert orders["statements"][0]["query"] == "SELECT id, order_no, total FROM orders WHERE customer_id = $1"
    assert orders["share_of_time"] > 0.05
    assert pglast_parses(PG_ADVICE.values())


def pglast_parses(statements) -> bool:
    import pglast

    for statement in statements:
        pglast.parse_sql(statement)
    return True


def test_postgresql_without_hypopg_recommends_from_the_parse_and_says_so(advisor_pg):
    advisor_pg.execute_admin(f"GRANT pg_read_all_data TO {advisor_pg.monitor_user}", "postgres")
    findings, _ = _pg_findings(advisor_pg)
    advice = _by_table(findings, f"{PG_CATALOG}.public.")
    assert set(advice) == set(PG_ADVICE)
    for key, statement in PG_ADVICE.items():
        assert advice[key].evidence["create_index"] == statement
        assert "not proven by the planner: hypopg is not installed" in advice[key].summary
        assert advice[key].evidence["cost_before"]  # the current plan's cost, from EXPLAIN


def test_postgresql_without_pg_stat_statements_is_not_examined(pg_server, pg_db):
    pg_server.execute_admin("DROP EXTENSION IF EXISTS pg_stat_statements", pg_db)
    result = run_check("perf.missing_index", db_config(pg_server, pg_db))
    assert findings_of(result) == []
    (missing,) = _not_examined(result)
    assert missing["what"] == "perf.missing_index" and "pg_stat_statements is not installed" in missing["why"]
    assert result.incomplete


def test_postgresql_coverage_counts_tables_and_statements(advisor_pg):
    advisor_pg.execute_admin(f"GRANT pg_read_all_data TO {advisor_pg.monitor_user}", "postgres")
    result = run_check("perf.missing_index", db_config(advisor_pg, PG_CATALOG, databases=[PG_CATALOG]))
    (coverage,) = [c for c in result.coverage if c.catalog == PG_CATALOG]
    assert coverage.examined["tables"] == 3 and coverage.examined["statements"] >= 6


MY_ADVICE = {
    "cat_a.orders(customer_id)": "ALTER TABLE cat_a.orders ADD INDEX ix_orders_customer_id (customer_id);",
    "cat_a.orders(status, created_at)":
        "ALTER TABLE cat_a.orders ADD INDEX ix_orders_status_created_at (status, created_at);",
    "cat_b.customer(email)": "ALTER TABLE cat_b.customer ADD INDEX ix_customer_email (email);",
}


MONITOR_HOSTS = ("127.0.0.1", "localhost")


def _my_run(server):
    return run_check("perf.missing_index", db_config(server, None, databases=["cat_a", "cat_b"]))


def test_mariadb_monitor_without_catalog_grants_is_not_examined(advisor_mariadb):
    for catalog in ("cat_a", "cat_b"):
        for host in MONITOR_HOSTS:
            with contextlib.suppress(Exception):  # not granted yet
                advisor_mariadb.execute_admin(f"REVOKE SELECT ON {catalog}.* FROM '{advisor_mariadb.monitor_user}'@'{host}'")
    result = _my_run(advisor_mariadb)
    assert findings_of(result) == []
    missing = {m["what"]: m["why"] for m in _not_examined(result)}
    assert set(missing) == {"perf.missing_index: cat_a.orders", "perf.missing_index: cat_b.customer"}
    assert "GRANT SELECT ON cat_a.* TO" in missing["perf.missing_index: cat_a.orders"]


def test_mariadb_exact_alter_table_per_catalog_with_the_cross_catalog_join(advisor_mariadb):
    for catalog in ("cat_a", "cat_b"):
        for host in MONITOR_HOSTS:
            advisor_mariadb.execute_admin(f"GRANT SELECT ON {catalog}.* TO '{advisor_mariadb.monitor_user}'@'{host}'")
    result = _my_run(advisor_mariadb)
    advice = {f.object: f for f in findings_of(result)}
    assert set(advice) == set(MY_ADVICE), list(advice)
    for key, statement in MY_ADVICE.items():
        assert advice[key].evidence["create_index"] == statement
        assert advice[key].recommendation.endswith(statement)
        sqlglot.parse_one(statement, read="mysql")
    summary = advice["cat_a.orders(customer_id)"].summary
    assert summary.startswith("2 statement(s) filtering cat_a.orders on (customer_id) scan it: ")
    assert "current plan: full table scan of " in summary and "rows examined" in summary
    orders = advice["cat_a.orders(customer_id)"].evidence
    queries = [s["query"].strip() for s in orders["statements"]]
    assert "SELECT ID , `order_no` , `total` FROM `orders` WHERE `customer_id` = ?" in queries
    # the statement run without a default schema joins both catalogs: it serves both tables
    join = [q for q in queries if "JOIN" in q]
    customer = [s["query"].strip() for s in advice["cat_b.customer(email)"].evidence["statements"]]
    assert join, queries
    plan = orders["current_plan"]
    assert isinstance(plan, list) and plan[0]["access_type"] == "ALL" and plan[0]["rows"] > 100_000
    assert orders["share_of_time"] > 0.05 and orders["full_scan_rows"] >= 1_000_000
    assert "'user" not in str(advice["cat_b.customer(email)"].evidence)  # literals from samples are masked
    assert customer


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
    assert db.calls == [("suggestions", (60,), None), ("edition", (), None), ("indexes", (), "erp")]
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


def _index_rows(object_id: int, name: str, keys: list[str], included: list[str] = (), unique: bool = False,
                filtered: bool = False) -> list[dict]:
    """sys.indexes x sys.index_columns x sys.columns rows of one existing index."""
    rows = [{"object_id": object_id, "index_name": name, "is_unique": unique, "has_filter": filtered,
             "key_ordinal": n, "is_included_column": False, "column_name": c} for n, c in enumerate(keys, 1)]
    rows += [{"object_id": object_id, "index_name": name, "is_unique": unique, "has_filter": filtered,
              "key_ordinal": 0, "is_included_column": True, "column_name": c} for c in included]
    return rows


def test_mssql_suggestions_fold_and_skip_what_an_existing_index_leads():
    orders = dict(_suggestion("erp", "ORDERS", "[CUSTOMER_ID]", "[ORDER_DATE]", "[TOTAL]", 30000, 10.0, 90.0),
                  object_id=11)
    # the same keys, other INCLUDE columns: one index, its included columns united
    orders_too = dict(_suggestion("erp", "ORDERS", "[CUSTOMER_ID]", "[ORDER_DATE]", "[STATUS], [TOTAL]", 20000,
                                  10.0, 80.0), object_id=11)
    # led by IX_INVOICES_COMPANY_STATUS (equality columns in any order): no advice
    invoices = dict(_suggestion("erp", "INVOICES", "[STATUS], [COMPANY_ID]", None, "[AMOUNT]", 50000, 20.0, 95.0),
                    object_id=12)
    # a filtered index does not serve it: advice stays
    visits = dict(_suggestion("erp", "VISITS", "[MEMBER_ID]", None, None, 10000, 5.0, 99.0), object_id=13)
    rows = {
        "suggestions": [orders, orders_too, invoices, visits],
        "edition": [{"engine_edition": 3, "edition": "Enterprise Edition (64-bit)"}],
        ("indexes", "erp"): [*_index_rows(11, "PK_ORDERS", ["ORDER_ID"], unique=True),
                             *_index_rows(12, "IX_INVOICES_COMPANY_STATUS", ["COMPANY_ID", "STATUS", "DUE_DATE"]),
                             *_index_rows(13, "IX_VISITS_MEMBER_OPEN", ["MEMBER_ID"], filtered=True)],
    }
    findings, db = run_mssql("perf.missing_index", rows)
    assert [f.object for f in findings] == ["erp.dbo.ORDERS", "erp.dbo.VISITS"]
    orders_finding = findings[0]
    statement = orders_finding.evidence["create_index"]
    assert statement == ("CREATE NONCLUSTERED INDEX [IX_ORDERS_CUSTOMER_ID_ORDER_DATE] ON [erp].[dbo].[ORDERS] "
                         "([CUSTOMER_ID], [ORDER_DATE]) INCLUDE ([TOTAL], [STATUS]) WITH (ONLINE = ON);")
    parsed = sqlglot.parse_one(statement, read="tsql")
    assert isinstance(parsed, sqlglot.exp.Create)
    assert orders_finding.evidence["folded_suggestions"] == 2 and orders_finding.evidence["user_seeks"] == 50000
    assert "differing only in INCLUDE columns, folded" in orders_finding.summary
    assert orders_finding.recommendation.endswith(statement)
    assert db.calls.count(("indexes", (), "erp")) == 1


def test_mssql_standard_edition_builds_offline():
    rows = {"suggestions": [_suggestion("erp", "ORDERS", "[CUSTOMER_ID]", None, None, 30000, 10.0, 90.0)],
            "edition": [{"engine_edition": 2, "edition": "Standard Edition (64-bit)"}]}
    (finding,), _ = run_mssql("perf.missing_index", rows)
    assert finding.evidence["create_index"] == ("CREATE NONCLUSTERED INDEX [IX_ORDERS_CUSTOMER_ID] ON "
                                                "[erp].[dbo].[ORDERS] ([CUSTOMER_ID]);")
    assert "offline" in finding.recommendation


# -- done when: `diagnose --check perf` names the indexes, with the planner's before/after ------

def _pg_server_time(server) -> tuple[float, float]:
    """(calls, ms) pg_stat_statements holds for the erp catalog (the advisor's cost on the server)."""
    (row,) = server.execute_admin("SELECT sum(calls), sum(total_exec_time + total_plan_time) FROM pg_stat_statements "
                                  "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'erp')", "postgres")
    return float(row[0] or 0), float(row[1] or 0)


def _config(write_config, server, database, databases=None) -> str:
    from tests.diagnostics.checkrun import PASSWORD_ENV

    extra = f"databases = {databases!r}\n" .replace("'", '"') if databases else ""
    return write_config(f"""
        [[databases]]
        name = "erp"
        engine = "{server.engine}"
        dsn = "{server.agent_dsn(database)}"
        password_env = "{PASSWORD_ENV[server.engine]}"
        query_timeout = "20s"
        {extra}
        [diagnostics."perf.top_query"]
        min_total_seconds = 0.1
        """)


def test_diagnose_perf_names_the_indexes_with_the_planners_before_and_after(advisor_pg, run_cli, write_config):
    from tests.diagnostics.checkrun import PASSWORD_ENV

    advisor_pg.execute_admin(f"GRANT pg_read_all_data TO {advisor_pg.monitor_user}", "postgres")
    advisor_pg.execute_admin("CREATE EXTENSION IF NOT EXISTS hypopg", PG_CATALOG)
    env = {PASSWORD_ENV["postgresql"]: advisor_pg.monitor_password}
    try:
        before = _pg_server_time(advisor_pg)
        table = run_cli("diagnose", "-c", _config(write_config, advisor_pg, PG_CATALOG), "--check", "perf",
                        "--format", "table", "--evidence", env=env)
        after = _pg_server_time(advisor_pg)
        markdown = run_cli("diagnose", "-c", _config(write_config, advisor_pg, PG_CATALOG), "--check",
                           "perf.missing_index", "--format", "markdown", env=env)
    finally:
        advisor_pg.execute_admin("DROP EXTENSION hypopg", PG_CATALOG)
    out = table.stdout
    for key, statement in PG_ADVICE.items():
        assert f"erp.public.{key}" in out, out
        assert f"    {statement}" in out.splitlines()
        assert f"```sql\n{statement}\n```" in markdown.stdout
    assert "<column>" not in out and "planner cost " in out and '"cost_after"' in out
    # perf.top_query points its customer_id statement at the same index
    assert "-> (statement below) create the index the advisor derived for it (perf.missing_index)" in out
    # the advisor's cost on the server, for the whole `diagnose --check perf` (both checks share one run)
    calls, ms = after[0] - before[0], after[1] - before[1]
    print(f"\nserver cost of diagnose --check perf on erp: {calls:.0f} statements, {ms:.1f} ms")
    assert ms < 5000


def test_diagnose_perf_names_the_mariadb_equivalents(advisor_mariadb, run_cli, write_config):
    from tests.diagnostics.checkrun import PASSWORD_ENV

    for catalog in ("cat_a", "cat_b"):
        for host in MONITOR_HOSTS:
            advisor_mariadb.execute_admin(f"GRANT SELECT ON {catalog}.* TO '{advisor_mariadb.monitor_user}'@'{host}'")
    env = {PASSWORD_ENV["mysql"]: advisor_mariadb.monitor_password}
    result = run_cli("diagnose", "-c", _config(write_config, advisor_mariadb, None, ["cat_a", "cat_b"]),
                     "--check", "perf", "--format", "markdown", env=env)
    for statement in MY_ADVICE.values():
        assert f"```sql\n{statement}\n```" in result.stdout, result.stdout + result.stderr
    assert "<column>" not in result.stdout


def test_mariadb_advises_only_on_the_configured_catalogs(advisor_mariadb):
    for host in MONITOR_HOSTS:
        with contextlib.suppress(Exception):
            advisor_mariadb.execute_admin(f"REVOKE SELECT ON cat_a.* FROM '{advisor_mariadb.monitor_user}'@'{host}'")
        advisor_mariadb.execute_admin(f"GRANT SELECT ON cat_b.* TO '{advisor_mariadb.monitor_user}'@'{host}'")
    result = run_check("perf.missing_index", db_config(advisor_mariadb, None, databases=["cat_b"]))
    assert [f.object for f in findings_of(result)] == ["cat_b.customer(email)"]
    assert _not_examined(result) == []  # cat_a is not configured: its unreadable orders are no gap
