"""A report as an email: the Markdown text and the HTML page as alternatives, so it reads well
in any client. Sending is :mod:`l4agent.agent.reporting.mailer`'s."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from l4agent.core.config import Config, SinkConfig
from l4agent.core.text import printable


def smtp_sink(config: Config) -> SinkConfig | None:
    return next((sink for sink in config.sinks if sink.type == "smtp"), None)


def build_message(subject: str, text: str, html: str, mail_from: str, mail_to: Sequence[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = printable(subject)  # from outside in part (the host name): one clean line
    message["From"] = mail_from
    message["To"] = ", ".join(mail_to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="l4agent")
    message.set_content(printable(text, multiline=True))
    message.add_alternative(printable(html, multiline=True), subtype="html")
    return message
