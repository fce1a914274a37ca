"""Durations as written in the config file: "500ms", "15s", "5m", "2h", "7d", "2w"."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")


#: the longest duration any setting takes: ten years. Longer ones overflow the things they feed
#: (a thread's wait, a datetime for an SLA due date) long before they mean anything.
MAX_SECONDS = 3650 * 86400.0


class DurationError(ValueError):
    """A duration string that cannot be read."""


def parse_duration(text: str) -> float:
    """Return the duration ``text`` in seconds; raise DurationError with a readable reason."""
    if not isinstance(text, str):
        raise DurationError(f'expected a duration string like "15s", got {type(text).__name__}')
    match = _DURATION.match(text)
    if not match:
        raise DurationError(f'invalid duration {text[:40]!r}: use a number and one of ms, s, m, h, d, w (e.g. "15s")')
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not seconds <= MAX_SECONDS:  # also catches inf from a number too long for a float
        raise DurationError(f"duration {text[:40]!r} is too long: at most 3650d (ten years)")
    return seconds


def format_duration(seconds: float) -> str:
    """Render ``seconds`` the way a person reads it: "850ms", "42s", "3m 5s", "2h 10m", "4d 3h"."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"
