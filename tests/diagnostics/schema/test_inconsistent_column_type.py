"""schema.inconsistent_column_type on real PostgreSQL and MariaDB: a key column that is a number
in some tables and text in another is a warning, int vs bigint an info; consistent columns,
generic names and length-only differences are not reported (unless ignore_length = false)."""

from __future__ import annotations

from dataclasses import replace

from l4agent.diagnostics.runner import run_diagnostics
from tests.diagnostics.schema_support import planted_fixture

COMMON = [
    "CREATE TABLE customers (customer_id int NOT NULL PRIMARY KEY, name varchar(80), email varchar(100), "
    "branch_no smallint)",
    "CREATE TABLE orders (order_id int NOT NULL PRIMARY KEY, customer_id int, quantity int, name text, "
    "email varchar(200), branch_no smallint)",
    # the odd one out: customer_id as text, quantity as bigint
    "CREATE TABLE invoices (invoice_id int NOT NULL PRIMARY KEY, customer_id varchar(20) NOT NULL, "
    "quantity bigint, branch_no smallint)",
]
DDL = {"postgresql": COMMON, "mysql": COMMON}
erp = planted_fixture(DDL)


def column(erp, name: str) -> str:
    return ".".join([erp.database, *(["*"] if erp.engine == "postgresql" else []), "*", name])


def test_inconsistent_columns_are_found_and_consistent_ones_are_not(erp):
    found = erp.by_object("schema.inconsistent_column_type")
    assert set(found) == {column(erp, "customer_id"), column(erp, "quantity")}
    customer = found[column(erp, "customer_id")]
    assert customer.severity == "warning"
    assert customer.evidence["kinds"] == ["integer", "text"]
    text_type = "character varying" if erp.engine == "postgresql" else "varchar"
    int_type = "integer" if erp.engine == "postgresql" else "int"
    assert customer.evidence["variants"] == {int_type: 2, text_type: 1}
    assert found[column(erp, "quantity")].severity == "info"


def test_recommendation_converges_on_the_majority_type(erp):
    customer = erp.by_object("schema.inconsistent_column_type")[column(erp, "customer_id")]
    if erp.engine == "postgresql":
        assert customer.recommendation.endswith(
            f'ALTER TABLE "public"."invoices" ALTER COLUMN "customer_id" TYPE integer '
            f'USING "customer_id"::integer; (in database {erp.database})')
    else:
        assert customer.recommendation.endswith(
            f"ALTER TABLE `{erp.database}`.`invoices` MODIFY `customer_id` int(11) NOT NULL;")


def test_length_differences_count_when_asked(erp):
    config = replace(erp.config, diagnostics={"schema.inconsistent_column_type": {"ignore_length": False}})
    objects = {f.object for f in run_diagnostics(config, ["schema.inconsistent_column_type"]).findings}
    assert column(erp, "email") in objects
    assert column(erp, "branch_no") not in objects


def test_generic_names_can_be_unignored(erp):
    config = replace(erp.config, diagnostics={"schema.inconsistent_column_type": {"ignore_names": []}})
    objects = {f.object for f in run_diagnostics(config, ["schema.inconsistent_column_type"]).findings}
    assert column(erp, "name") in objects


# Types MariaDB's dictionary holds only as placeholders (decimal(?5b): 10,2 and 9,2 share a
# size; enum|set(?1b)): the check must tell them apart and recommend exact types only.
PLACEHOLDERS = {
    "postgresql": [
        "CREATE TABLE ledger (id int PRIMARY KEY, amount numeric(10,2), flag varchar(5))",
        "CREATE TABLE journal (id int PRIMARY KEY, amount numeric(10,2), flag varchar(5))",
        "CREATE TABLE budget (id int PRIMARY KEY, amount numeric(9,2), flag text)",
    ],
    "mysql": [
        "CREATE TABLE ledger (id int PRIMARY KEY, amount decimal(10,2), flag enum('a','b'))",
        "CREATE TABLE journal (id int PRIMARY KEY, amount decimal(10,2), flag enum('a','b'))",
        "CREATE TABLE budget (id int PRIMARY KEY, amount decimal(9,2), flag set('a','b'))",
    ],
}
placeholders = planted_fixture(PLACEHOLDERS, name="placeholders")


def test_placeholder_types_never_decide_or_reach_a_recommendation(placeholders):
    erp = placeholders
    found = erp.by_object("schema.inconsistent_column_type")
    assert set(found) == {column(erp, "flag")}  # enum vs set differ in base type
    flag = found[column(erp, "flag")]
    assert "?" not in flag.recommendation and "?" not in str(flag.evidence)
    if erp.engine == "mysql":
        assert flag.recommendation.endswith("MODIFY `flag` enum('a','b') NULL;")
    config = replace(erp.config, diagnostics={"schema.inconsistent_column_type": {"ignore_length": False}})
    result = run_diagnostics(config, ["schema.inconsistent_column_type"])
    amount = {f.object: f for f in result.findings}[column(erp, "amount")]
    assert "?" not in amount.recommendation and "?" not in str(amount.evidence)
    want = "numeric(10,2)" if erp.engine == "postgresql" else "decimal(10,2)"
    assert want in amount.recommendation
