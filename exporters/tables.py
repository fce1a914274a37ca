"""Text tables for people reading a terminal (values are formatted by :mod:`l4agent.core.units`)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from l4agent.core.text import printable


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in text)


def _clean(value: object) -> str:
    # One row is one line: control characters (newlines in SQL text, names) become spaces.
    return printable(value)


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
