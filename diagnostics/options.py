"""Options of checks under ``[diagnostics.<check id>]`` (or a family: ``[diagnostics.security]``).

A check declares its options with defaults; a configured value must have the default's type.
"""

from __future__ import annotations

from typing import Any

from l4agent.diagnostics.registry import checks_under


def _type_ok(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int | float) and not isinstance(default, bool):
        return isinstance(value, int | float)
    if isinstance(default, list | tuple):
        return isinstance(value, list | tuple)
    if default is None:
        return True
    return isinstance(value, type(default))


def _is_duration(value: Any) -> bool:
    from l4agent.core.durations import DurationError, parse_duration

    try:
        parse_duration(value)
    except DurationError:
        return False
    return True


def family_defaults(prefix: str) -> dict[str, Any]:
    """The union of the defaults of every check under ``prefix`` ("security")."""
    merged: dict[str, Any] = {}
    for check in checks_under(prefix):
        if check.id.startswith(prefix + "."):
            merged.update(check.defaults)
    return merged


def validate_options(key: str, options: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems as (option, message); ``key`` is a check id or a family prefix."""
    checks = {c.id: c for c in checks_under(key)}
    if key in checks:
        known = dict(checks[key].defaults)
    else:
        known = family_defaults(key)
        if not known and not any(cid.startswith(key + ".") for cid in checks):
            return [("", f"no check or check family named {key!r}")]
    problems = []
    for name, value in options.items():
        if name == "enabled":
            if not isinstance(value, bool):
                problems.append((name, "expected true or false"))
            continue
        if name not in known:
            problems.append((name, f"unknown option (known: {', '.join(sorted(known)) or 'none'})"))
        elif not _type_ok(known[name], value):
            problems.append((name, f"expected a value like {known[name]!r}"))
        elif isinstance(known[name], str) and _is_duration(known[name]) and not _is_duration(value):
            # A default written as a duration ("7d") makes the option a duration.
            problems.append((name, f"invalid duration {value[:40]!r}: write it like {known[name]!r}"))
    return problems


def options_for(check, configured: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Defaults, then the family's table, then the check's own table."""
    options = dict(check.defaults)
    family = check.id.split(".")[0]
    for key in (family, check.id):
        for name, value in configured.get(key, {}).items():
            if name in options or name == "enabled":
                options[name] = value
    return options
