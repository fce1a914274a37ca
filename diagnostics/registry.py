"""Every diagnostic check, by id.

A check module defines one Check subclass named ``CHECK``-style (``class NoPrimaryKey(Check)``)
and is listed in CHECK_MODULES; the registry imports them on first use.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache

from diagnostics.base import Check

# One line per check module; a new check is its module plus one line here.
CHECK_MODULES: list[str] = []


@cache
def all_checks() -> tuple[Check, ...]:
    """One instance of every registered check, in registration order."""
    checks: list[Check] = []
    for module_name in CHECK_MODULES:
        module = importlib.import_module(module_name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Check) and obj is not Check and obj.__module__ == module.__name__:
                checks.append(obj())
    ids = [check.id for check in checks]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate check ids: {sorted(duplicates)}")
    return tuple(checks)


def select(prefixes: tuple[str, ...] = ()) -> list[Check]:
    """Checks whose id starts with any of ``prefixes`` (all when empty); "perf" matches "perf.*"."""
    if not prefixes:
        return list(all_checks())
    return [c for c in all_checks() if any(c.id == p or c.id.startswith(p.rstrip(".") + ".") for p in prefixes)]


def by_id(check_id: str) -> Check | None:
    return next((c for c in all_checks() if c.id == check_id), None)
