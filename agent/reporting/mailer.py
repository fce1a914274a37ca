"""Mailing a report through the configured ``[[sinks]]`` entry with ``type = "smtp"``.

Connection settings, secrets and TLS follow the smtp sink (:mod:`l4agent.agent.records.sinks`):
STARTTLS on by default with the server certificate verified, implicit TLS on port 465, login
with ``username`` and ``password_env``/``password_file``.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from l4agent.agent.records.sinks.base import DeliveryError
from l4agent.agent.records.sinks.smtp import deliver
from l4agent.core.config import SinkConfig
from l4agent.core.redact import redact
from l4agent.exporters.report.mail import build_message


class MailError(Exception):
    """The report could not be sent; the message is fit to print (no secrets)."""


def send_report(sink: SinkConfig, subject: str, text: str, html: str, mail_to: Sequence[str]) -> None:
    """Send one report mail to ``mail_to`` through the smtp sink's transport; raises MailError."""
    message = build_message(subject, text, html, sink.mail_from or f"l4agent@{socket.gethostname()}", mail_to)
    try:
        deliver(sink, message, sink.timeout, to_addrs=mail_to)
    except DeliveryError as exc:
        raise MailError(redact(str(exc))) from None
