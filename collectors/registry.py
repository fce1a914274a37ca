"""Which collectors exist, and how the configured set is built.

Each module listed here has ``from_config(config) -> list[Collector]``; a new collector is one
module plus one line below. Modules are imported only when the config asks for what they read
(the database collector pulls in pyodbc, which a host without databases should not pay for).
"""

from __future__ import annotations

import importlib
import socket

from agent.config import Config
from collectors.base import Collector

# (module, is it needed for this config?)
COLLECTOR_MODULES: list[tuple[str, object]] = [
    ("collectors.system", lambda config: True),
    ("collectors.network", lambda config: True),
    ("collectors.probes", lambda config: bool(config.probes)),
    ("collectors.database", lambda config: bool(config.databases)),
    ("collectors.appserver", lambda config: bool(config.appservers)),
]


def build_collectors(config: Config, only: set[str] | None = None) -> list[Collector]:
    """Every collector the config calls for; ``only`` keeps those whose name is in it."""
    collectors: list[Collector] = []
    for module_name, wanted in COLLECTOR_MODULES:
        if not wanted(config):
            continue
        module = importlib.import_module(module_name)
        collectors.extend(module.from_config(config))
    if only:
        collectors = [c for c in collectors if c.name in only]
    return collectors


def host_name(config: Config) -> str:
    return config.agent.hostname or socket.gethostname()
