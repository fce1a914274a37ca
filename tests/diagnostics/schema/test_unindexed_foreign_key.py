"""schema.unindexed_foreign_key on real PostgreSQL and MariaDB: a foreign key without an index
and a composite key whose index covers only one column are found; an index leading with the key
columns, also in another order, counts. MariaDB creates such indexes itself; the defect is
planted the way it happens there: dropped with foreign_key_checks=0."""

from __future__ import annotations

from tests.diagnostics.schema_support import planted_fixture

PARENTS = [
    "CREATE TABLE companies (id int NOT NULL PRIMARY KEY, title varchar(80))",
    "CREATE TABLE branches (company_id int NOT NULL, branch_no int NOT NULL, PRIMARY KEY (company_id, branch_no))",
]
CHILDREN = [
    # defect: no index on company_id
    "CREATE TABLE visits (id int NOT NULL PRIMARY KEY, company_id int, "
    "CONSTRAINT fk_visits_company FOREIGN KEY (company_id) REFERENCES companies (id))",
    # twin: a composite index leading with the key column covers it
    "CREATE TABLE invoices (id int NOT NULL PRIMARY KEY, company_id int, "
    "CONSTRAINT fk_invoices_company FOREIGN KEY (company_id) REFERENCES companies (id))",
    "CREATE INDEX ix_invoices_company_id ON invoices (company_id, id)",
    # defect: composite key, index on its first column only
    "CREATE TABLE stock_moves (id int NOT NULL PRIMARY KEY, company_id int, branch_no int, "
    "CONSTRAINT fk_moves_branch FOREIGN KEY (company_id, branch_no) REFERENCES branches (company_id, branch_no))",
    "CREATE INDEX ix_stock_moves_company ON stock_moves (company_id)",
    # twin: composite key covered by an index with the key columns in another order
    "CREATE TABLE shipments (id int NOT NULL PRIMARY KEY, company_id int, branch_no int, "
    "CONSTRAINT fk_shipments_branch FOREIGN KEY (company_id, branch_no) REFERENCES branches (company_id, branch_no))",
    "CREATE INDEX ix_shipments_branch ON shipments (branch_no, company_id, id)",
]
DDL = {
    "postgresql": [*PARENTS, *CHILDREN],
    "mysql": [
        *PARENTS, *CHILDREN,
        "SET SESSION foreign_key_checks = 0",
        "ALTER TABLE visits DROP INDEX fk_visits_company",
        "ALTER TABLE stock_moves DROP INDEX fk_moves_branch",
        "ALTER TABLE shipments DROP INDEX fk_shipments_branch",
        "SET SESSION foreign_key_checks = 1",
    ],
}
erp = planted_fixture(DDL)


def test_unindexed_keys_are_found_and_covered_twins_are_not(erp):
    found = erp.members("schema.unindexed_foreign_key", "foreign_keys")
    assert set(found) == {
        erp.obj("visits", "fk_visits_company"),
        erp.obj("stock_moves", "fk_moves_branch"),
    }
    finding = erp.group("schema.unindexed_foreign_key")
    assert finding.summary.startswith("2 foreign keys without an index on their columns: ")
    assert finding.severity == "warning"


def test_recommendation_is_the_covering_create_index(erp):
    found = erp.members("schema.unindexed_foreign_key", "foreign_keys")
    visits = found[erp.obj("visits", "fk_visits_company")]
    moves = found[erp.obj("stock_moves", "fk_moves_branch")]
    assert moves["columns"] == ["company_id", "branch_no"]
    assert moves["references"].endswith("branches")
    if erp.engine == "postgresql":
        assert visits["fix"] == (
            f'CREATE INDEX CONCURRENTLY "ix_visits_company_id" ON "public"."visits" ("company_id"); '
            f'(in database {erp.database})')
        assert moves["fix"].startswith('CREATE INDEX CONCURRENTLY "ix_stock_moves_company_id_branch_no" ON '
                                       '"public"."stock_moves" ("company_id", "branch_no");')
    else:
        assert visits["fix"] == f"CREATE INDEX `ix_visits_company_id` ON `{erp.database}`.`visits` (`company_id`);"
    assert erp.group("schema.unindexed_foreign_key").recommendation.endswith(
        found[next(iter(found))]["fix"])


def test_which_partial_index_predicates_serve_every_lookup():
    """As PostgreSQL prints a predicate (pg_get_expr): only IS NOT NULL on the key's columns,
    alone or ANDed, implies every `col = value` lookup."""
    from l4agent.diagnostics.schema.catalog import ForeignKey
    from l4agent.diagnostics.schema.unindexed_foreign_key import serves_every_lookup

    single = ForeignKey("fk", ("company_id",), None, "companies")
    pair = ForeignKey("fk", ("company_id", "CompanyBranch"), None, "branches")
    assert serves_every_lookup("(company_id IS NOT NULL)", single)
    assert serves_every_lookup('((company_id IS NOT NULL) AND ("CompanyBranch" IS NOT NULL))', pair)
    assert serves_every_lookup("(company_id IS NOT NULL)", pair)  # one NULL column skips the check too
    assert not serves_every_lookup("open", single)
    assert not serves_every_lookup("((company_id IS NOT NULL) OR (open))", single)
    assert not serves_every_lookup("((company_id IS NOT NULL) AND open)", single)
    assert not serves_every_lookup("(other_id IS NOT NULL)", single)
    assert not serves_every_lookup("(company_id IS NULL)", single)
    assert not serves_every_lookup(None, single)
