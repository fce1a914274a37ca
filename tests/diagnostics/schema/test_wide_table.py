"""schema.wide_table on real PostgreSQL and MariaDB: a 40-column table is found, a 34-column
twin is not (default 35), and the threshold is an option."""

from __future__ import annotations

from dataclasses import replace
from itertools import product
from string import ascii_lowercase

from l4agent.diagnostics.runner import run_diagnostics
from tests.diagnostics.schema_support import planted_fixture

NAMES = [f"attr_{a}{b}" for a, b in product(ascii_lowercase, repeat=2)]


def table(name: str, columns: int) -> str:
    return f"CREATE TABLE {name} (id int NOT NULL PRIMARY KEY, " + ", ".join(
        f"{n} varchar(10)" for n in NAMES[: columns - 1]) + ")"


DDL = {engine: [table("customer_cards", 40), table("customer_notes", 34)] for engine in ("postgresql", "mysql")}
erp = planted_fixture(DDL)


def test_wide_table_is_found_and_the_narrower_twin_is_not(erp):
    found = erp.by_object("schema.wide_table")
    assert set(found) == {erp.obj("customer_cards")}
    finding = found[erp.obj("customer_cards")]
    assert finding.severity == "info"
    assert finding.summary == "table has 40 columns"
    assert finding.evidence["nullable_columns"] == 39
    assert "1:1 side tables keyed by id" in finding.recommendation


def test_threshold_option(erp):
    config = replace(erp.config, diagnostics={"schema.wide_table": {"min_columns": 30, "warning_columns": 40}})
    found = {f.object: f for f in run_diagnostics(config, ["schema.wide_table"]).findings}
    assert set(found) == {erp.obj("customer_cards"), erp.obj("customer_notes")}
    assert found[erp.obj("customer_cards")].severity == "warning"
