"""``[[databases]]`` targets for the database tests, pointing at the real throwaway servers.

The agent always logs in as the least-privilege monitor user of the fixture (PostgreSQL:
pg_monitor; MariaDB: PROCESS + SELECT on performance_schema); its password reaches the agent
only through the environment variable named in ``password_env``, as in production.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator

from l4agent.core.config import DatabaseConfig
from tests.support.dbservers import DbServer

PASSWORD_ENV = {"postgresql": "L4_TEST_PG_PASSWORD", "mysql": "L4_TEST_MARIADB_PASSWORD"}


def target(server: DbServer, name: str | None = None, database: str | None = None, **overrides) -> DatabaseConfig:
    """A target for ``server``'s monitor user; sets the password variable in this process."""
    env = PASSWORD_ENV[server.engine]
    os.environ[env] = server.monitor_password
    fields = {
        "name": name or ("pg" if server.engine == "postgresql" else "mariadb"),
        "engine": server.engine,
        "dsn": server.agent_dsn(database),
        "password_env": env,
        "query_timeout": 5.0,
        "login_timeout": 3.0,
    }
    fields.update(overrides)
    return DatabaseConfig(**fields)


def toml_target(server: DbServer, name: str, database: str | None = None, extra: str = "") -> str:
    """The same target as a ``[[databases]]`` TOML block (the password stays in the environment)."""
    dsn = server.agent_dsn(database).replace("\\", "\\\\").replace('"', '\\"')
    return (f'[[databases]]\nname = "{name}"\nengine = "{server.engine}"\ndsn = "{dsn}"\n'
            f'password_env = "{PASSWORD_ENV[server.engine]}"\nquery_timeout = "5s"\n{extra}\n')


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections and never says a word (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
