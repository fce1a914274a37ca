"""Every T-SQL statement of the security.* checks parses as T-SQL, names only documented
catalog-view columns, and the helpers that check this do catch a wrong column."""

from __future__ import annotations

import pytest
import sqlglot

from l4agent.diagnostics.registry import select
from tests.diagnostics.security_helpers import DOCUMENTED_COLUMNS, tsql_columns, tsql_projection

STATEMENTS = [(check.id, name, sql) for check in select(("security",))
              for name, sql in check.queries.get("mssql", {}).items()]


def test_every_sql_server_security_check_has_statements():
    assert {check_id for check_id, _, _ in STATEMENTS} == {
        "security.sa_enabled", "security.weak_login", "security.sysadmin_members", "security.xp_cmdshell",
        "security.trustworthy_database", "security.unencrypted_connections", "security.guest_access"}


@pytest.mark.parametrize(("check_id", "name", "sql"), STATEMENTS, ids=[f"{c}:{n}" for c, n, _ in STATEMENTS])
def test_statement_parses_and_names_documented_columns(check_id, name, sql):
    columns = tsql_columns(sql)
    assert columns, "the statement reads no catalog-view column through an alias"
    unknown = [(view, column) for view, column in columns if column not in DOCUMENTED_COLUMNS[view]]
    assert unknown == []
    assert tsql_projection(sql)  # a SELECT with named outputs


def test_a_misspelt_column_is_caught():
    sql = "SELECT sp.name, sp.is_disabeld FROM sys.server_principals AS sp"
    assert ("sys.server_principals", "is_disabeld") in tsql_columns(sql)
    assert "is_disabeld" not in DOCUMENTED_COLUMNS["sys.server_principals"]


def test_broken_tsql_does_not_parse():
    with pytest.raises(sqlglot.errors.ParseError):
        tsql_columns("SELECT sp.name FROM sys.server_principals AS sp WHERE (sp.sid = 0x01")
