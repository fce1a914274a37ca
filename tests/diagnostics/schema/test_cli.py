"""End to end: ``l4agent diagnose --check schema --format json`` on an ERP-like catalog in real
PostgreSQL and MariaDB holding one of each normalization defect beside its clean twin; exactly
the planted objects are reported, in the contract's JSON shape."""

from __future__ import annotations

import json

import pytest

from tests.diagnostics.schema_support import PASSWORD_ENV, planted_fixture

WIDE = ", ".join(f"attr_{chr(97 + i // 26)}{chr(97 + i % 26)} varchar(10)" for i in range(39))
COMMON = [
    "CREATE TABLE companies (id int NOT NULL PRIMARY KEY, title varchar(80), branch_id int)",
    "CREATE TABLE order_rows (order_id int NOT NULL, line_no int NOT NULL, amount numeric(12,2))",
    "CREATE TABLE orders (id int NOT NULL PRIMARY KEY, company_id int, placed date, total numeric(12,2), "
    "branch_id int, CONSTRAINT fk_orders_company FOREIGN KEY (company_id) REFERENCES companies (id))",
    "CREATE INDEX ix_orders_company ON orders (company_id)",
    "CREATE INDEX ix_orders_company_placed ON orders (company_id, placed)",
    "CREATE INDEX ix_orders_placed ON orders (placed)",
    "CREATE INDEX ix_orders_placed_2 ON orders (placed)",
    "CREATE TABLE visits (id int NOT NULL PRIMARY KEY, company_id int, "
    "CONSTRAINT fk_visits_company FOREIGN KEY (company_id) REFERENCES companies (id))",
    "CREATE TABLE contacts (id int NOT NULL PRIMARY KEY, phone1 varchar(20), phone2 varchar(20), phone3 varchar(20))",
    "CREATE TABLE sales_2024_01 (id int NOT NULL PRIMARY KEY, amount numeric(12,2))",
    "CREATE TABLE sales_2024_02 (id int NOT NULL PRIMARY KEY, amount numeric(12,2))",
    "CREATE TABLE sales_2024_03 (id int NOT NULL PRIMARY KEY, amount numeric(12,2))",
    "CREATE TABLE report_2024 (id int NOT NULL PRIMARY KEY, body text)",
    "CREATE TABLE invoices (id int NOT NULL PRIMARY KEY, branch_id varchar(10))",
    f"CREATE TABLE customer_cards (id int NOT NULL PRIMARY KEY, {WIDE})",
]
DDL = {
    "postgresql": COMMON,
    "mysql": [*COMMON, "SET SESSION foreign_key_checks = 0", "ALTER TABLE visits DROP INDEX fk_visits_company"],
}
erp = planted_fixture(DDL)


def expected(erp) -> set[tuple[str, str]]:
    column = ".".join([erp.database, *(["*"] if erp.engine == "postgresql" else []), "*", "branch_id"])
    return {
        # grouped per catalog (diagnostics/schema/grouping.py): the object is the catalog
        ("schema.no_primary_key", erp.database),
        ("schema.duplicate_index", erp.obj("orders", "ix_orders_placed_2")),
        ("schema.redundant_index", erp.obj("orders", "ix_orders_company")),
        ("schema.unindexed_foreign_key", erp.database),
        ("schema.repeating_columns", erp.obj("contacts")),
        ("schema.period_table_sprawl", erp.obj("sales_YYYY_MM")),
        ("schema.inconsistent_column_type", column),
        ("schema.wide_table", erp.database),
    }


@pytest.mark.timeout(180)
def test_diagnose_schema_json_reports_exactly_the_planted_defects(erp, run_cli):
    done = run_cli("diagnose", "-c", erp.config_path, "--check", "schema", "--format", "json",
                   env={PASSWORD_ENV[erp.engine]: erp.server.monitor_password})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["errors"] == []
    assert {(f["check"], f["object"]) for f in report["findings"]} == expected(erp)
    for finding in report["findings"]:
        assert list(finding) == ["check", "severity", "target", "object", "summary", "evidence", "recommendation"]
        assert finding["target"] == "erp" and finding["summary"] and finding["recommendation"]
    assert erp.server.monitor_password not in done.stdout + done.stderr


def test_table_output_reads_like_a_report(erp, run_cli):
    done = run_cli("diagnose", "-c", erp.config_path, "--check", "schema.unindexed_foreign_key",
                   env={PASSWORD_ENV[erp.engine]: erp.server.monitor_password})
    assert done.returncode == 0, done.stderr
    assert "fk_visits_company" in done.stdout and "CREATE INDEX" in done.stdout
