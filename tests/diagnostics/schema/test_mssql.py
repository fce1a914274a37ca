"""The schema checks on SQL Server, which cannot run here: every T-SQL statement of the catalog
read parses as T-SQL and reads only documented catalog-view columns; rows shaped exactly like
those statements' output (sys.* column types: bit as bool, max_length in bytes) go through the
real catalog reader and every check, for a two-catalog ERP with each defect beside its twin.
The opt-in live test runs the same checks on a real server (L4_MSSQL_DSN)."""

from __future__ import annotations

import os

import pytest
import sqlglot

from l4agent.agent.configuration import parse_config
from l4agent.diagnostics.base import CheckContext
from l4agent.diagnostics.options import options_for
from l4agent.diagnostics.registry import select
from l4agent.diagnostics.schema.catalog import MSSQL, STATEMENTS, build_catalog, mssql_type, read_catalog
from tests.diagnostics.tsql_support import RowsConnection, projection, undocumented

# The output columns every engine's statements share (build_catalog reads exactly these).
EXPECTED_COLUMNS = {
    "current_catalog": ["catalog_name"],
    "tables": ["table_id", "schema_name", "table_name", "row_count"],
    "columns": ["table_id", "column_name", "ordinal", "type_name", "max_length", "precision", "scale", "is_nullable"],
    "indexes": ["table_id", "index_name", "is_primary", "is_unique", "is_constraint", "access_method", "is_partial"],
    "index_columns": ["table_id", "index_name", "position", "column_name", "is_included", "is_descending"],
    "foreign_keys": ["table_id", "constraint_name", "position", "column_name", "referenced_schema",
                     "referenced_table"],
}


@pytest.mark.parametrize("name", sorted(MSSQL))
def test_statement_parses_as_tsql_and_reads_documented_columns(name):
    assert projection(MSSQL[name]) == EXPECTED_COLUMNS[name]
    assert undocumented(MSSQL[name]) == []


def test_a_misspelt_column_and_broken_tsql_are_caught():
    assert undocumented("SELECT i.is_primay_key FROM sys.indexes AS i") == [("sys.indexes", "is_primay_key")]
    with pytest.raises(sqlglot.errors.ParseError):
        projection("SELECT t.name FROM sys.tables AS t WHERE (t.object_id = 1")


def test_column_types_are_written_as_tsql_does():
    def row(type_name, max_length, precision=0, scale=0):
        return {"type_name": type_name, "max_length": max_length, "precision": precision, "scale": scale}

    assert mssql_type(row("nvarchar", 100)) == "nvarchar(50)"
    assert mssql_type(row("nvarchar", -1)) == "nvarchar(max)"
    assert mssql_type(row("varchar", 20)) == "varchar(20)"
    assert mssql_type(row("decimal", 9, 18, 2)) == "decimal(18,2)"
    assert mssql_type(row("datetime2", 8, 27, 7)) == "datetime2(7)"
    assert mssql_type(row("int", 4, 10, 0)) == "int"


# -- an ERP catalog as sys.* rows ----------------------------------------------------------------

INT = ("int", 4, 10, 0)
BIGINT = ("bigint", 8, 19, 0)
MONEY = ("decimal", 9, 18, 2)
DATE = ("datetime", 8, 23, 3)


def NVARCHAR(n):
    return ("nvarchar", 2 * n, 0, 0)


