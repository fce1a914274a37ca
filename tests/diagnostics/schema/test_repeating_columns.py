"""schema.repeating_columns on real PostgreSQL and MariaDB: PHONE1..PHONE3 and ADDRESS_1..n are
found (one finding per table); two numbered columns, or numbers in unrelated names, are not."""

from __future__ import annotations

from tests.diagnostics.schema_support import planted_fixture

COMMON = [
    # defect: two repeating groups in one table
    "CREATE TABLE contacts (id int NOT NULL PRIMARY KEY, phone1 varchar(20), phone2 varchar(20), "
    "phone3 varchar(20), address_1 varchar(100), address_2 varchar(100), address_3 varchar(100), "
    "address_4 varchar(100), email varchar(80))",
    # twin: only two numbered phones, and numbers that belong to different words
    "CREATE TABLE people (id int NOT NULL PRIMARY KEY, phone1 varchar(20), phone2 varchar(20), "
    "mobile varchar(20), md5 char(32), utf8_name varchar(80), x1_code varchar(5))",
]
DDL = {"postgresql": COMMON, "mysql": COMMON}
erp = planted_fixture(DDL)


def test_groups_are_found_and_the_twin_is_not(erp):
    found = erp.by_object("schema.repeating_columns")
    assert set(found) == {erp.obj("contacts")}
    finding = found[erp.obj("contacts")]
    assert finding.summary == "repeating column groups phone1..phone3 (3 columns), address_1..address_4 (4 columns)"
    assert [g["columns"] for g in finding.evidence["groups"]] == [
        ["phone1", "phone2", "phone3"], ["address_1", "address_2", "address_3", "address_4"]]
    assert "child table contacts_phone" in finding.recommendation
    assert "child table contacts_address" in finding.recommendation


def test_min_group_option(erp):
    from dataclasses import replace

    from l4agent.diagnostics.runner import run_diagnostics

    config = replace(erp.config, diagnostics={"schema.repeating_columns": {"min_group": 2}})
    result = run_diagnostics(config, ["schema.repeating_columns"])
    assert {f.object for f in result.findings} == {erp.obj("contacts"), erp.obj("people")}
