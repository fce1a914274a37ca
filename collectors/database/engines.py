"""What differs between the three engines at the connection level: session set-up (read-only,
lock and statement timeouts), how to reach another catalog, how to quote an identifier, and
which package provides the ODBC driver."""

from __future__ import annotations

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
    #: statements run once per new connection; {lock_ms} and {statement_ms}/{statement_s} filled in
    session_setup: tuple[str, ...]
    #: True: a catalog is reached by reconnecting with DATABASE=...; False: by USE
    reconnect_per_catalog: bool
    quote: object
    driver_package: str
    #: DSN keyword that names the database
    database_key: str = "DATABASE"

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
    ),
}