class Erp:
    """Builds the rows of the five statements for one catalog."""

    def __init__(self):
        self.rows = {name: [] for name in STATEMENTS}
        self.next_id = 1000

    def table(self, name, columns, rows=1000, schema="dbo"):
        self.next_id += 1
        table_id = self.next_id
        self.rows["tables"].append({"table_id": table_id, "schema_name": schema, "table_name": name, "row_count": rows})
        for ordinal, (column, (type_name, max_length, precision, scale), nullable) in enumerate(columns, 1):
            self.rows["columns"].append({"table_id": table_id, "column_name": column, "ordinal": ordinal,
                                         "type_name": type_name, "max_length": max_length, "precision": precision,
                                         "scale": scale, "is_nullable": nullable})
        return table_id

    def index(self, table_id, name, keys, kind="NONCLUSTERED", primary=False, unique=False, constraint=False,
              filtered=False, include=(), descending=()):
        self.rows["indexes"].append({"table_id": table_id, "index_name": name, "is_primary": primary,
                                     "is_unique": unique or primary, "is_constraint": constraint or primary,
                                     "access_method": kind, "is_partial": filtered})
        for position, column in enumerate(keys, 1):
            ordinal = 0 if "COLUMNSTORE" in kind else position
            self.rows["index_columns"].append({"table_id": table_id, "index_name": name, "position": ordinal,
                                               "column_name": column, "is_included": False,
                                               "is_descending": column in descending})
        for column in include:
            self.rows["index_columns"].append({"table_id": table_id, "index_name": name, "position": 0,
                                               "column_name": column, "is_included": True, "is_descending": False})

    def foreign_key(self, table_id, name, columns, referenced):
        for position, column in enumerate(columns, 1):
            self.rows["foreign_keys"].append({"table_id": table_id, "constraint_name": name, "position": position,
                                              "column_name": column, "referenced_schema": "dbo",
                                              "referenced_table": referenced})


def erp_main() -> Erp:
    erp = Erp()
    company = erp.table("COMPANY", [("COMPANY_ID", INT, False), ("NICKNAME", NVARCHAR(50), True),
                                    ("BRANCH_ID", INT, True)])
    erp.index(company, "PK_COMPANY", ["COMPANY_ID"], kind="CLUSTERED", primary=True)
    # a heap without any key
    erp.table("ORDER_ROWS", [("ORDER_ID", INT, False), ("LINE_NO", INT, False), ("AMOUNT", MONEY, True)])
    # a heap with a unique index on a NOT NULL column: info, promote it (clustered: it is a heap)
    codes = erp.table("SETUP_CODES", [("CODE", NVARCHAR(10), False), ("TITLE", NVARCHAR(50), True)])
    erp.index(codes, "UX_SETUP_CODES", ["CODE"], unique=True)
    orders = erp.table("ORDERS", [("ORDER_ID", INT, False), ("COMPANY_ID", INT, True), ("ORDER_DATE", DATE, True),
                                  ("TOTAL", MONEY, True), ("BRANCH_ID", INT, True)])
    erp.index(orders, "PK_ORDERS", ["ORDER_ID"], kind="CLUSTERED", primary=True)
    erp.index(orders, "IX_ORDERS_ORDER_ID", ["ORDER_ID"])  # duplicate of the clustered PK
    erp.index(orders, "IX_ORDERS_COMPANY", ["COMPANY_ID"])  # left prefix of the next
    erp.index(orders, "IX_ORDERS_COMPANY_DATE", ["COMPANY_ID", "ORDER_DATE"], include=["TOTAL"])
    erp.index(orders, "IX_ORDERS_DATE_DESC", ["ORDER_DATE"], descending=["ORDER_DATE"])  # twin: no wider one
    erp.index(orders, "NCCI_ORDERS", ["ORDER_ID", "COMPANY_ID", "TOTAL"], kind="NONCLUSTERED COLUMNSTORE")
    erp.foreign_key(orders, "FK_ORDERS_COMPANY", ["COMPANY_ID"], "COMPANY")  # covered
    invoice = erp.table("INVOICE", [("INVOICE_ID", INT, False), ("COMPANY_ID", INT, True), ("IS_OPEN", ("bit", 1, 1, 0), True),
                                    ("BRANCH_ID", NVARCHAR(10), True)])
    erp.index(invoice, "PK_INVOICE", ["INVOICE_ID"], kind="CLUSTERED", primary=True)
    # a filtered index does not cover the foreign key
    erp.index(invoice, "IX_INVOICE_OPEN_COMPANY", ["COMPANY_ID"], filtered=True)
    erp.foreign_key(invoice, "FK_INVOICE_COMPANY", ["COMPANY_ID"], "COMPANY")
    contacts = erp.table("CONTACTS", [("CONTACT_ID", INT, False), ("PHONE1", NVARCHAR(20), True),
                                      ("PHONE2", NVARCHAR(20), True), ("PHONE3", NVARCHAR(20), True)])
    erp.index(contacts, "PK_CONTACTS", ["CONTACT_ID"], kind="CLUSTERED", primary=True)
    for month in (1, 2, 3):
        visit = erp.table(f"WRK_VISIT_2012_{month:02d}", [("VISIT_ID", INT, False), ("EMP_ID", INT, True)])
        erp.index(visit, f"PK_WRK_VISIT_2012_{month:02d}", ["VISIT_ID"], kind="CLUSTERED", primary=True)
    report = erp.table("REPORT_2024", [("REPORT_ID", INT, False)])
    erp.index(report, "PK_REPORT_2024", ["REPORT_ID"], kind="CLUSTERED", primary=True)
    card = erp.table("CUSTOMER_CARD", [("CARD_ID", BIGINT, False)] + [(f"FIELD_{chr(65 + i // 26)}{chr(65 + i % 26)}",
                                                                      NVARCHAR(10), True) for i in range(39)])
    erp.index(card, "PK_CUSTOMER_CARD", ["CARD_ID"], kind="CLUSTERED", primary=True)
    return erp


