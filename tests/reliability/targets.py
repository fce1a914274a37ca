"""A ``[[databases]]`` config for the test servers, as the reliability tests write it."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

PASSWORD_ENV = {"postgresql": "L4T_REL_PG_PASSWORD", "mysql": "L4T_REL_MARIADB_PASSWORD"}


def grant_monitor(server, database: str) -> None:
    """MariaDB shows a schema's tables in information_schema only to users with a privilege on
    it; REFERENCES is the least one (it reads no data). PostgreSQL needs nothing more."""
    if server.engine == "mysql":
        for host in ("127.0.0.1", "localhost"):
            server.execute_admin(f"GRANT REFERENCES ON `{database}`.* TO '{server.monitor_user}'@'{host}'")


def database_section(server, databases: Sequence[str], name: str = "erp", query_timeout: str = "3s",
                     password_env: str | None = None, dsn: str | None = None) -> str:
    """The ``[[databases]]`` entry for ``server``'s monitor login diagnosing ``databases``."""
    dsn = dsn or server.agent_dsn(databases[0] if server.engine == "postgresql" and databases else None)
    listed = ", ".join(f'"{d}"' for d in databases)
    return textwrap.dedent(f"""
        [[databases]]
        name = "{name}"
        engine = "{server.engine}"
        dsn = "{dsn}"
        password_env = "{password_env or PASSWORD_ENV[server.engine]}"
        databases = [{listed}]
        query_timeout = "{query_timeout}"
        login_timeout = "3s"
        """)


def password_env_for(server) -> dict[str, str]:
    """The environment that gives the agent the monitor login's password."""
    return {PASSWORD_ENV[server.engine]: server.monitor_password}
