"""Logging to stderr in a journald-friendly form: ``LEVEL logger: message``, secrets masked."""

from __future__ import annotations

import logging
import sys

from l4agent.core.redact import RedactingFilter

# journald reads "<N>" prefixes as priorities when SyslogLevelPrefix is on (the default).
_SYSLOG_PRIORITY = {"CRITICAL": 2, "ERROR": 3, "WARNING": 4, "INFO": 6, "DEBUG": 7}


class _JournalFormatter(logging.Formatter):
    def __init__(self, with_priority: bool):
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.with_priority = with_priority

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if self.with_priority:
            text = f"<{_SYSLOG_PRIORITY.get(record.levelname, 6)}>{text}"
        return text


def setup_logging(level: str = "WARNING") -> None:
    """Configure the root logger once; under systemd (JOURNAL_STREAM set) add priority prefixes."""
    import os

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JournalFormatter(with_priority="JOURNAL_STREAM" in os.environ))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Third-party chatter stays at WARNING unless asked for.
    for noisy in ("paramiko", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
