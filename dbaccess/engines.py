"""What differs between the three engines at the connection level: session set-up (read-only,
lock and statement timeouts), connection-string defaults, how to reach another catalog, how to
quote an identifier, and which package provides the ODBC driver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def quote_mssql(name: str) -> str:
    """QUOTENAME's rule: wrap in brackets, double any closing bracket."""
    return "[" + name.replace("]", "]]") + "]"


def quote_postgresql(name: str) -> str:
    """quote_ident's rule: wrap in double quotes, double any double quote."""
    return '"' + name.replace('"', '""') + '"'


def quote_mysql(name: str) -> str:
    """MySQL/MariaDB's rule: wrap in backticks, double any backtick."""
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class Engine:
    name: str
    #: statements run once per new connection; {lock_ms}/{lock_s} and {statement_ms}/{statement_s} filled in
    session_setup: tuple[str, ...]
    #: True: a catalog is reached by reconnecting with DATABASE=...; False: by USE
    reconnect_per_catalog: bool
    quote: Callable[[str], str]
    #: the Debian package to install when no driver name in the DSN says otherwise
    driver_package: str
    #: DSN keyword that names the database
    database_key: str = "DATABASE"
    #: connection-string keys added unless the DSN sets them; {login_timeout_s}, {read_timeout_s} filled in
    dsn_defaults: tuple[tuple[str, str], ...] = ()
    #: the catalog server-scoped statements run in (SQL Server: master); None: the DSN's own
    server_catalog: str | None = None
    #: asks the session which catalog it is in (run once at open: the DSN's own catalog)
    current_catalog_sql: str | None = None

    def use_statement(self, catalog: str) -> str:
        return f"USE {self.quote(catalog)}"


ENGINES = {
    "mssql": Engine(
        name="mssql",
        session_setup=(
            "SET LOCK_TIMEOUT {lock_ms}",
            "SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED",  # DMV reads never wait on writers
            "SET DEADLOCK_PRIORITY LOW",
        ),
        reconnect_per_catalog=False,
        quote=quote_mssql,
        driver_package="msodbcsql18 (Microsoft's Debian repository) or tdsodbc (FreeTDS, Debian)",
        # No ApplicationIntent default: ReadWrite (the driver's default) reaches the primary, whose
        # DMVs and msdb describe the server that does the work. The session stays read-only by what
        # it runs. ApplicationIntent=ReadOnly in the DSN is an explicit opt-in (a readable
        # secondary's own DMVs; see docs/sqlserver.md).
        server_catalog="master",
        current_catalog_sql="SELECT DB_NAME() AS catalog_name",
    ),
    "postgresql": Engine(
        name="postgresql",
        session_setup=(
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            "SET lock_timeout = {lock_ms}",
            "SET statement_timeout = {statement_ms}",
            "SET application_name = 'l4agent'",
        ),
        reconnect_per_catalog=True,
        quote=quote_postgresql,
        driver_package="odbc-postgresql",
        # Debian's odbcinst.ini turns CommLog on: every process would leave a world-readable
        # /tmp/psqlodbc_*.log behind.
        dsn_defaults=(("CommLog", "0"), ("Debug", "0")),
    ),
    "mysql": Engine(
        name="mysql",
        session_setup=(
            "SET SESSION TRANSACTION READ ONLY",
            "SET SESSION innodb_lock_wait_timeout = {lock_s}",
            "SET SESSION lock_wait_timeout = {lock_s}",
            "SET SESSION max_statement_time = {statement_s}",
        ),
        reconnect_per_catalog=False,
        quote=quote_mysql,
        driver_package="odbc-mariadb",
        # Connector/ODBC ignores the ODBC login-timeout attribute: CONN_TIMEOUT bounds the
        # connect and handshake (a server that accepts but never greets), READ/WRITE_TIMEOUT a
        # server that freezes mid-query (max_statement_time, server-side, fires first).
        dsn_defaults=(("CONN_TIMEOUT", "{login_timeout_s}"), ("READ_TIMEOUT", "{read_timeout_s}"),
                      ("WRITE_TIMEOUT", "{read_timeout_s}")),
    ),
}

# ODBC driver names (lower case, as in odbcinst.ini or a DSN) and the package providing each.
_DRIVER_PACKAGES = (
    ("odbc driver 18 for sql server", "msodbcsql18 (Microsoft's Debian repository)"),
    ("odbc driver 17 for sql server", "msodbcsql17 (Microsoft's Debian repository)"),
    ("freetds", "tdsodbc"),
    ("postgresql", "odbc-postgresql"),
    ("mariadb", "odbc-mariadb"),
    ("mysql", "odbc-mariadb"),
)


def driver_package(driver: str | None, engine: Engine) -> str:
    """The package that provides ODBC driver ``driver`` (by name), else the engine's usual one."""
    lowered = (driver or "").lower()
    for fragment, package in _DRIVER_PACKAGES:
        if fragment in lowered:
            return package
    return engine.driver_package
