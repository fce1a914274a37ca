"""Text tables and value formatting for people reading a terminal."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from agent.durations import format_duration


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in text)


def _clean(value: object) -> str:
    # One row is one line: control characters (newlines in SQL text, names) become spaces.
    text = "" if value is None else str(value)
    return "".join(ch if ch.isprintable() else " " for ch in text)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]], max_width: int = 80,
                 align_right: Sequence[int] = ()) -> str:
    """A plain aligned table; cells longer than ``max_width`` are cut with an ellipsis."""
    cells = [[_clean(c) for c in headers]] + [[_clean(c) for c in row] for row in rows]
    cells = [[c if _width(c) <= max_width else c[: max_width - 1] + "…" for c in row] for row in cells]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        parts = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(cell))
            parts.append(pad + cell if i in align_right else cell + pad)
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_bytes(value: float) -> str:
    """1536 -> "1.5 KiB"."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"


def format_value(metric: str, value: float) -> str:
    """Render a metric value by its unit suffix: bytes, seconds, ratios; counts plain."""
    if value != value:  # NaN
        return "n/a"
    if value in (float("inf"), float("-inf")):  # a remote host's JSON may say Infinity
        return "+Inf" if value > 0 else "-Inf"
    if metric.endswith(("_bytes", "_bytes_total")):
        return format_bytes(value)
    if metric.endswith("_ratio"):
        return f"{value * 100:.1f} %"
    if metric.endswith(("_seconds", "_seconds_total")):
        if metric.endswith("_time_seconds") and value > 1e9:  # a timestamp
            import datetime as dt

            return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return format_duration(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.3f}"
