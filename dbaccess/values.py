"""Values as the ODBC drivers hand them over, turned into Python numbers."""

from __future__ import annotations

from typing import Any


def number(value: Any, default: float | None = 0.0) -> float | None:
    """A figure from any driver (Decimal, int, float, numeric text such as "12") as a float;
    ``default`` for None, "" or anything that is not a number."""
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def truthy(value: Any) -> bool:
    """A flag from any driver: bool, 0/1, "0"/"1", "t"/"f", "YES"/"NO"."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true", "y", "yes", "on")
    return bool(value)
