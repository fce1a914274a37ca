"""Pytest fixtures with real, throwaway PostgreSQL and MariaDB servers (no mocks).

Register as a plugin (`pytest_plugins = ["tests.support.db_fixtures"]` in tests/conftest.py).

- `pg_server`, `mariadb_server` (session): a started `PostgresServer` / `MariaDbServer`,
  closed (stopped, files deleted) at the end of the session. A test that stops the server
  to simulate a fault must `start()` it again, e.g. in a `finally:`.
- `pg_db`, `mariadb_db` (function): the name of a fresh, empty database on that server,
  dropped afterwards.

A missing server binary fails the run (it does not skip): CI installs the packages.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.dbservers import BinaryNotFound, DbServer, MariaDbServer, PostgresServer

__all__ = ["mariadb_db", "mariadb_server", "pg_db", "pg_server"]


def started_server(cls: type[DbServer], **options) -> DbServer:
    """Create and start a server of `cls` (any throwaway server class of tests/support);
    pytest.fail naming the Debian package if its binary is missing."""
    try:
        server = cls(**options)
    except BinaryNotFound as exc:
        missing = str(exc)
    else:
        missing = None
    if missing:  # outside the except block: no chained traceback in the report
        pytest.fail(missing, pytrace=False)
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    return server


def _serve(cls: type[DbServer]) -> Iterator[DbServer]:
    server = started_server(cls)
    try:
        yield server
    finally:
        server.close()


def _fresh_database(server: DbServer) -> Iterator[str]:
    server.start()  # no-op when running; a fault test may have left it stopped
    name = server.create_database(f"l4t_{uuid.uuid4().hex[:12]}")
    try:
        yield name
    finally:
        server.start()
        server.drop_database(name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL server on 127.0.0.1 for the whole session."""
    yield from _serve(PostgresServer)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDbServer]:
    """A running MariaDB server on 127.0.0.1 for the whole session."""
    yield from _serve(MariaDbServer)


@pytest.fixture
def pg_db(pg_server: PostgresServer) -> Iterator[str]:
    """Name of a new PostgreSQL database (has pg_stat_statements), dropped after the test."""
    yield from _fresh_database(pg_server)


@pytest.fixture
def mariadb_db(mariadb_server: MariaDbServer) -> Iterator[str]:
    """Name of a new MariaDB schema (utf8mb4), dropped after the test."""
    yield from _fresh_database(mariadb_server)
