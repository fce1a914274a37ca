"""diagnostics.sqlparse: the columns a statement filters, joins and sorts on, per table, as the
servers' statistics hold the statement (pg_stat_statements, MariaDB digests, T-SQL plan cache)."""

from __future__ import annotations

import pytest

from l4agent.diagnostics.sqlparse import ParseFailure, placeholder_count, statement_kind, table_uses


def test_postgresql_placeholders_aliases_and_kinds():
    uses = {u.name: u for u in table_uses(
        "SELECT o.id FROM public.orders o JOIN customer c ON c.id = o.customer_id "
        "WHERE c.email = $1 AND o.status = $2 AND o.created_at > $3 ORDER BY o.created_at", "postgresql")}
    assert uses["orders"].schema == "public"
    assert uses["orders"].equality == ["status"] and uses["orders"].range == ["created_at"]
    assert uses["orders"].join == ["customer_id"] and uses["orders"].order_by == ["created_at"]
    assert uses["customer"].equality == ["email"] and uses["customer"].join == ["id"]


def test_or_branches_and_unknown_like_patterns_are_not_index_columns():
    (use,) = table_uses("SELECT id FROM orders WHERE (status = $1 OR total > $2) AND note LIKE $3", "postgresql")
    assert use.equality == [] and use.range == []
    (use,) = table_uses("SELECT id FROM orders WHERE order_no LIKE 'ORD1%'", "postgresql")
    assert use.range == ["order_no"]
    (use,) = table_uses("SELECT id FROM orders WHERE name LIKE ?", "mysql")
    assert use.range == []


def test_mariadb_digest_cross_catalog():
    digest = ("SELECT `o` . `id` , `c` . `name` FROM `cat_a` . `orders` `o` JOIN `cat_b` . `customer` `c` "
              "ON `c` . `id` = `o` . `customer_id` WHERE `c` . `email` = ? AND `o` . `status` IN (...)")
    uses = {u.qualified(): u for u in table_uses(digest, "mysql", default_schema="cat_a")}
    assert set(uses) == {"cat_a.orders", "cat_b.customer"}
    assert uses["cat_b.customer"].equality == ["email"]
    assert uses["cat_a.orders"].equality == ["status"] and uses["cat_a.orders"].join == ["customer_id"]


def test_tsql_parameter_declaration():
    (use,) = table_uses("(@P1 int,@P2 datetime2(7))SELECT id FROM erp.dbo.orders WHERE customer_id = @P1 "
                        "AND created_at >= @P2", "mssql")
    assert (use.catalog, use.schema, use.name) == ("erp", "dbo", "orders")
    assert use.equality == ["customer_id"] and use.range == ["created_at"]


def test_only_plannable_statements_have_a_kind():
    assert statement_kind("SELECT 1", "postgresql") == "select"
    assert statement_kind("EXPLAIN SELECT 1", "postgresql") is None
    assert statement_kind("SELECT a INTO t2 FROM t", "postgresql") is None
    assert statement_kind("UPDATE t SET a = ? WHERE id = ?", "mysql") == "update"
    assert statement_kind("SELECT 1; SELECT 2", "postgresql") is None
    assert placeholder_count("SELECT * FROM t WHERE a = $1 AND b = $3") == 3


def test_unparseable_text_says_so():
    with pytest.raises(ParseFailure):
        table_uses("SELEC FROM WHERE", "postgresql")
