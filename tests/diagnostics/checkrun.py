"""Helpers for the perf.* and backup.* check tests.

- ``db_config(server, database, ...)``: a Config with one target on a real test server, reached
  as the least-privilege monitor user (its password through ``password_env``).
- ``run_check(check_id, config)``: the real runner, one check; ``findings_of(result)`` asserts
  the check did not fail and returns its findings.
- ``DmvConnection`` / ``run_mssql(...)``: SQL Server cannot run here, so a check's result
  handling is driven with rows shaped exactly like its statement's SELECT list (the test fails
  if a row's columns differ from the statement's, or if the parameters do not match its ``?``).
- ``archiving_pg()``: one throwaway PostgreSQL with archive_mode on, shared by the archive tests.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import sqlglot

from l4agent.agent.configuration import parse_config
from l4agent.core.config import Config
from l4agent.dbaccess.engines import quote_mssql
from l4agent.diagnostics.base import CheckContext, Finding
from l4agent.diagnostics.options import options_for
from l4agent.diagnostics.registry import by_id
from l4agent.diagnostics.runner import DiagnoseResult, run_diagnostics

PASSWORD_ENV = {"postgresql": "L4T_PG_MONITOR_PASSWORD", "mysql": "L4T_MARIADB_MONITOR_PASSWORD"}
MSSQL_DSN = "DRIVER={ODBC Driver 18 for SQL Server};SERVER=db1;DATABASE=erp;UID=l4;Encrypt=yes"


def db_config(server, database: str | None, *, name: str = "db", diagnostics: dict | None = None,
              **target: Any) -> Config:
    """A Config whose only target is ``database`` on ``server``, as the monitor user."""
    env = PASSWORD_ENV[server.engine]
    os.environ[env] = server.monitor_password
    entry = {"name": name, "engine": server.engine, "dsn": server.agent_dsn(database), "password_env": env,
             "query_timeout": "20s", **target}
    return parse_config({"databases": [entry], "diagnostics": diagnostics or {}}, "<test>")


def run_check(check_id: str, config: Config) -> DiagnoseResult:
    return run_diagnostics(config, [check_id])


def findings_of(result: DiagnoseResult) -> list[Finding]:
    """The findings of a run whose checks all succeeded."""
    assert result.errors == [], result.errors
    return result.findings


def objects(findings: Iterable[Finding]) -> set[str]:
    return {f.object for f in findings}


def one(findings: Iterable[Finding], obj: str) -> Finding:
    matching = [f for f in findings if f.object == obj]
    assert len(matching) == 1, (obj, [f.object for f in findings])
    return matching[0]


# -- SQL Server: rows shaped like the statements' SELECT lists ---------------------------------


def select_columns(sql: str) -> list[str]:
    """The output column names of a T-SQL statement, lower-cased, as sqlglot reads them."""
    return [name.lower() for name in sqlglot.parse_one(sql, read="tsql").named_selects]


class DmvConnection:
    """Stands in for a SQL Server Connection: returns the given rows for each named statement.

    ``rows`` maps a statement name (or ``(name, catalog)``) to its rows, or to a function of the
    parameters that returns them (or raises). Every row must carry
    exactly the statement's output columns, and ``params`` must match its ``?`` markers.
    """

    def __init__(self, check, rows: dict[Any, list[dict[str, Any]]]):
        self.check = check
        self.rows = rows
        self.calls: list[tuple[str, tuple, str | None]] = []
        self.names = {sql: name for name, sql in check.queries["mssql"].items()}

    def quote(self, identifier: str) -> str:
        return quote_mssql(identifier)

    def query(self, sql: str, params=(), catalog: str | None = None, max_rows: int | None = None,
              timeout: float | None = None):
        name = self.names[sql]
        assert sql.count("?") == len(params), f"{name}: {sql.count('?')} markers, {len(params)} params"
        self.calls.append((name, tuple(params), catalog))
        rows = self.rows.get((name, catalog), self.rows.get(name, []))
        if callable(rows):  # rows by parameters (may raise, e.g. a DatabaseError)
            rows = rows(tuple(params))
        columns = select_columns(sql)
        for row in rows:
            assert sorted(row) == sorted(columns), f"{name}: row has {sorted(row)}, statement returns {sorted(columns)}"
        return [dict(r) for r in rows][: max_rows or None]


def run_mssql(check_id: str, rows: dict[Any, list[dict[str, Any]]], *, diagnostics: dict | None = None,
              **target: Any) -> tuple[list[Finding], DmvConnection]:
    """Run one check's ``run()`` on DMV-shaped rows for an mssql target named "erp"."""
    entry = {"name": "erp", "engine": "mssql", "dsn": MSSQL_DSN, "password_env": "L4T_UNUSED", **target}
    config = parse_config({"databases": [entry], "diagnostics": diagnostics or {}}, "<test>")
    check = by_id(check_id)
    db = DmvConnection(check, rows)
    ctx = CheckContext(config, options_for(check, config.diagnostics), "testhost", target=config.databases[0], db=db)
    return list(check.run(ctx)), db


