"""Issue 15, "one finding per problem" and the ERP's own shapes, on real PostgreSQL and MariaDB:
each planted defect beside a clean twin the check must not flag.

- 300 heap tables are one finding (the catalog), and ``diagnose`` prints them in one screen;
- two copies of an index that both lead a wider one give one finding, not three;
- generic machine-made column names (c0..cN, col1..colN, field_1..) are no repeating group;
- a column name typed int in its primary key and varchar elsewhere (1:1) converges on the key's
  type, never re-types the key; a tie without a key gets no statement to run;
- (PostgreSQL) a partial index ``WHERE col IS NOT NULL`` serves its foreign key.
"""

from __future__ import annotations

import pytest

from tests.diagnostics.schema_support import PASSWORD_ENV, planted, planted_fixture

COMMON = [
    # duplicate AND redundant: two copies of (placed), both a left prefix of (placed, total)
    "CREATE TABLE orders (id int NOT NULL PRIMARY KEY, placed date, total numeric(12,2), note varchar(20))",
    "CREATE INDEX ix_orders_placed ON orders (placed)",
    "CREATE INDEX ix_orders_placed_2 ON orders (placed)",
    "CREATE INDEX ix_orders_placed_total ON orders (placed, total)",
    # twin: a plain duplicate pair with no wider index
    "CREATE INDEX ix_orders_note ON orders (note)",
    "CREATE INDEX ix_orders_note_2 ON orders (note)",
    # generic positional names: an import table; and the twin, a real repeating group
    "CREATE TABLE import_rows (id int NOT NULL PRIMARY KEY, c0 varchar(10), c1 varchar(10), c2 varchar(10), "
    "c3 varchar(10), col1 int, col2 int, col3 int, field_1 text, field_2 text, field_3 text)",
    "CREATE TABLE contacts (id int NOT NULL PRIMARY KEY, phone1 varchar(20), phone2 varchar(20), phone3 varchar(20))",
    # employee_id: int primary key in employees, varchar(20) in one other table (a 1:1 tie)
    "CREATE TABLE employees (employee_id int NOT NULL PRIMARY KEY, title varchar(50))",
    "CREATE TABLE assignments (id int NOT NULL PRIMARY KEY, employee_id varchar(20))",
    # region_code: a 1:1 tie with no key on either side
    "CREATE TABLE depots (id int NOT NULL PRIMARY KEY, region_code int)",
    "CREATE TABLE routes (id int NOT NULL PRIMARY KEY, region_code varchar(10))",
]
DDL = {
    "postgresql": [
        *COMMON,
        "CREATE TABLE companies (id int NOT NULL PRIMARY KEY)",
        # the ERP's shape: the only index on the FK is partial, WHERE company_id IS NOT NULL
        "CREATE TABLE visits (id int NOT NULL PRIMARY KEY, company_id int REFERENCES companies (id))",
        "CREATE INDEX ix_visits_company ON visits (company_id) WHERE company_id IS NOT NULL",
        # twin: partial on another condition does not serve every lookup
        "CREATE TABLE calls (id int NOT NULL PRIMARY KEY, company_id int REFERENCES companies (id), open boolean)",
        "CREATE INDEX ix_calls_company_open ON calls (company_id) WHERE open",
    ],
    "mysql": COMMON,
}
erp = planted_fixture(DDL)


def test_two_duplicate_indexes_leading_a_wider_one_are_one_finding(erp):
    duplicates = erp.run("schema.duplicate_index")
    redundant = erp.run("schema.redundant_index")
    placed = [f for f in duplicates + redundant if "placed" in f.object and "placed_total" not in f.object]
    assert len(placed) == 1, [(f.check, f.object) for f in placed]
    [finding] = placed
    assert finding.check == "schema.duplicate_index"
    assert finding.summary == ("index duplicates ix_orders_placed (same key columns), and both are a left "
                               "prefix of ix_orders_placed_total")
    assert "ix_orders_placed_2" in finding.recommendation and "ix_orders_placed" in finding.recommendation
    assert finding.recommendation.count("DROP") == 2 or finding.recommendation.count("DROP INDEX") == 2
    # the twin: a duplicate pair without a wider index is the plain duplicate finding
    note = [f for f in duplicates if "note" in f.object]
    assert [f.summary for f in note] == ["index duplicates ix_orders_note (same key columns)"]
    assert not [f for f in redundant if "note" in f.object]


def test_generic_positional_names_are_no_repeating_group(erp):
    found = erp.by_object("schema.repeating_columns")
    assert set(found) == {erp.obj("contacts")}


def test_a_key_is_never_retyped_and_its_type_wins_a_tie(erp):
    found = {f.object.rsplit(".", 1)[-1]: f for f in erp.run("schema.inconsistent_column_type")}
    employee = found["employee_id"]
    assert employee.recommendation.count("ALTER TABLE") == 1  # only the varchar side changes
    if erp.engine == "postgresql":
        assert '"assignments" ALTER COLUMN "employee_id" TYPE integer' in employee.recommendation
        assert '"employees" ALTER COLUMN' not in employee.recommendation
    else:
        assert "`assignments` MODIFY `employee_id` int(11) NULL;" in employee.recommendation
        assert "MODIFY `employee_id` varchar" not in employee.recommendation
    assert "the type of the primary key" in employee.recommendation
    # a tie with no key on either side: said as such, no statement to run
    region = found["region_code"]
    assert "split evenly" in region.recommendation
    assert "ALTER TABLE" not in region.recommendation


def test_partial_is_not_null_index_serves_the_foreign_key(erp):
    if erp.engine != "postgresql":
        pytest.skip("partial indexes are PostgreSQL's")
    found = erp.members("schema.unindexed_foreign_key", "foreign_keys")
    assert set(found) == {erp.obj("calls", "calls_company_id_fkey")}


HEAPS = 300


@pytest.mark.timeout(300)
@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_three_hundred_heap_tables_read_in_one_screen(engine, request, tmp_path, run_cli):
    server = request.getfixturevalue({"postgresql": "pg_server", "mysql": "mariadb_server"}[engine])
    statements = [f"CREATE TABLE heap_{n:03d} (a int, b varchar(10))" for n in range(HEAPS)]
    statements.append("CREATE TABLE keyed (id int NOT NULL PRIMARY KEY)")  # the twin
    with planted(server, statements, tmp_path) as erp:
        done = run_cli("diagnose", "-c", erp.config_path, "--check", "schema.no_primary_key",
                       env={PASSWORD_ENV[engine]: server.monitor_password})
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) <= 40, "\n".join(lines[:60])
        assert f"{HEAPS} tables without a primary key" in done.stdout
        finding = erp.group("schema.no_primary_key")
        assert finding.evidence["count"] == HEAPS
        assert not any("keyed" in str(m) for m in finding.evidence["tables"])
