"""schema.redundant_index on real PostgreSQL and MariaDB: an index that is the left prefix of
another (or of a composite primary key) is found; a unique prefix, a non-prefix and (PostgreSQL)
partial and hash indexes are not."""

from __future__ import annotations

from tests.diagnostics.schema_support import planted_fixture

COMMON = [
    "CREATE TABLE suppliers (id int NOT NULL PRIMARY KEY, code varchar(20) NOT NULL, city varchar(40), "
    "name varchar(80), region varchar(20), country varchar(2))",
    # defect: (city) is served by (city, name)
    "CREATE INDEX ix_suppliers_city ON suppliers (city)",
    "CREATE INDEX ix_suppliers_city_name ON suppliers (city, name)",
    # twin: (name) is not a left prefix of (city, name)
    "CREATE INDEX ix_suppliers_name ON suppliers (name)",
    # twin: a unique index enforces a rule the wider one does not
    "CREATE UNIQUE INDEX ux_suppliers_code ON suppliers (code)",
    "CREATE INDEX ix_suppliers_code_city ON suppliers (code, city)",
    # defect: a single-column index leading a composite primary key
    "CREATE TABLE order_lines (order_id int NOT NULL, line_no int NOT NULL, qty int, PRIMARY KEY (order_id, line_no))",
    "CREATE INDEX ix_order_lines_order ON order_lines (order_id)",
]
DDL = {
    "postgresql": [
        *COMMON,
        # twins: a partial index, and another access method, beside a wider B-tree
        "CREATE INDEX ix_suppliers_active_region ON suppliers (region) WHERE country = 'TR'",
        "CREATE INDEX ix_suppliers_region_city ON suppliers (region, city)",
        "CREATE INDEX ix_suppliers_country_hash ON suppliers USING hash (country)",
        "CREATE INDEX ix_suppliers_country_city ON suppliers (country, city)",
    ],
    "mysql": COMMON,
}
erp = planted_fixture(DDL)


def test_left_prefixes_are_found_and_the_twins_are_not(erp):
    found = erp.by_object("schema.redundant_index")
    assert set(found) == {
        erp.obj("suppliers", "ix_suppliers_city"),
        erp.obj("order_lines", "ix_order_lines_order"),
    }


def test_evidence_names_the_covering_index(erp):
    found = erp.by_object("schema.redundant_index")
    city = found[erp.obj("suppliers", "ix_suppliers_city")]
    assert city.evidence["covered_by"] == "ix_suppliers_city_name (city, name)"
    assert "DROP INDEX" in city.recommendation and erp.quote("ix_suppliers_city") in city.recommendation
    lines = found[erp.obj("order_lines", "ix_order_lines_order")]
    assert lines.evidence["covered_by"].endswith("(order_id, line_no) [primary key]")
