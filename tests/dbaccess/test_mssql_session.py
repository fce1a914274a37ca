"""SQL Server sessions through the real Connection over a recording ODBC stand-in
(tests/support/fake_mssql.py): the database context of every statement, the connection-string
defaults, and the one line a Driver 18 certificate failure becomes.

Issue 16 items 1 (catalog leak), 2 (certificate not trusted) and 3 (ReadOnly intent by default).
https://learn.microsoft.com/sql/t-sql/language-elements/use-transact-sql
https://learn.microsoft.com/sql/connect/odbc/major-version-differences
https://learn.microsoft.com/sql/database-engine/availability-groups/windows/listeners-client-connectivity-application-failover
"""

from __future__ import annotations

import pyodbc
import pytest

from l4agent.core.config import DatabaseConfig
from l4agent.dbaccess.connection import DatabaseError, connect, describe_error, dsn_value
from tests.support.fake_mssql import FakeServer

DSN = "DRIVER={ODBC Driver 18 for SQL Server};SERVER=db1;DATABASE=workcube_cf;UID=l4"


def mssql_target(dsn: str = DSN, **overrides) -> DatabaseConfig:
    return DatabaseConfig(name="erp", engine="mssql", dsn=dsn, **overrides)


@pytest.fixture
def server(monkeypatch):
    return FakeServer().install(monkeypatch)


def test_catalog_none_goes_back_to_the_dsn_catalog_after_a_use(server):
    """Before: query(catalog=None) ran in whatever catalog the previous statement USEd, so
    workcube_cf was read from workcube_cf_1 and labelled workcube_cf."""
    db = connect(mssql_target())
    try:
        assert db.default_catalog == "workcube_cf"
        db.query("SELECT 1 AS one", catalog="workcube_cf_1")
        db.query("SELECT 2 AS two")
        db.query("SELECT 3 AS three", catalog=db.server_catalog)
        db.query("SELECT 4 AS four")
    finally:
        db.close()
    ran = [(e.database, e.sql) for e in server.statements()]
    assert ran == [("workcube_cf_1", "SELECT 1 AS one"), ("workcube_cf", "SELECT 2 AS two"),
                   ("master", "SELECT 3 AS three"), ("workcube_cf", "SELECT 4 AS four")]


def test_dsn_without_database_keeps_the_login_default_catalog(server):
    db = connect(mssql_target("DRIVER={ODBC Driver 18 for SQL Server};SERVER=db1;UID=l4"))
    try:
        db.query("SELECT 1 AS one", catalog="erp_1")
        db.query("SELECT 2 AS two")
    finally:
        db.close()
    assert [e.database for e in server.statements()] == ["erp_1", "master"]


def test_use_quotes_the_catalog_name(server):
    db = connect(mssql_target())
    try:
        db.query("SELECT 1 AS one", catalog="odd]name")
    finally:
        db.close()
    assert any(e.sql == "USE [odd]]name]" for e in server.executed)


def test_offline_catalog_is_one_clear_error_and_the_session_goes_on(server):
    server.unavailable["erp_old"] = "offline"
    db = connect(mssql_target())
    try:
        with pytest.raises(DatabaseError, match="Database 'erp_old' cannot be opened because it is offline"):
            db.query("SELECT 1 AS one", catalog="erp_old")
        db.query("SELECT 2 AS two")
    finally:
        db.close()
    assert [e.database for e in server.statements()] == ["workcube_cf"]


def test_application_intent_is_read_write_unless_the_dsn_opts_in(server):
    """Before: ApplicationIntent=ReadOnly was added to every DSN, landing on a readable secondary."""
    connect(mssql_target()).close()
    assert dsn_value(server.dsns[-1], "ApplicationIntent") is None  # the driver's default: ReadWrite
    connect(mssql_target(DSN + ";ApplicationIntent=ReadOnly")).close()
    assert dsn_value(server.dsns[-1], "ApplicationIntent") == "ReadOnly"


# Driver 18 on Linux (OpenSSL) and SChannel texts for an untrusted or misnamed server certificate.
CERTIFICATE_ERRORS = [
    ("08001", "[Microsoft][ODBC Driver 18 for SQL Server]SSL Provider: [error:0A000086:SSL routines::certificate "
              "verify failed:self-signed certificate] (-1) (SQLDriverConnect)"),
    ("08001", "[Microsoft][ODBC Driver 18 for SQL Server]SSL Provider: [error:0A000086:SSL routines::certificate "
              "verify failed:unable to get local issuer certificate] (-1) (SQLDriverConnect)"),
    ("08001", "[Microsoft][ODBC Driver 18 for SQL Server]SSL Provider: The certificate chain was issued by an "
              "authority that is not trusted. (-2146893019) (SQLDriverConnect)"),
]


@pytest.mark.parametrize(("state", "text"), CERTIFICATE_ERRORS)
def test_untrusted_certificate_says_so_and_names_the_settings(state, text):
    """Before: "cannot reach db1: SSL Provider: ..." with no hint."""
    error = describe_error(pyodbc.Error(state, text), mssql_target(), login=True)
    message = str(error)
    assert "certificate of db1 not trusted" in message
    assert "TrustServerCertificate=yes" in message and "HostNameInCertificate" in message
    assert "cannot reach" not in message


def test_certificate_for_another_host_points_at_host_name_in_certificate():
    text = ("[Microsoft][ODBC Driver 18 for SQL Server]SSL Provider: [error:0A000086:SSL routines::certificate verify "
            "failed:hostname mismatch] (-1) (SQLDriverConnect)")
    message = str(describe_error(pyodbc.Error("08001", text), mssql_target(), login=True))
    assert "names another host" in message and "HostNameInCertificate=" in message
