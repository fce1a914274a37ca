"""Risky settings a config may hold and still be valid: ``config check`` prints one
``config warning: FILE: KEY: what`` line each (exit 0; ``--strict`` makes them errors), and
``serve`` logs the same lines once at start.

Each is something a specialist would be asked about in a review: /metrics open to the network
with neither TLS nor a password, a token sent in clear text, a password variable that is not set
where the agent runs, an ODBC driver unixODBC does not know.
"""

from __future__ import annotations

import ipaddress
import os
import re
from urllib.parse import urlsplit

from l4agent.core.config import Config

_DRIVER = re.compile(r"(?:^|;)\s*DRIVER\s*=\s*(\{[^}]*\}|[^;]*)", re.IGNORECASE)


def config_warnings(config: Config, installed_drivers: list[str] | None = None) -> list[tuple[str, str]]:
    """(key, message) for every risky setting; ``installed_drivers`` defaults to unixODBC's list."""
    found: list[tuple[str, str]] = []
    agent = config.agent
    web = agent.web
    if not _loopback(agent.listen_host) and not web.tls_cert_file and not web.basic_auth_users:
        found.append(("agent.listen", f"{agent.listen_host}:{agent.listen_port} serves /metrics and the status page "
                                      "to the network with neither TLS nor basic auth ([agent.web])"))
    for i, sink in enumerate(config.sinks):
        key = f"sinks[{i}]"
        if sink.url and (sink.token_env or sink.token_file) and urlsplit(sink.url).scheme == "http":
            found.append((f"{key}.url", f"sink {sink.name!r} sends its bearer token over plain http; use https"))
        if sink.password_env and sink.password_env not in os.environ:
            found.append((f"{key}.password_env", f"{sink.password_env} is not set in this environment"))
        if sink.token_env and sink.token_env not in os.environ:
            found.append((f"{key}.token_env", f"{sink.token_env} is not set in this environment"))
    drivers = installed_drivers
    for i, database in enumerate(config.databases):
        key = f"databases[{i}]"
        if database.password_env and database.password_env not in os.environ:
            found.append((f"{key}.password_env", f"{database.password_env} is not set in this environment "
                                                 f"(target {database.name!r} cannot log in)"))
        driver = _driver(database.dsn)
        if driver is not None:
            if drivers is None:
                drivers = _installed_drivers()
            if drivers is not None and driver not in drivers:
                known = ", ".join(drivers) or "none"
                found.append((f"{key}.dsn", f"ODBC driver {driver!r} is not known to unixODBC (odbcinst); "
                                            f"installed: {known}"))
    for i, app in enumerate(config.appservers):
        if app.status_password_env and app.status_password_env not in os.environ:
            found.append((f"appservers[{i}].status_password_env",
                          f"{app.status_password_env} is not set in this environment"))
    return found


def warning_lines(config: Config) -> list[str]:
    source = config.path or "(built-in defaults)"
    return [f"config warning: {source}: {key}: {message}" for key, message in config_warnings(config)]


def _loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _driver(dsn: str) -> str | None:
    found = _DRIVER.search(dsn or "")
    return found.group(1).strip().strip("{}").strip() if found else None


def _installed_drivers() -> list[str] | None:
    try:
        import pyodbc
    except ImportError:  # no driver manager: the database collector says so itself
        return None
    return list(pyodbc.drivers())
