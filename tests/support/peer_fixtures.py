"""pytest fixtures around the real peers in :mod:`tests.support.peers` and :mod:`tests.support.promtools`.

Register with ``pytest_plugins = ["tests.support.peer_fixtures"]`` in ``tests/conftest.py``
or ``from tests.support.peer_fixtures import *`` in a test module.

- ``smtp_server``: plain :class:`SmtpServer` (no TLS, no AUTH), per test.
- ``http_sink``: :class:`RecordingHttpServer` answering ``200 {}``, per test.
- ``alertmanager``: :class:`AlertmanagerServer`, per session -- alerts accumulate across
  tests, so filter by a unique label (``alertmanager.alerts(filter=['test="..."'])``).
- ``throwaway_ca``: :class:`ThrowawayCA`, per session.
- ``prometheus_factory``: ``make(scrape_targets, **kwargs) -> PrometheusServer`` (ready);
  everything it made is closed at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .peers import RecordingHttpServer, SmtpServer, ThrowawayCA
from .promtools import AlertmanagerServer, PrometheusServer

__all__ = ["alertmanager", "http_sink", "prometheus_factory", "smtp_server", "throwaway_ca"]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def http_sink() -> Iterator[RecordingHttpServer]:
    with RecordingHttpServer() as server:
        yield server


@pytest.fixture(scope="session")
def alertmanager() -> Iterator[AlertmanagerServer]:
    with AlertmanagerServer() as server:
        yield server


@pytest.fixture(scope="session")
def throwaway_ca() -> Iterator[ThrowawayCA]:
    with ThrowawayCA() as ca:
        yield ca


@pytest.fixture
def prometheus_factory() -> Iterator[Callable[..., PrometheusServer]]:
    made: list[PrometheusServer] = []

    def make(scrape_targets: list[str], **kwargs: Any) -> PrometheusServer:
        server = PrometheusServer(scrape_targets, **kwargs)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()
