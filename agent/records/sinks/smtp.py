"""``type = "smtp"``: one mail per event, plain text and HTML, STARTTLS and login.

``host``, ``port`` (default 587 with STARTTLS, 25 without, 465 means implicit TLS),
``starttls`` (default true; the server certificate is verified, ``ca_file`` for a private CA),
``username`` with ``password_env`` or ``password_file``, ``mail_from``, ``mail_to``.
A 5xx answer (bad login, refused recipient) parks the event; a 4xx or no connection retries.
"""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from l4agent.agent.records import render
from l4agent.agent.records.sinks.base import DeliveryError, Sink, read_secret, tls_context
from l4agent.core.config import SinkConfig

IMPLICIT_TLS_PORT = 465


class SmtpSink(Sink):
    def send(self, event: dict[str, Any]) -> None:
        config = self.config
        if not config.mail_to:
            raise DeliveryError(f"sink {self.name}: mail_to is empty", permanent=True)
        message = build_message(event, config.mail_from or f"l4agent@{socket.gethostname()}", config.mail_to)
        deliver(config, message, self.timeout)


def deliver(config: SinkConfig, message: EmailMessage, timeout: float, to_addrs: Sequence[str] | None = None) -> None:
    """Send ``message`` through the smtp sink ``config`` (STARTTLS or implicit TLS, login);
    raises DeliveryError, ``permanent`` for answers a retry will not change."""
    password = read_secret(config.password_env, config.password_file, f"sink {config.name} password") \
        if config.username else None
    port = config.port or (587 if config.starttls else 25)
    try:
        if port == IMPLICIT_TLS_PORT:
            client: smtplib.SMTP = smtplib.SMTP_SSL(config.host, port, timeout=timeout, context=tls_context(config))
        else:
            client = smtplib.SMTP(config.host, port, timeout=timeout)
        with client:
            client.ehlo()
            if config.starttls and port != IMPLICIT_TLS_PORT:
                client.starttls(context=tls_context(config))
                client.ehlo()
            if config.username:
                client.login(config.username, password or "")
            client.send_message(message, to_addrs=list(to_addrs) if to_addrs else None)
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"{config.host}:{port}: {exc} (STARTTLS or AUTH not offered; "
                            "set starttls = false for a server without STARTTLS)", permanent=True) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = "; ".join(f"{rcpt}: {code} {msg.decode('utf-8', 'replace')}"
                            for rcpt, (code, msg) in exc.recipients.items())
        raise DeliveryError(f"{config.host}:{port} refused {refused}", permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise DeliveryError(f"{config.host}:{port} answered {exc.smtp_code} {text}",
                            permanent=exc.smtp_code >= 500) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"cannot send via {config.host}:{port}: {exc}") from None


def build_message(event: dict[str, Any], mail_from: str, mail_to: tuple[str, ...]) -> EmailMessage:
    """The mail for one event; its Message-ID is the idempotency key, so duplicates show as such."""
    message = EmailMessage()
    message["Subject"] = render.subject(event["event"], event["record"])
    message["From"] = mail_from
    message["To"] = ", ".join(mail_to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{event['idempotency_key']}@l4agent>"
    message.set_content(render.event_text(event))
    message.add_alternative(render.event_html(event), subtype="html")
    return message
