"""Which collectors exist, and how the configured set is built.

Each module listed here has ``from_config(config) -> list[Collector]``; a new collector is one
module plus one line below. Modules are imported only when the config asks for what they read
(the database collector pulls in pyodbc, which a host without databases should not pay for).
"""

from __future__ import annotations

import importlib
import socket
from typing import TYPE_CHECKING

from l4agent.collectors.base import Collector
from l4agent.core.config import Config

if TYPE_CHECKING:
    from l4agent.collectors.appserver.app_history import AppHistories

APPSERVER = "l4agent.collectors.appserver"

# (module, is it needed for this config?)
COLLECTOR_MODULES: list[tuple[str, object]] = [
    ("l4agent.collectors.system", lambda config: True),
    ("l4agent.collectors.network", lambda config: True),
    ("l4agent.collectors.probes", lambda config: bool(config.probes)),
    ("l4agent.collectors.database", lambda config: bool(config.databases)),
    (APPSERVER, lambda config: bool(config.appservers)),
]


def build_collectors(config: Config, only: set[str] | None = None,
                     app_histories: AppHistories | None = None) -> list[Collector]:
    """Every collector the config calls for; ``only`` keeps those whose name is in it. The app
    server collectors write their probes and status reads into ``app_histories`` (the owner's,
    which hands the same object to the ``app.*`` checks)."""
    collectors: list[Collector] = []
    for module_name, wanted in COLLECTOR_MODULES:
        if not wanted(config):
            continue
        module = importlib.import_module(module_name)
        if module_name == APPSERVER:
            collectors.extend(module.from_config(config, app_histories))
        else:
            collectors.extend(module.from_config(config))
    if only:
        collectors = [c for c in collectors if c.name in only]
    return collectors


def host_name(config: Config) -> str:
    return config.agent.hostname or socket.gethostname()
