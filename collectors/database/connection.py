"""Connections to a ``[[databases]]`` target through pyodbc, shared by the collector and the checks.

The password is read from password_env/password_file when connecting and joined to the DSN in
memory only. Every session is set up read-only with lock and statement timeouts (see
``engines``). Errors come out as :class:`DatabaseError` with one clear, secret-free line.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from typing import Any

from agent.config import DatabaseConfig
from agent.redact import redact, register_secret
from collectors.database.engines import ENGINES, Engine

log = logging.getLogger(__name__)


class DatabaseError(Exception):
    """A database failure, described in one line without secrets. ``kind`` is one of
    driver_missing, login_failed, unreachable, timeout, permission, query, closed."""

    def __init__(self, message: str, kind: str = "query"):
        super().__init__(redact(message))
        self.kind = kind


def odbc_quote(value: str) -> str:
    """An ODBC connection-string value, braced so that ';' and '}' in it are safe."""
    return "{" + value.replace("}", "}}") + "}"


def with_key(dsn: str, key: str, value: str) -> str:
    """``dsn`` with ``key=value`` set (replacing an existing one, case-insensitively)."""
    pattern = re.compile(rf"(?i)(^|;)\s*{re.escape(key)}\s*=\s*(\{{(?:[^}}]|}}}})*\}}|[^;]*)")
    entry = f"{key}={value}"
    if pattern.search(dsn):
        return pattern.sub(lambda m: m.group(1) + entry, dsn, count=1)
    return f"{dsn.rstrip(';')};{entry}"


def dsn_value(dsn: str, key: str) -> str | None:
    match = re.search(rf"(?i)(?:^|;)\s*{re.escape(key)}\s*=\s*(\{{(?:[^}}]|}}}})*\}}|[^;]*)", dsn)
    if not match:
        return None
    value = match.group(1).strip()
    return value[1:-1].replace("}}", "}") if value.startswith("{") else value


def describe_error(exc: Exception, target: DatabaseConfig, timeout: float | None = None) -> DatabaseError:
    """Turn a pyodbc error into one line a specialist understands, naming the target."""
    state = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    text = " ".join(str(a) for a in exc.args[1:]) if len(exc.args) > 1 else str(exc)
    lowered = text.lower()
    where = f"database {target.name!r}"
    engine = ENGINES[target.engine]
    if state == "IM002" or "can't open lib" in lowered or "file not found" in lowered and "lib" in lowered:
        driver = dsn_value(target.dsn, "DRIVER") or "(none named)"
        return DatabaseError(f"{where}: ODBC driver {driver} is not installed; install the Debian package "
                             f"{engine.driver_package} (odbcinst -q -d lists the installed drivers)", "driver_missing")
    if state in ("28000", "28P01") or "password authentication failed" in lowered or "access denied" in lowered \
            or "login failed" in lowered:
        user = dsn_value(target.dsn, "UID") or dsn_value(target.dsn, "USER") or "?"
        return DatabaseError(f"{where}: login failed for user {user!r} (wrong password or no access)", "login_failed")
    if state in ("HYT00", "HYT01", "57014") or "timeout" in lowered or "canceling statement" in lowered \
            or "max_statement_time" in lowered or "query execution was interrupted" in lowered:
        limit = f" after {timeout:g}s" if timeout else ""
        return DatabaseError(f"{where}: query timed out{limit}", "timeout")
    if state.startswith("08") or "could not connect" in lowered or "can't connect" in lowered \
            or "connection refused" in lowered or "server closed the connection" in lowered \
            or "no connection to the server" in lowered or "lost connection" in lowered:
        server = dsn_value(target.dsn, "SERVER") or "?"
        port = dsn_value(target.dsn, "PORT")
        address = f"{server}:{port}" if port else server
        return DatabaseError(f"{where}: cannot reach {address}: {_first_line(text)}", "unreachable")
    if state == "42501" or "permission denied" in lowered or "command denied" in lowered:
        return DatabaseError(f"{where}: permission denied: {_first_line(text)}", "permission")
    return DatabaseError(f"{where}: {_first_line(text)} (SQLSTATE {state or '?'})", "query")


def _first_line(text: str) -> str:
    # Drop the driver's bracketed prefixes: "[unixODBC][Driver]..." -> the message itself.
    text = re.sub(r"^(\[[^\]]*\])+\s*", "", text.strip())
    return text.splitlines()[0][:300] if text else "unknown error"


class Connection:
    """A target's connection(s). One catalog at a time per call; thread-safe by a lock.

    ``query(sql, params, catalog=...)`` runs on ``catalog`` (the DSN's own database when None):
    PostgreSQL gets a connection per catalog, the others switch with ``USE``.
    """

    def __init__(self, target: DatabaseConfig, lock_timeout: float | None = None):
        self.target = target
        self.engine: Engine = ENGINES[target.engine]
        self.lock_timeout = lock_timeout if lock_timeout is not None else min(5.0, target.query_timeout)
        self._handles: dict[str | None, Any] = {}
        self._current_catalog: str | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- connecting ------------------------------------------------------------------------

    def _connection_string(self, catalog: str | None) -> str:
        dsn = self.target.dsn
        if catalog is not None:
            dsn = with_key(dsn, self.engine.database_key, odbc_quote(catalog))
        if self.engine.name == "mssql" and dsn_value(dsn, "ApplicationIntent") is None:
            dsn = with_key(dsn, "ApplicationIntent", "ReadOnly")
        try:
            password = self.target.password()
        except OSError as exc:
            raise DatabaseError(f"database {self.target.name!r}: cannot read password_file: {exc.strerror}",
                                "login_failed") from None
        if self.target.password_env and password is None:
            raise DatabaseError(f"database {self.target.name!r}: environment variable "
                                f"{self.target.password_env} is not set", "login_failed")
        if password:
            register_secret(password)
            dsn = with_key(dsn, "PWD", odbc_quote(password))
        return dsn

    def _open(self, catalog: str | None) -> Any:
        import pyodbc

        try:
            handle = pyodbc.connect(self._connection_string(catalog), timeout=max(1, int(self.target.login_timeout)),
                                    autocommit=True)
        except pyodbc.Error as exc:
            raise describe_error(exc, self.target) from None
        try:
            handle.timeout = max(1, int(round(self.target.query_timeout)))  # SQL_ATTR_QUERY_TIMEOUT
        except pyodbc.Error:
            pass  # psqlodbc refuses it; the session's statement_timeout bounds queries there
        values = {
            "lock_ms": int(self.lock_timeout * 1000),
            "lock_s": max(1, int(round(self.lock_timeout))),
            "statement_ms": int(self.target.query_timeout * 1000),
            "statement_s": f"{self.target.query_timeout:g}",
        }
        cursor = handle.cursor()
        try:
            for statement in self.engine.session_setup:
                cursor.execute(statement.format(**values))
        except pyodbc.Error as exc:
            handle.close()
            raise describe_error(exc, self.target) from None
        finally:
            cursor.close()
        return handle

    def _handle_for(self, catalog: str | None) -> Any:
        key = catalog if self.engine.reconnect_per_catalog else None
        handle = self._handles.get(key)
        if handle is None:
            handle = self._handles[key] = self._open(catalog if self.engine.reconnect_per_catalog else None)
            self._current_catalog = None
        return handle

    # -- querying --------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = (), catalog: str | None = None,
              max_rows: int | None = None) -> list[dict[str, Any]]:
        """Rows of ``sql`` as dicts keyed by lower-case column name, at most ``max_rows``."""
        import pyodbc

        with self._lock:
            if self._closed:
                raise DatabaseError(f"database {self.target.name!r}: connection closed", "closed")
            handle = self._handle_for(catalog)
            started = time.monotonic()
            cursor = handle.cursor()
            try:
                if catalog is not None and not self.engine.reconnect_per_catalog and catalog != self._current_catalog:
                    cursor.execute(self.engine.use_statement(catalog))
                    self._current_catalog = catalog
                cursor.execute(sql, *params) if params else cursor.execute(sql)
                # Some statements (multi-statement batches) yield result sets after counts.
                while cursor.description is None and cursor.nextset():
                    pass
                if cursor.description is None:
                    return []
                columns = [c[0].lower() for c in cursor.description]
                rows = cursor.fetchmany(max_rows) if max_rows else cursor.fetchall()
                return [dict(zip(columns, row, strict=True)) for row in rows]
            except pyodbc.Error as exc:
                error = describe_error(exc, self.target, self.target.query_timeout)
                if error.kind in ("unreachable", "timeout"):
                    self._drop(catalog)  # a broken or cancelled handle is not reused
                raise error from None
            finally:
                try:
                    cursor.close()
                except pyodbc.Error:
                    pass
                log.debug("%s: query took %.3fs", self.target.name, time.monotonic() - started)

    def scalar(self, sql: str, params: Sequence[Any] = (), catalog: str | None = None) -> Any:
        rows = self.query(sql, params, catalog=catalog, max_rows=1)
        return next(iter(rows[0].values())) if rows else None

    def quote(self, identifier: str) -> str:
        """``identifier`` quoted by the engine's own rules (never concatenate a raw name)."""
        return self.engine.quote(identifier)

    def _drop(self, catalog: str | None) -> None:
        key = catalog if self.engine.reconnect_per_catalog else None
        handle = self._handles.pop(key, None)
        self._current_catalog = None
        if handle is not None:
            try:
                handle.close()
            except Exception:  # noqa: BLE001, S110 - already broken
                pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for key in list(self._handles):
                self._drop(key)


def connect(target: DatabaseConfig) -> Connection:
    """A Connection for ``target`` with its default catalog opened (raises DatabaseError)."""
    connection = Connection(target)
    with connection._lock:
        connection._handle_for(None)
    return connection
