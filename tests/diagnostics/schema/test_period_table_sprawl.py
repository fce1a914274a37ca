"""schema.period_table_sprawl on real PostgreSQL and MariaDB: families of per-month and
per-year tables with one structure are reported once each, with member count and span; a lone
report_2024, two budget tables, and year-suffixed tables of different structures are not."""

from __future__ import annotations

from tests.diagnostics.schema_support import planted_fixture


def statements(quote: str) -> list[str]:
    q = lambda name: f"{quote}{name}{quote}"  # noqa: E731 - keeps the upper-case ERP names on PostgreSQL
    sales = [f"CREATE TABLE sales_2024_{m:02d} (id int NOT NULL PRIMARY KEY, amount numeric(12,2), sold_on date)"
             for m in (1, 2, 3, 4)]
    visits = [f"CREATE TABLE {q(f'WRK_VISIT_2012_{m}')} (VISIT_ID int NOT NULL PRIMARY KEY, EMP_ID int, "
              f"VISIT_DATE date)" for m in (1, 2, 12)]
    ledgers = [f"CREATE TABLE ledger_{y} (id int NOT NULL PRIMARY KEY, account varchar(20), debit numeric(14,2))"
               for y in (2021, 2022, 2023)]
    # the ERP's own shape: the period inside the name, a word after it (one family per word)
    inside = [f"CREATE TABLE {q(f'WRK_VISIT_2012_{m}_{word}')} (ID int NOT NULL PRIMARY KEY, VISIT_ID int, "
              f"AMOUNT numeric(12,2))" for word in ("MEMBER", "DEMAND") for m in (1, 2, 10, 11, 12)]
    return [
        *sales, *visits, *ledgers, *inside,
        # twin: one table with a word after its period is not a family
        f"CREATE TABLE {q('WRK_OFFER_2012_1_NOTES')} (ID int NOT NULL PRIMARY KEY, BODY text)",
        # twins
        "CREATE TABLE report_2024 (id int NOT NULL PRIMARY KEY, body text)",
        "CREATE TABLE budget_2023 (id int NOT NULL PRIMARY KEY, amount numeric(12,2))",
        "CREATE TABLE budget_2024 (id int NOT NULL PRIMARY KEY, amount numeric(12,2))",
        "CREATE TABLE log_2021 (id int NOT NULL PRIMARY KEY, line text)",
        "CREATE TABLE log_2022 (id int NOT NULL PRIMARY KEY, message text, level int)",
        "CREATE TABLE log_2023 (entry_id int NOT NULL PRIMARY KEY, payload text)",
        "CREATE TABLE sales (id int NOT NULL PRIMARY KEY)",
    ]


DDL = {"postgresql": statements('"'), "mysql": statements("`")}
erp = planted_fixture(DDL)


def test_each_family_is_reported_once_and_the_twins_are_not(erp):
    found = erp.by_object("schema.period_table_sprawl")
    assert set(found) == {
        erp.obj("sales_YYYY_MM"),
        erp.obj("WRK_VISIT_YYYY_MM"),
        erp.obj("ledger_YYYY"),
        erp.obj("WRK_VISIT_YYYY_MM_MEMBER"),
        erp.obj("WRK_VISIT_YYYY_MM_DEMAND"),
    }


def test_families_with_the_period_inside_the_name(erp):
    found = erp.by_object("schema.period_table_sprawl")
    member = found[erp.obj("WRK_VISIT_YYYY_MM_MEMBER")]
    assert member.evidence["members"] == 5
    assert member.evidence["span"] == "2012-01..2012-12"
    assert member.evidence["tables"] == [f"WRK_VISIT_2012_{m}_MEMBER" for m in (1, 2, 10, 11, 12)]
    assert member.summary.startswith("5 monthly tables WRK_VISIT_2012_1_MEMBER .. WRK_VISIT_2012_12_MEMBER")
    assert found[erp.obj("WRK_VISIT_YYYY_MM_DEMAND")].evidence["members"] == 5
    assert not any("OFFER" in o or "NOTES" in o for o in found)


def test_member_count_and_span(erp):
    found = erp.by_object("schema.period_table_sprawl")
    sales = found[erp.obj("sales_YYYY_MM")]
    assert sales.severity == "warning"
    assert sales.evidence["members"] == 4
    assert sales.evidence["span"] == "2024-01..2024-04"
    assert sales.evidence["tables"] == [f"sales_2024_0{m}" for m in (1, 2, 3, 4)]
    assert sales.summary == "4 monthly tables sales_2024_01 .. sales_2024_04 with one structure (2024-01 .. 2024-04)"
    visits = found[erp.obj("WRK_VISIT_YYYY_MM")]
    assert visits.evidence["span"] == "2012-01..2012-12"
    assert visits.evidence["members"] == 3
    ledgers = found[erp.obj("ledger_YYYY")]
    assert (ledgers.evidence["members"], ledgers.evidence["span"]) == (3, "2021..2023")
    if erp.engine == "postgresql":
        assert 'CREATE TABLE "public"."sales" (LIKE "public"."sales_2024_01", "period" date NOT NULL) ' \
               'PARTITION BY RANGE ("period")' in sales.recommendation
    else:
        assert f"CREATE TABLE `{erp.database}`.`sales` LIKE `{erp.database}`.`sales_2024_01`" in sales.recommendation


def test_min_members_option(erp):
    from dataclasses import replace

    from l4agent.diagnostics.runner import run_diagnostics

    config = replace(erp.config, diagnostics={"schema.period_table_sprawl": {"min_members": 2}})
    objects = {f.object for f in run_diagnostics(config, ["schema.period_table_sprawl"]).findings}
    assert erp.obj("budget_YYYY") in objects
    assert not any("report" in o for o in objects)
