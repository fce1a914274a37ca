"""Pytest fixtures with a real, throwaway Apache Tomcat 10 (Debian's tomcat10 + tomcat10-admin).

Registered as a plugin in tests/conftest.py.

- ``real_tomcat`` (session): a started :class:`~tests.support.tomcatserver.TomcatServer`
  (app connector with 8 request threads, admin connector with 4, -Xmx128m), closed at the end
  of the session. Tests share it: judge counters by their change between two reads, never by
  their absolute value, and leave it running.
- ``own_tomcat`` (function): a Tomcat of the test's own, for what disturbs a shared one (a
  kill -9, a heap filled on purpose); about one second to start.

``tomcat_app_toml(server, name)`` is the ``[[appservers]]`` entry the agent needs for it, and
``tomcat_app_config(server, name)`` the same as an AppServerConfig (the password comes from the
environment variable :data:`PASSWORD_ENV`, which the fixtures set).

A missing package fails the run (it does not skip), as for the database servers: CI installs
``tomcat10 tomcat10-admin`` through ``scripts/bootstrap --test``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from tests.support.db_fixtures import started_server
from tests.support.tomcatserver import TomcatServer

__all__ = ["PASSWORD_ENV", "own_tomcat", "real_tomcat", "tomcat_app_config", "tomcat_app_toml"]

PASSWORD_ENV = "L4_TEST_REAL_TOMCAT_PW"


def _started(**options) -> TomcatServer:
    return started_server(TomcatServer, **options)


@pytest.fixture(scope="session")
def real_tomcat() -> Iterator[TomcatServer]:
    server = _started(max_threads=8, admin_threads=4, heap="128m")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def own_tomcat(monkeypatch) -> Iterator[TomcatServer]:
    server = _started(max_threads=4, admin_threads=4, heap="128m")
    monkeypatch.setenv(PASSWORD_ENV, server.status_password)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def _real_tomcat_password(request, monkeypatch):
    """Tests that use ``real_tomcat`` find its status password in :data:`PASSWORD_ENV`."""
    if "real_tomcat" in request.fixturenames:
        monkeypatch.setenv(PASSWORD_ENV, request.getfixturevalue("real_tomcat").status_password)


def process_fields(server: TomcatServer) -> dict[str, str]:
    """The process-group keys that find exactly this server's JVM (other JVMs share the name java)."""
    fields = {"process": "java", "process_cmdline": re.escape(f"-Dcatalina.base={server.base_dir}")}
    if os.geteuid() == 0:
        fields["process_user"] = server.service_user
    return fields


def tomcat_app_toml(server: TomcatServer, name: str, *, status_url: str | None = None, with_process: bool = True,
                    extra: str = "") -> str:
    lines = [
        "[[appservers]]",
        f'name = "{name}"',
        f'tomcat_status_url = "{status_url or server.status_url}"',
        f'status_user = "{server.status_user}"',
        f'status_password_env = "{PASSWORD_ENV}"',
        'timeout = "10s"',
    ]
    if with_process:
        lines += [f"{key} = {_toml_string(value)}" for key, value in process_fields(server).items()]
    return "\n".join(lines) + "\n" + extra + "\n"


def _toml_string(value: str) -> str:
    return "'" + value + "'"  # literal string: the regex's backslashes stay as they are


def tomcat_app_config(server: TomcatServer, name: str, **kwargs):
    from l4agent.core.config import AppServerConfig

    fields = {"tomcat_status_url": server.status_url, "status_user": server.status_user,
              "status_password_env": PASSWORD_ENV, "timeout": 10.0, **process_fields(server)}
    fields.update(kwargs)
    return AppServerConfig(name=name, **fields)
