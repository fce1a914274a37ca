"""Pytest fixtures with real replication pairs on loopback (tests/support/replicas.py).

Register as a plugin (listed in tests/conftest.py's ``pytest_plugins``).

- ``pg_pair`` (session): a PostgreSQL primary (wal_level logical, archiving to ``true``) and a
  hot standby streaming through physical slot ``standby1``; the monitor role may read sequences.
- ``mariadb_pair`` (session): a MariaDB primary (binlog, server_id 1) and a replica attached by
  GTID; the monitor account holds SLAVE MONITOR and SHOW VIEW on both.

- ``pg_signals`` / ``mariadb_signals`` (session): the same pairs with the defects and twins of
  tests/support/signal_plants.py planted once (catalogs ``l4_bad`` / ``l4_good``).

A test that plants a fault (a stopped IO thread, a paused standby) must undo it in a
``finally:``; the pairs are shared by the whole session.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.dbservers import BinaryNotFound
from tests.support.replicas import MariaPair, PgPair, start_mariadb_pair, start_pg_pair
from tests.support.signal_plants import plant_mariadb, plant_pg

__all__ = ["mariadb_pair", "mariadb_signals", "pg_pair", "pg_signals"]


def _start(starter):
    try:
        return starter()
    except BinaryNotFound as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def pg_pair() -> Iterator[PgPair]:
    pair = _start(start_pg_pair)
    try:
        yield pair
    finally:
        pair.close()


@pytest.fixture(scope="session")
def mariadb_pair() -> Iterator[MariaPair]:
    pair = _start(start_mariadb_pair)
    try:
        yield pair
    finally:
        pair.close()


@pytest.fixture(scope="session")
def pg_signals(pg_pair: PgPair) -> PgPair:
    plant_pg(pg_pair.primary)
    pg_pair.standby.wait_caught_up()
    return pg_pair


@pytest.fixture(scope="session")
def mariadb_signals(mariadb_pair: MariaPair) -> MariaPair:
    plant_mariadb(mariadb_pair.primary)
    mariadb_pair.replica.wait_caught_up()
    return mariadb_pair
