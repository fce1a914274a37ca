"""Text that came from outside (table and host names, SQL text, a remote host's JSON, receiver
replies, config values) made inert before anything prints it.

A terminal acts on control characters: ESC starts CSI/OSC sequences (OSC 52 writes the
clipboard, others retitle the window or hide text), C1 characters (U+0080..U+009F) do the same
on many terminals, U+202E and friends reorder what is shown. :func:`printable` drops every
character that is not printable (Unicode categories Cc, Cf, Cs, Co, Cn, Zl, Zp and spaces other
than " "); what remains of an escape sequence (``]52;c;...``) is plain text. One pure function,
used by every printer: tables, Markdown, HTML, mail, the terminal, log lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_KEEP_MULTILINE = frozenset("\n")


def printable(value: object, *, multiline: bool = False, replacement: str = " ") -> str:
    """``value`` as text with every control or invisible formatting character replaced by
    ``replacement`` (a tab too). With ``multiline`` newlines stay (``\\r\\n`` and ``\\r``
    become ``\\n``)."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return "".join(ch if ch.isprintable() or ch in _KEEP_MULTILINE else replacement for ch in text)
    return "".join(ch if ch.isprintable() else replacement for ch in text)


def is_printable(text: str, *, multiline: bool = False) -> bool:
    """True when ``text`` holds nothing :func:`printable` would replace."""
    return all(ch.isprintable() or (multiline and ch == "\n") for ch in text)


def printable_tree(data: Any, *, multiline: bool = False) -> Any:
    """A copy of JSON-like ``data`` (dicts, lists, strings, numbers) with every string, keys
    included, made :func:`printable`."""
    if isinstance(data, str):
        return printable(data, multiline=multiline)
    if isinstance(data, Mapping):
        return {printable(k) if isinstance(k, str) else k: printable_tree(v, multiline=multiline)
                for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [printable_tree(item, multiline=multiline) for item in data]
    return data
