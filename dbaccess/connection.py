"""Connections to a ``[[databases]]`` target through pyodbc, shared by the collector and the checks.

The password is read from password_env/password_file when connecting and joined to the DSN in
memory only. Every session is set up read-only with lock and statement timeouts (see
``engines``). Errors come out as :class:`DatabaseError` with one clear, secret-free line.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Sequence
from typing import Any

from l4agent.core.config import DatabaseConfig
from l4agent.core.redact import redact, register_secret
from l4agent.dbaccess.engines import ENGINES, Engine, driver_package

log = logging.getLogger(__name__)


class DatabaseError(Exception):
    """A database failure, described in one line without secrets. ``kind`` is one of
    driver_missing, login_failed, unreachable, timeout, permission, query, closed."""

    def __init__(self, message: str, kind: str = "query"):
        super().__init__(redact(message))
        self.kind = kind


def odbc_quote(value: str) -> str:
    """An ODBC connection-string value, braced only when it must be (';', braces, edge spaces):
    psqlODBC keeps the braces of DATABASE={name} as part of the name, so plain values stay plain."""
    if value and not any(ch in value for ch in ";{}=") and value == value.strip():
        return value
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


# What the drivers say (lower case) and what it means. SQLSTATEs are checked first; these
# fragments cover drivers that report a generic state (psqlodbc: 08001 for every login failure).
_LOGIN_FAILED = ("password authentication failed", "access denied for user", "login failed for user",
                 "no pg_hba.conf entry", "authentication failed")
_CATALOG_MISSING = ("unknown database", "cannot open database", "to database '")
_LOCK_TIMEOUT = ("lock timeout", "lock wait timeout", "lock request time out")
_STATEMENT_TIMEOUT = ("statement timeout", "max_statement_time", "query timeout", "timeout expired",
                      "query execution was interrupted")
# Connector/C reports a refused connect as "Can't connect to server on 'host' (115)": the errno
# of its non-blocking connect() (EINPROGRESS), not the refusal itself.
_REFUSED = ("connection refused", "(111)", "(115) (2002)", "(115) (2003)")
_UNKNOWN_HOST = ("could not translate host name", "unknown server host", "unknown mysql server host",
                 "name or service not known")
_LOST = ("server closed the connection", "terminating connection", "lost connection", "gone away",
         "no connection to the server", "communication link failure", "connection reset",
         "could not receive data", "could not send data", "broken pipe", "connection was killed",
         "connection is closed", "the connection is broken")
# ODBC Driver 18 encrypts and verifies the server certificate by default (Driver 17 did not):
# OpenSSL's "certificate verify failed" on Linux, SChannel's chain/name texts on Windows.
_CERTIFICATE = ("certificate verify failed", "authority that is not trusted", "self-signed certificate",
                "self signed certificate", "unable to get local issuer certificate",
                "certificate has expired", "certificate is not yet valid")
_CERTIFICATE_NAME = ("target principal name is incorrect", "hostname mismatch", "host name mismatch",
                     "does not match the host name")
_PERMISSION = ("permission denied", "command denied", "access denied; you need", "permission was denied",
               "must be superuser", "insufficient privilege")


def describe_error(exc: Exception, target: DatabaseConfig, timeout: float | None = None, *,
                   login: bool = False, lock_timeout: float | None = None,
                   catalog: str | None = None) -> DatabaseError:
    """Turn a pyodbc error into one line a specialist understands, naming the target and the cause.

    ``login`` says the error came while connecting (a timeout then means an unanswered login,
    not a slow query); ``timeout``/``lock_timeout`` (seconds) are quoted in timeout messages;
    ``catalog`` names the catalog being opened, for a "does not exist" answer.
    """
    state = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    text = " ".join(str(a) for a in exc.args[1:]) if len(exc.args) > 1 else str(exc)
    lowered = text.lower()
    where = f"database {target.name!r}"
    engine = ENGINES[target.engine]
    user = dsn_value(target.dsn, "UID") or dsn_value(target.dsn, "USER") or "?"

    def has(fragments: tuple[str, ...]) -> bool:
        return any(fragment in lowered for fragment in fragments)

    if state == "IM002" or "can't open lib" in lowered or "data source name not found" in lowered:
        driver = dsn_value(target.dsn, "DRIVER") or "(none named)"
        return DatabaseError(f"{where}: ODBC driver {driver!r} is not installed; install the Debian package "
                             f"{driver_package(driver, engine)} (odbcinst -q -d lists the installed drivers)",
                             "driver_missing")
    if login and (state == "3D000" or has(_CATALOG_MISSING)
                  or ('database "' in lowered and "does not exist" in lowered)):
        name = catalog or dsn_value(target.dsn, engine.database_key)
        if name is None:  # the DSN names no database: the driver picked one (PostgreSQL: the login's name)
            said = re.search(r'database "([^"]+)" does not exist', text)
            tried = f" so the server tried {said.group(1)!r}, which" if said else " and the server's default"
            return DatabaseError(f"{where}: the DSN names no {engine.database_key}={tried} does not exist or user "
                                 f"{user!r} may not open it; add {engine.database_key}=<catalog> to the dsn",
                                 "unreachable")
        return DatabaseError(f"{where}: catalog {name!r} does not exist or user {user!r} may not open it",
                             "unreachable")
    if state in ("28000", "28P01") or has(_LOGIN_FAILED):
        return DatabaseError(f"{where}: login failed for user {user!r} (wrong password or no access)",
                             "login_failed")
    address = _address(target.dsn)
    if has(_CERTIFICATE_NAME):
        return DatabaseError(f"{where}: certificate of {address} not trusted: it names another host; set "
                             "HostNameInCertificate=<the name in the certificate> in the dsn (ODBC Driver 18), "
                             "or connect by that name", "unreachable")
    if has(_CERTIFICATE):
        return DatabaseError(f"{where}: certificate of {address} not trusted (ODBC Driver 18 encrypts and verifies "
                             "by default): install its issuing CA on this host, or set HostNameInCertificate= "
                             "when the name differs, or TrustServerCertificate=yes (encrypted, not verified)",
                             "unreachable")
    if has(_UNKNOWN_HOST):
        return DatabaseError(f"{where}: cannot reach {address}: unknown host", "unreachable")
    if has(_REFUSED) and (login or state.startswith("08") or state == "HY000"):
        return DatabaseError(f"{where}: cannot reach {address}: connection refused", "unreachable")
    if login and (state in ("HYT00", "HYT01") or "timeout" in lowered or "timed out" in lowered
                  or "(110)" in lowered or "system error: 110" in lowered):
        return DatabaseError(f"{where}: cannot reach {address}: no answer (login timed out)", "unreachable")
    if state == "55P03" or has(_LOCK_TIMEOUT):
        limit = f" after {lock_timeout:g}s" if lock_timeout else ""
        return DatabaseError(f"{where}: query gave up waiting for a lock{limit}", "timeout")
    if state in ("HYT00", "HYT01", "57014") or has(_STATEMENT_TIMEOUT):
        limit = f" after {timeout:g}s" if timeout else ""
        return DatabaseError(f"{where}: query timed out{limit}", "timeout")
    if state in ("57P01", "57P02", "57P03", "08S01", "08003", "08007") or has(_LOST):
        return DatabaseError(f"{where}: connection to {address} lost (server stopped or restarted, "
                             "or the session was killed)", "unreachable")
    if state.startswith("08") or "could not connect" in lowered or "can't connect" in lowered:
        return DatabaseError(f"{where}: cannot reach {address}: {_first_line(text)}", "unreachable")
    if state == "42501" or has(_PERMISSION):
        return DatabaseError(f"{where}: permission denied: {_first_line(text)}", "permission")
    return DatabaseError(f"{where}: {_first_line(text)} (SQLSTATE {state or '?'})", "query")


def _address(dsn: str) -> str:
    """host[:port] from the DSN, as the error messages name it."""
    server = dsn_value(dsn, "SERVER") or dsn_value(dsn, "HOST") or dsn_value(dsn, "SERVERNAME") or "?"
    port = dsn_value(dsn, "PORT")
    return f"{server}:{port}" if port else server


def _first_line(text: str) -> str:
    """The driver's message itself: without "[unixODBC][Driver]" prefixes, severity words, native
    error numbers and the "(SQLExecDirectW)" call name, first line only."""
    text = re.sub(r"^\s*(\[[^\]]*\]\s*)+", "", text.strip())
    line = text.splitlines()[0] if text else ""
    line = re.sub(r"^(ERROR|FATAL|PANIC):\s+", "", line)
    line = re.sub(r"(\s*\(-?\d+\))*\s*\(SQL\w+\)\s*$", "", line)
    line = line.strip().rstrip(";").strip()
    return line[:300] or "unknown error"


class Connection:
    """A target's connection(s). One catalog at a time per call; thread-safe by a lock.

    ``query(sql, params, catalog=...)`` runs on ``catalog`` (the DSN's own database when None):
    PostgreSQL gets a connection per catalog, the others switch with ``USE``. A ``USE`` lasts until
    the next one, so on SQL Server the DSN's own catalog is read at open (``DB_NAME()``) and a
    statement with ``catalog=None`` switches back to it: a catalog never leaks from one statement
    into the next. Server-scoped statements pass ``catalog=connection.server_catalog`` (master).
    """

    def __init__(self, target: DatabaseConfig, lock_timeout: float | None = None):
        self.target = target
        self.engine: Engine = ENGINES[target.engine]
        self.lock_timeout = lock_timeout if lock_timeout is not None else min(5.0, target.query_timeout)
        self._handles: dict[str | None, Any] = {}
        self._current_catalog: str | None = None
        #: the catalog the DSN opens (SQL Server: DB_NAME() at open); None when unknown
        self.default_catalog: str | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- connecting ------------------------------------------------------------------------

    def _connection_string(self, catalog: str | None) -> str:
        dsn = self.target.dsn
        if catalog is not None:
            dsn = with_key(dsn, self.engine.database_key, odbc_quote(catalog))
        # The server-side statement timeout fires first; the client-side one only catches a
        # server or network that stops answering altogether.
        values = {"login_timeout_s": str(max(1, math.ceil(self.target.login_timeout))),
                  "read_timeout_s": str(math.ceil(self.target.query_timeout) + 2)}
        for key, template in self.engine.dsn_defaults:
            if dsn_value(dsn, key) is None:
                dsn = with_key(dsn, key, template.format(**values))
        try:
            password = self.target.password()
        except OSError as exc:
            raise DatabaseError(f"database {self.target.name!r}: cannot read password_file "
                                f"{self.target.password_file}: {exc.strerror}", "login_failed") from None
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
            handle = pyodbc.connect(self._connection_string(catalog), timeout=max(1, math.ceil(self.target.login_timeout)),
                                    autocommit=True)
        except pyodbc.Error as exc:
            raise describe_error(exc, self.target, login=True, catalog=catalog) from None
        try:
            handle.timeout = max(1, math.ceil(self.target.query_timeout))  # SQL_ATTR_QUERY_TIMEOUT
        except pyodbc.Error:
            pass  # psqlodbc refuses it; the session's statement_timeout bounds queries there
        values = {
            "lock_ms": int(self.lock_timeout * 1000),
            "lock_s": max(1, math.ceil(self.lock_timeout)),
            "statement_ms": int(self.target.query_timeout * 1000),
            "statement_s": f"{self.target.query_timeout:g}",
        }
        cursor = handle.cursor()
        try:
            for statement in self.engine.session_setup:
                cursor.execute(statement.format(**values))
        except pyodbc.Error as exc:
            handle.close()
            raise describe_error(exc, self.target, login=True, catalog=catalog) from None
        finally:
            cursor.close()
        return handle

    def _read_default_catalog(self, handle: Any) -> None:
        import pyodbc

        if not self.engine.current_catalog_sql:
            return
        cursor = handle.cursor()
        try:
            cursor.execute(self.engine.current_catalog_sql)
            row = cursor.fetchone()
            self.default_catalog = str(row[0]) if row and row[0] is not None else None
        except pyodbc.Error as exc:
            handle.close()
            raise describe_error(exc, self.target, login=True) from None
        finally:
            cursor.close()
        self._current_catalog = self.default_catalog

    @property
    def server_catalog(self) -> str | None:
        """Where server-scoped statements run (SQL Server: master; others: the DSN's catalog)."""
        return self.engine.server_catalog

    def _handle_for(self, catalog: str | None) -> Any:
        key = catalog if self.engine.reconnect_per_catalog else None
        handle = self._handles.get(key)
        if handle is None:
            handle = self._open(catalog if self.engine.reconnect_per_catalog else None)
            self._current_catalog = None
            if not self.engine.reconnect_per_catalog:
                self._read_default_catalog(handle)
            self._handles[key] = handle
        return handle

    # -- querying --------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = (), catalog: str | None = None,
              max_rows: int | None = None, timeout: float | None = None) -> list[dict[str, Any]]:
        """Rows of ``sql`` as dicts keyed by lower-case column name, at most ``max_rows``.
        ``timeout`` (seconds): this statement's own client-side limit instead of query_timeout."""
        import pyodbc

        with self._lock:
            if self._closed:
                raise DatabaseError(f"database {self.target.name!r}: connection closed", "closed")
            handle = self._handle_for(catalog)
            started = time.monotonic()
            limit = self.target.query_timeout if timeout is None else timeout
            if timeout is not None:
                self._set_timeout(handle, timeout)
            cursor = handle.cursor()
            try:
                wanted = catalog if catalog is not None else self.default_catalog
                if wanted is not None and not self.engine.reconnect_per_catalog and wanted != self._current_catalog:
                    self._use(cursor, wanted)
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
                error = describe_error(exc, self.target, limit, lock_timeout=self.lock_timeout)
                if error.kind in ("unreachable", "timeout"):
                    self._drop(catalog)  # a broken or cancelled handle is not reused
                raise error from None
            finally:
                try:
                    cursor.close()
                except pyodbc.Error:
                    pass
                if timeout is not None and self._handles.get(None if not self.engine.reconnect_per_catalog
                                                             else catalog) is handle:
                    self._set_timeout(handle, self.target.query_timeout)
                log.debug("%s: query took %.3fs", self.target.name, time.monotonic() - started)

    @staticmethod
    def _set_timeout(handle: Any, seconds: float) -> None:
        import pyodbc

        try:
            handle.timeout = max(1, math.ceil(seconds))  # SQL_ATTR_QUERY_TIMEOUT of later statements
        except pyodbc.Error:
            pass  # psqlodbc refuses it

    def _use(self, cursor: Any, catalog: str) -> None:
        import pyodbc

        try:
            cursor.execute(self.engine.use_statement(catalog))
        except pyodbc.Error as exc:
            # Reported like a failed open: "catalog 'x' does not exist or user 'u' may not open it".
            raise describe_error(exc, self.target, login=True, catalog=catalog) from None
        self._current_catalog = catalog

    def scalar(self, sql: str, params: Sequence[Any] = (), catalog: str | None = None) -> Any:
        rows = self.query(sql, params, catalog=catalog, max_rows=1)
        return next(iter(rows[0].values())) if rows else None

    def quote(self, identifier: str) -> str:
        """``identifier`` quoted by the engine's own rules (never concatenate a raw name)."""
        return self.engine.quote(identifier)

    def release(self, catalog: str) -> None:
        """Close the connection opened for ``catalog`` (PostgreSQL's one per catalog), so a pass
        over many catalogs does not hold a session in each; other engines keep their one."""
        if self.engine.reconnect_per_catalog and catalog is not None:
            with self._lock:
                self._drop(catalog)

    def _drop(self, catalog: str | None) -> None:
        key = catalog if self.engine.reconnect_per_catalog else None
        handle = self._handles.pop(key, None)
        self._current_catalog = None
        if handle is not None:
            try:
                handle.close()
            except Exception:  # noqa: BLE001, S110 - already broken
                pass

    def close(self, wait: float = 5.0) -> None:
        """Close every handle. A query still running (a hung server) keeps its handle: waiting
        at most ``wait`` seconds for it, the connection is marked closed and left to the OS."""
        acquired = self._lock.acquire(timeout=wait)
        try:
            self._closed = True
            if acquired:
                for key in list(self._handles):
                    self._drop(key)
        finally:
            if acquired:
                self._lock.release()


def connect(target: DatabaseConfig) -> Connection:
    """A Connection for ``target`` with its default catalog opened (raises DatabaseError)."""
    connection = Connection(target)
    with connection._lock:
        connection._handle_for(None)
    return connection
