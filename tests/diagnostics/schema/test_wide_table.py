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
    found = erp.members("schema.wide_table")
    assert set(found) == {erp.obj("customer_cards")}
    finding = erp.group("schema.wide_table")
    assert finding.severity == "info"
    assert finding.summary == "1 table with 35 or more columns: customer_cards (40)"
    assert found[erp.obj("customer_cards")]["nullable_columns"] == 39
    assert "1:1 side tables keyed by id" in finding.recommendation


def test_threshold_option_and_one_finding_for_both_tables(erp):
    config = replace(erp.config, diagnostics={"schema.wide_table": {"min_columns": 30, "warning_columns": 40}})
    [finding] = run_diagnostics(config, ["schema.wide_table"]).findings
    assert finding.object == erp.database
    assert finding.severity == "warning"  # the widest member's level
    assert finding.summary == "2 tables with 30 or more columns: customer_cards (40), customer_notes (34)"
    assert [m["object"] for m in finding.evidence["tables"]] == [erp.obj("customer_cards"), erp.obj("customer_notes")]
