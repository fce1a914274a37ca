"""Keeping secrets out of everything the agent prints, logs, exports or stores.

Two defences: the exact secret values the agent has loaded (passwords, tokens), registered with
:func:`register_secret` the moment they are read, blanked wherever they appear — also as they
look inside a DSN (``}`` doubled in ``PWD={...}``) or a URL (percent-encoded); then patterns
that blank the secret part of DSNs, URLs and auth headers wherever they appear, whole even
when the value is braced with escaped braces (``PWD={a}}b;c}``) or quoted.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote

from l4agent.core.text import printable

MASK = "***"

# (pattern, replacement): each keeps the key and masks only the secret part.
_PATTERNS = [
    # ODBC keyword=value pairs: PWD=...; Password={... with }} inside}; password="..." or '...'
    (re.compile(r"(?i)\b(pwd|password|passwd|secret|token|api[_-]?key)(\s*=\s*)"
                r"(\{(?:\}\}|[^}])*\}?|\"[^\"]*\"?|'[^']*'?|[^;\s,'\"]*)"),
     rf"\1\2{MASK}"),
    # user:password@ in URLs
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)([^@\s/]+)(@)"), rf"\1{MASK}\3"),
    # Authorization headers and bearer tokens
    (re.compile(r"(?i)\b(authorization:\s*(?:basic|bearer)\s+)([A-Za-z0-9._~+/=-]+)"), rf"\1{MASK}"),
    (re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=-]{8,})"), rf"\1{MASK}"),
]

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is masked wherever it later appears, as itself, in a
    DSN's braces (``}`` doubled) or percent-encoded in a URL."""
    if value and len(value) >= 3:
        with _lock:
            _secrets.update({value, value.replace("}", "}}"), quote(value, safe="")})


def redact(text: str) -> str:
    """``text`` with every known secret value and secret-looking DSN/URL part masked."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    # Known values first: a pattern could cut a value short and leave the rest of it behind.
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the message, its arguments and any traceback, and
    replaces control characters in them (:func:`l4agent.core.text.printable`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = printable(redact(record.exc_text), multiline=True)
        # Messages carry outside text (table names, receiver replies): inert on a terminal too.
        record.msg = printable(redact(message), multiline=True)
        record.args = None
        return True
