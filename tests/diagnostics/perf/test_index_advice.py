"""perf.index_advice, the parts that need no server: column order, the left-prefix rule, the plan
summaries, literal masking in MariaDB plan conditions, identifier quoting."""

from __future__ import annotations

from l4agent.diagnostics.perf.index_advice import (
    Advice,
    Report,
    fixed_by,
    mask_literals,
    propose,
    quote_my,
    quote_pg,
    served_by,
    summarize_mysql_plan,
    summarize_pg_plan,
)
from l4agent.diagnostics.sqlparse import TableUse


def test_equality_columns_most_selective_first_then_one_range_column():
    use = TableUse("orders", equality=["status", "customer_id"], range=["created_at", "total"])
    distinct = {"status": 25, "customer_id": 50_000, "created_at": 200_000, "total": 1000}
    columns, _how = propose(use, distinct)
    assert columns == ["customer_id", "status", "created_at"]
    # no filter on the table: its join column
    assert propose(TableUse("orders", join=["customer_id"]), {})[0] == ["customer_id"]


def test_an_existing_index_that_leads_with_the_columns_serves_them():
    indexes = [{"name": "ix_a", "columns": ["status", "customer_id", "created_at", "x"], "unique": False}]
    assert served_by(["customer_id", "status", "created_at"], 2, indexes) == "ix_a"  # equality part in any order
    assert served_by(["customer_id", "total"], 1, indexes) is None
    assert served_by(["id", "status"], 2, [{"name": "pk", "columns": ["id"], "unique": True}]) == "pk"
    partial = [{"name": "ix_p", "columns": ["customer_id"], "unique": False, "partial": True}]
    assert served_by(["customer_id"], 1, partial) is None


def test_pg_plan_summary_names_the_costly_nodes():
    plan = {"Plan": {"Node Type": "Nested Loop", "Total Cost": 1000.0, "Plans": [
        {"Node Type": "Seq Scan", "Relation Name": "orders", "Schema": "public", "Total Cost": 900.0,
         "Plan Rows": 50000, "Filter": "(status = $1)"},
        {"Node Type": "Index Scan", "Relation Name": "customer", "Total Cost": 0.3, "Plan Rows": 1}]}}
    found = summarize_pg_plan(plan, {"public.orders": 200_000})
    assert [f["node"] for f in found] == ["Seq Scan", "Nested Loop"]
    assert found[0]["own_cost_share"] == 0.9
    small = summarize_pg_plan(plan, {"public.orders": 500})
    assert [f["node"] for f in small] == ["Nested Loop"]


def test_mysql_plan_summary_masks_the_sample_literals():
    plan = {"query_block": {"select_id": 1, "table": {
        "table_name": "customer", "access_type": "ALL", "rows": 49_800, "filtered": 100,
        "attached_condition": "cat_b.customer.email = 'user17@example.com' and cat_b.customer.id > 42"}}}
    (node,) = summarize_mysql_plan(plan)
    assert node["condition"] == "cat_b.customer.email = ? and cat_b.customer.id > ?"
    assert mask_literals("a = 'it''s' and b = -1.5") == "a = ? and b = ?"


def test_identifiers_are_quoted_only_where_needed():
    assert quote_pg("orders") == "orders" and quote_pg("Orders") == '"Orders"' and quote_pg("user") == '"user"'
    assert quote_my("orders") == "orders" and quote_my("order") == "`order`" and quote_my("a`b") == "`a``b`"


def test_fixed_by_matches_queryid_or_digest():
    advice = Advice("postgresql", "public.orders", ["customer_id"], "CREATE INDEX ...;", True, True, "",
                    {"statements": [{"queryid": "123"}]})
    report = Report([advice], [], [], {})
    assert fixed_by(report, "123") == ["CREATE INDEX ...;"] and fixed_by(report, "9") == [] and fixed_by(None, "1") == []