def run_mssql_ctx(check_id: str, rows: dict[Any, list[dict[str, Any]]], *, diagnostics: dict | None = None,
                  **target: Any) -> tuple[list[Finding], DmvConnection, CheckContext]:
    """:func:`run_mssql`, also returning the context (its coverage: what was not examined)."""
    entry = {"name": "erp", "engine": "mssql", "dsn": MSSQL_DSN, "password_env": "L4T_UNUSED", **target}
    config = parse_config({"databases": [entry], "diagnostics": diagnostics or {}}, "<test>")
    check = by_id(check_id)
    db = DmvConnection(check, rows)
    ctx = CheckContext(config, options_for(check, config.diagnostics), "testhost", target=config.databases[0], db=db)
    return list(check.run(ctx)), db, ctx


# -- background sessions ---------------------------------------------------------------------


class Background:
    """Run ``work()`` in a thread (e.g. a statement that blocks or sleeps); join() re-raises."""

    def __init__(self, work: Callable[[], Any]):
        self.error: BaseException | None = None

        def target():
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - handed to join()
                self.error = exc

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def join(self, timeout: float = 30.0, expect_error: bool = False) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "background statement did not finish"
        if self.error is not None and not expect_error:
            raise self.error


# -- a PostgreSQL with WAL archiving ------------------------------------------------------------

_archiving: dict[str, Any] = {}
_archiving_lock = threading.Lock()


def archiving_pg():
    """A started PostgreSQL with archive_mode = on (archive_command 'true' to begin with),
    shared by the archive tests of this session; closed at exit by the server class itself."""
    from tests.support.dbservers import PostgresServer

    with _archiving_lock:
        server = _archiving.get("server")
        if server is None:
            server = PostgresServer(extra_settings={"archive_mode": "on", "archive_command": "'true'",
                                                    "wal_level": "replica"})
            server.start()
            _archiving["server"] = server
        return server


def switch_wal(server) -> None:
    """Write a little WAL and close the segment, so the archiver has a file to archive."""
    server.execute_admin(["CREATE TABLE IF NOT EXISTS wal_churn (i int)", "INSERT INTO wal_churn VALUES (1)",
                          "SELECT pg_switch_wal()"])


def archiver_counts(server) -> tuple[int, int]:
    row = server.execute_admin("SELECT archived_count, failed_count FROM pg_stat_archiver")[0]
    return int(row[0]), int(row[1])


def set_archive_command(server, command: str, wait_for: str) -> None:
    """Set archive_command (reload only), switch a segment, and wait until the archiver has
    ``wait_for`` ("archived" or "failed") it."""
    import time

    server.execute_admin([f"ALTER SYSTEM SET archive_command = '{command}'", "SELECT pg_reload_conf()"])
    time.sleep(0.3)  # the archiver reads the new setting on its next wake-up
    before = archiver_counts(server)
    switch_wal(server)
    index = 0 if wait_for == "archived" else 1
    deadline = time.monotonic() + 30
    while archiver_counts(server)[index] <= before[index]:
        assert time.monotonic() < deadline, f"archiver never {wait_for} a segment"
        time.sleep(0.1)


@contextlib.contextmanager
def references_granted(server, schema: str):
    """GRANT REFERENCES on ``schema`` to the MariaDB monitor user (what the README asks for), and
    revoke it afterwards: grants outlive DROP DATABASE and the server is shared by the session."""
    accounts = [f"'{server.monitor_user}'@'{host}'" for host in ("127.0.0.1", "localhost")]
    server.execute_admin([f"GRANT REFERENCES ON `{schema}`.* TO {account}" for account in accounts])
    try:
        yield
    finally:
        server.execute_admin([f"REVOKE REFERENCES ON `{schema}`.* FROM {account}" for account in accounts])
