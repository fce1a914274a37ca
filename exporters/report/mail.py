"""Mailing a report through the configured ``[[sinks]]`` entry with ``type = "smtp"``.

The mail has the Markdown text and the HTML page as alternatives, so it reads well in any
client. Connection settings, secrets and TLS follow the smtp sink (``agent.records.sinks``):
STARTTLS on by default with the server certificate verified, implicit TLS on port 465,
login with ``username`` and ``password_env``/``password_file``.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from agent.config import Config, SinkConfig
from agent.redact import redact


class MailError(Exception):
    """The report could not be sent; the message is fit to print (no secrets)."""


def smtp_sink(config: Config) -> SinkConfig | None:
    return next((sink for sink in config.sinks if sink.type == "smtp"), None)


def build_message(subject: str, text: str, html: str, mail_from: str, mail_to: Sequence[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = mail_from
    message["To"] = ", ".join(mail_to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="l4agent")
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send_report(sink: SinkConfig, subject: str, text: str, html: str, mail_to: Sequence[str]) -> None:
    """Send one report mail to ``mail_to`` through the smtp sink's transport; raises MailError."""
    from agent.records.sinks.base import DeliveryError
    from agent.records.sinks.smtp import deliver

    message = build_message(subject, text, html, sink.mail_from or f"l4agent@{socket.gethostname()}", mail_to)
    try:
        deliver(sink, message, sink.timeout, to_addrs=mail_to)
    except DeliveryError as exc:
        raise MailError(redact(str(exc))) from None