def erp_period() -> Erp:
    """The per-period catalog: a clean twin of ORDER_ROWS (it has a key)."""
    erp = Erp()
    rows = erp.table("ORDER_ROWS", [("ORDER_ID", INT, False), ("LINE_NO", INT, False)])
    erp.index(rows, "PK_ORDER_ROWS", ["ORDER_ID", "LINE_NO"], kind="CLUSTERED", primary=True)
    return erp


CATALOGS = {"workcube_cf": erp_main(), "workcube_cf_1": erp_period()}


def mssql_context(check, connection):
    config = parse_config({"databases": [{"name": "erp", "engine": "mssql", "databases": list(CATALOGS),
                                          "dsn": "DRIVER={ODBC Driver 18 for SQL Server};SERVER=db1;UID=l4"}]},
                          "test.toml")
    return CheckContext(config, options_for(check, config.diagnostics), "db1", target=config.databases[0],
                        db=connection)


@pytest.fixture(scope="module")
def findings():
    connection = RowsConnection(MSSQL, {name: (lambda catalog, name=name: CATALOGS[catalog].rows[name])
                                        for name in STATEMENTS})
    found = {}
    for check in select(("schema",)):
        found[check.id] = {f.object: f for f in check.run(mssql_context(check, connection))}
    found["calls"] = connection.calls
    return found


def test_the_catalog_is_read_once_per_run_with_use_per_catalog(findings):
    assert sorted(findings["calls"]) == sorted((name, catalog) for name in STATEMENTS for catalog in CATALOGS)


def grouped(finding, key: str = "tables") -> dict[str, dict]:
    return {m["object"]: m for m in finding.evidence[key]}


def test_no_primary_key(findings):
    group = findings["schema.no_primary_key"]["workcube_cf"]
    found = grouped(group)
    assert set(found) == {"workcube_cf.dbo.ORDER_ROWS", "workcube_cf.dbo.SETUP_CODES"}
    heap = found["workcube_cf.dbo.ORDER_ROWS"]
    assert (group.severity, heap["heap"], heap["rows"]) == ("warning", True, 1000)
    assert group.summary == ("2 tables without a primary key (2 heaps: no clustered index): "
                             "ORDER_ROWS, SETUP_CODES")
    assert heap["fix"].endswith(
        "ALTER TABLE [workcube_cf].[dbo].[ORDER_ROWS] ADD [ID] bigint IDENTITY(1,1) NOT NULL "
        "CONSTRAINT [PK_ORDER_ROWS] PRIMARY KEY CLUSTERED;")
    codes = found["workcube_cf.dbo.SETUP_CODES"]
    assert codes["fix"].endswith(
        "ALTER TABLE [workcube_cf].[dbo].[SETUP_CODES] ADD CONSTRAINT [PK_SETUP_CODES] PRIMARY KEY CLUSTERED ([CODE]);")


