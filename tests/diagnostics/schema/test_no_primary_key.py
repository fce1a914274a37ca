"""schema.no_primary_key on real PostgreSQL and MariaDB: a table without a key beside one with
a primary key; a key-less table with a unique NOT NULL index is an info with the promotion."""

from __future__ import annotations

from dataclasses import replace

from l4agent.diagnostics.runner import run_diagnostics
from tests.diagnostics.schema_support import planted_fixture

COMMON = [
    # the defect: order lines with no key at all
    "CREATE TABLE order_rows (order_id int NOT NULL, line_no int NOT NULL, amount numeric(12,2))",
    # the twin: the same shape with a primary key
    "CREATE TABLE orders (order_id int NOT NULL PRIMARY KEY, customer varchar(50))",
    # a key in all but name: unique index on a NOT NULL column
    "CREATE TABLE company_codes (code varchar(10) NOT NULL, title varchar(50))",
    "CREATE UNIQUE INDEX ux_company_codes ON company_codes (code)",
]
DDL = {
    # ANALYZE gives PostgreSQL row estimates (a never-analysed table has none)
    "postgresql": [*COMMON, 'CREATE TABLE "Order Lines" (id int, note text)', "ANALYZE"],
    "mysql": [*COMMON, "CREATE TABLE `Order Lines` (id int, note text)"],
}
erp = planted_fixture(DDL)


def test_table_without_key_is_found_and_keyed_twin_is_not(erp):
    found = erp.members("schema.no_primary_key")
    assert set(found) == {erp.obj("order_rows"), erp.obj("company_codes"), erp.obj("Order Lines")}
    finding = erp.group("schema.no_primary_key")
    assert finding.severity == "warning"
    assert finding.summary.startswith("3 tables without a primary key: ")
    assert finding.evidence["with_unique_not_null_index"] == 1
    member = found[erp.obj("order_rows")]
    assert member["columns"] == 3
    # no natural key and no id column: a surrogate key statement for the table
    assert f"ALTER TABLE {erp.quote('order_rows')}" in member["fix"] \
        or f".{erp.quote('order_rows')} ADD" in member["fix"]


def test_unique_not_null_index_is_proposed_as_the_primary_key(erp):
    member = erp.members("schema.no_primary_key")[erp.obj("company_codes")]
    assert "ux_company_codes" in member["fix"]
    assert f"ADD PRIMARY KEY ({erp.quote('code')})" in member["fix"]


def test_recommendation_quotes_identifiers_by_the_engine_rules(erp):
    fix = erp.members("schema.no_primary_key")[erp.obj("Order Lines")]["fix"]
    if erp.engine == "postgresql":
        assert fix.endswith(
            f'ALTER TABLE "public"."Order Lines" ADD PRIMARY KEY ("id"); (in database {erp.database})')
    else:
        assert f"ALTER TABLE `{erp.database}`.`Order Lines` ADD PRIMARY KEY (`id`);" in fix


def test_min_rows_leaves_small_tables_out(erp):
    config = replace(erp.config, diagnostics={"schema.no_primary_key": {"min_rows": 1000}})
    result = run_diagnostics(config, ["schema.no_primary_key"])
    assert result.errors == []
    assert result.findings == []
