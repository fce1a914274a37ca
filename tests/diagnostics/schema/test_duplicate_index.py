"""schema.duplicate_index on real PostgreSQL and MariaDB: two indexes with one key list are
found (the one to drop, never the primary key or a unique index beside a plain one); indexes
that differ in column order, direction or (PostgreSQL) predicate are not."""

from __future__ import annotations

from tests.diagnostics.schema_support import planted_fixture

COMMON = [
    "CREATE TABLE customers (id int NOT NULL PRIMARY KEY, email varchar(100), city varchar(40), name varchar(80))",
    # defect: the same index twice
    "CREATE INDEX ix_customers_email ON customers (email)",
    "CREATE INDEX ix_customers_email_2 ON customers (email)",
    # twin: same columns, another order; and another direction
    "CREATE INDEX ix_customers_city_name ON customers (city, name)",
    "CREATE INDEX ix_customers_name_city ON customers (name, city)",
    "CREATE INDEX ix_customers_name_desc ON customers (name DESC)",
    "CREATE INDEX ix_customers_name_asc ON customers (name)",
    # defect: a plain index beside the unique one on the same column (the plain one goes)
    "CREATE TABLE products (code varchar(20) NOT NULL, title varchar(80))",
    "CREATE UNIQUE INDEX ux_products_code ON products (code)",
    "CREATE INDEX ix_products_code ON products (code)",
    # defect: an index repeating the primary key
    "CREATE TABLE orders (id int NOT NULL PRIMARY KEY, placed date)",
    "CREATE INDEX ix_orders_id ON orders (id)",
]
DDL = {
    "postgresql": [
        *COMMON,
        # twin: a partial index is not a duplicate of the whole-table one
        "CREATE TABLE invoices (id int PRIMARY KEY, status int, paid boolean)",
        "CREATE INDEX ix_invoices_status ON invoices (status)",
        "CREATE INDEX ix_invoices_open ON invoices (status) WHERE NOT paid",
    ],
    "mysql": COMMON,
}
erp = planted_fixture(DDL)


def test_duplicates_are_found_and_the_twins_are_not(erp):
    found = erp.by_object("schema.duplicate_index")
    assert set(found) == {
        erp.obj("customers", "ix_customers_email_2"),
        erp.obj("products", "ix_products_code"),
        erp.obj("orders", "ix_orders_id"),
    }


def test_the_kept_index_and_the_drop_statement(erp):
    found = erp.by_object("schema.duplicate_index")
    email = found[erp.obj("customers", "ix_customers_email_2")]
    assert email.severity == "warning"
    assert email.evidence["duplicate_of"].startswith("ix_customers_email (email)")
    pk = found[erp.obj("orders", "ix_orders_id")]
    assert "[primary key]" in pk.evidence["duplicate_of"]
    if erp.engine == "postgresql":
        assert email.recommendation.endswith(
            f'DROP INDEX CONCURRENTLY "public"."ix_customers_email_2"; (in database {erp.database})')
    else:
        assert email.recommendation.endswith(
            f"ALTER TABLE `{erp.database}`.`customers` DROP INDEX `ix_customers_email_2`;")
