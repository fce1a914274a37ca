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


def _subject_problems(metric: str | None, check: str | None) -> list[tuple[str, str]]:
    """A threshold on a metric the agent does not export or a check that does not exist would
    never fire: a config error, with the nearest known name when there is one."""
    import difflib

    if metric:
        from l4agent.agent.metric_names import exported_metric_names

        known = exported_metric_names()
        if metric not in known:
            near = difflib.get_close_matches(metric, sorted(known), n=1)
            return [("metric", f"{metric!r} is not a metric the agent exports"
                               + (f" (did you mean {near[0]!r}?)" if near else ""))]
    if check:
        from l4agent.diagnostics.registry import check_ids

        known = check_ids()
        if check not in known:
            near = difflib.get_close_matches(check, sorted(known), n=1)
            return [("check", f"{check!r} is not a check id (l4agent diagnose --list shows them)"
                              + (f"; did you mean {near[0]!r}?" if near else ""))]
    return []


_HOOKS: dict[str, Any] = {"builtin_rules": BUILTIN_RULES, "option_problems": _option_problems,
                          "subject_problems": _subject_problems}


def parse_config(data: dict[str, Any], path: str) -> Config:
    """:func:`l4agent.core.config.parse_config` with the application's rules, check options and
    the names a threshold may watch."""
    return core_config.parse_config(data, path, **_HOOKS)


def load_config(path: str | None = None) -> Config:
    """:func:`l4agent.core.config.load_config` with the application's rules, check options and
    the names a threshold may watch."""
    return core_config.load_config(path, **_HOOKS)