def test_duplicate_index(findings):
    found = findings["schema.duplicate_index"]
    assert set(found) == {"workcube_cf.dbo.ORDERS.IX_ORDERS_ORDER_ID"}
    assert found["workcube_cf.dbo.ORDERS.IX_ORDERS_ORDER_ID"].recommendation.endswith(
        "DROP INDEX [IX_ORDERS_ORDER_ID] ON [workcube_cf].[dbo].[ORDERS];")


def test_redundant_index(findings):
    found = findings["schema.redundant_index"]
    assert set(found) == {"workcube_cf.dbo.ORDERS.IX_ORDERS_COMPANY"}
    assert found["workcube_cf.dbo.ORDERS.IX_ORDERS_COMPANY"].evidence["covered_by"] == \
        "IX_ORDERS_COMPANY_DATE (COMPANY_ID, ORDER_DATE) INCLUDE (TOTAL)"


def test_unindexed_foreign_key(findings):
    found = grouped(findings["schema.unindexed_foreign_key"]["workcube_cf"], "foreign_keys")
    assert set(found) == {"workcube_cf.dbo.INVOICE.FK_INVOICE_COMPANY"}
    assert found["workcube_cf.dbo.INVOICE.FK_INVOICE_COMPANY"]["fix"].endswith(
        "CREATE NONCLUSTERED INDEX [ix_INVOICE_COMPANY_ID] ON [workcube_cf].[dbo].[INVOICE] ([COMPANY_ID]);")


def test_repeating_columns(findings):
    assert set(findings["schema.repeating_columns"]) == {"workcube_cf.dbo.CONTACTS"}


def test_period_table_sprawl(findings):
    found = findings["schema.period_table_sprawl"]
    assert set(found) == {"workcube_cf.dbo.WRK_VISIT_YYYY_MM"}
    assert found["workcube_cf.dbo.WRK_VISIT_YYYY_MM"].evidence["span"] == "2012-01..2012-03"


def test_inconsistent_column_type(findings):
    found = findings["schema.inconsistent_column_type"]
    assert set(found) == {"workcube_cf.*.*.BRANCH_ID"}
    branch = found["workcube_cf.*.*.BRANCH_ID"]
    assert branch.evidence["variants"] == {"int": 2, "nvarchar": 1}
    assert branch.recommendation.endswith("ALTER TABLE [workcube_cf].[dbo].[INVOICE] ALTER COLUMN [BRANCH_ID] int NULL;")


def test_wide_table(findings):
    assert set(grouped(findings["schema.wide_table"]["workcube_cf"])) == {"workcube_cf.dbo.CUSTOMER_CARD"}


def test_columnstore_columns_have_no_key_order():
    catalog = build_catalog("mssql", "workcube_cf", CATALOGS["workcube_cf"].rows)
    orders = next(t for t in catalog.tables if t.name == "ORDERS")
    columnstore = next(i for i in orders.indexes if i.name == "NCCI_ORDERS")
    assert columnstore.key_columns == ()
    assert columnstore.included == {"ORDER_ID", "COMPANY_ID", "TOTAL"}


@pytest.mark.mssql_live
@pytest.mark.skipif(not os.environ.get("L4_MSSQL_DSN"), reason="set L4_MSSQL_DSN to run against SQL Server")
def test_live_sql_server_catalog_read_and_checks():
    """Reads the catalog of L4_MSSQL_DSN's database (L4_MSSQL_PASSWORD in the environment) and
    runs every schema check: each statement must run and every finding be well formed."""
    from l4agent.dbaccess.connection import connect

    config = parse_config({"databases": [{"name": "live", "engine": "mssql", "dsn": os.environ["L4_MSSQL_DSN"],
                                          "password_env": "L4_MSSQL_PASSWORD"}]}, "live.toml")
    db = connect(config.databases[0])
    try:
        for check in select(("schema",)):
            ctx = CheckContext(config, options_for(check, config.diagnostics), "live", target=config.databases[0],
                               db=db)
            for finding in check.run(ctx):
                assert finding.object.count(".") >= 2 and finding.recommendation
        assert read_catalog(ctx).tables is not None
    finally:
        db.close()
