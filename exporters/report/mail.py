"""Mailing a report through the configured ``[[sinks]]`` entry with ``type = "smtp"``.

The mail has the Markdown text and the HTML page as alternatives, so it reads well in any
client. Connection settings, secrets and TLS follow the smtp sink (``agent.records.sinks``):
STARTTLS on by default with the server certificate verified, implicit TLS on port 465,
login with ``username`` and ``password_env``/``password_file``.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from agent.config import Config, SinkConfig
from agent.redact import redact

IMPLICIT_TLS_PORT = 465


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
    """Send one report mail to ``mail_to``; raises MailError."""
    message = build_message(subject, text, html, sink.mail_from or f"l4agent@{socket.gethostname()}", mail_to)
    port = sink.port or (587 if sink.starttls else 25)
    try:
        password, context = _secret_and_tls(sink)
        if port == IMPLICIT_TLS_PORT:
            client: smtplib.SMTP = smtplib.SMTP_SSL(sink.host, port, timeout=sink.timeout, context=context)
        else:
            client = smtplib.SMTP(sink.host, port, timeout=sink.timeout)
        with client:
            client.ehlo()
            if sink.starttls and port != IMPLICIT_TLS_PORT:
                client.starttls(context=context)
                client.ehlo()
            if sink.username:
                client.login(sink.username, password or "")
            client.send_message(message, to_addrs=list(mail_to))
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(f"{sink.host}:{port}: {exc} (set starttls = false for a server without STARTTLS)") from None
    except smtplib.SMTPResponseException as exc:
        text_ = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise MailError(redact(f"{sink.host}:{port} answered {exc.smtp_code} {text_}")) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(redact(f"{sink.host}:{port} refused {', '.join(exc.recipients)}")) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(redact(f"cannot send via {sink.host}:{port}: {exc}")) from None


def _secret_and_tls(sink: SinkConfig) -> tuple[str | None, ssl.SSLContext]:
    """The sink's password and TLS context, the way the smtp sink reads them."""
    from agent.records.sinks.base import DeliveryError, read_secret, tls_context

    try:
        password = read_secret(sink.password_env, sink.password_file, f"sink {sink.name} password") \
            if sink.username else None
    except DeliveryError as exc:
        raise MailError(str(exc)) from None
    return password, tls_context(sink)
