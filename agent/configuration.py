"""The config as the commands load it: the core's reader (:mod:`l4agent.core.config`) plus what
only the application knows: the built-in threshold rules a ``[[thresholds]]`` entry may override,
and the option schemas of the checks named in ``[diagnostics.<id>]`` tables (only those checks
are imported). Problems from all of them come out in the one ``config error:`` report.
"""

from __future__ import annotations

from typing import Any

from l4agent.agent.thresholds import BUILTIN_RULES
from l4agent.core import config as core_config
from l4agent.core.config import Config


def _option_problems(check_id: str, options: dict[str, Any]) -> list[tuple[str, str]]:
    from l4agent.diagnostics.options import validate_options  # imports the named checks only

    return validate_options(check_id, options)


def parse_config(data: dict[str, Any], path: str) -> Config:
    """:func:`l4agent.core.config.parse_config` with the application's rules and check options."""
    return core_config.parse_config(data, path, builtin_rules=BUILTIN_RULES, option_problems=_option_problems)


def load_config(path: str | None = None) -> Config:
    """:func:`l4agent.core.config.load_config` with the application's rules and check options."""
    return core_config.load_config(path, builtin_rules=BUILTIN_RULES, option_problems=_option_problems)
