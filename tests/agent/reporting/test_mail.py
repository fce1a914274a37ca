"""Mailing a report through the smtp sink's settings, against a real SMTP server: STARTTLS with
the server certificate verified, login, both alternatives; failures are one clear line."""

from __future__ import annotations

import pytest

from l4agent.agent.reporting.mailer import MailError, send_report
from l4agent.core.config import SinkConfig
from tests.conftest import free_port
from tests.support.leakcheck import register_test_secret
from tests.support.peers import SmtpServer

PASSWORD = register_test_secret("s3cret-mail-password")


@pytest.fixture
def tls_smtp(throwaway_ca):
    cert = throwaway_ca.issue("127.0.0.1")
    with SmtpServer(tls_context=cert.server_context(), require_starttls=True, user="l4agent", password=PASSWORD) as server:
        yield server, cert


def sink(port: int, **kwargs) -> SinkConfig:
    values = {"type": "smtp", "name": "mail", "host": "127.0.0.1", "port": port, "mail_from": "l4agent@db1.example",
              "timeout": 5.0}
    values.update(kwargs)
    return SinkConfig(**values)


def test_starttls_login_and_both_alternatives(tls_smtp, monkeypatch):
    server, cert = tls_smtp
    monkeypatch.setenv("L4T_MAIL_PASSWORD", PASSWORD)
    config = sink(server.port, ca_file=cert.ca, username="l4agent", password_env="L4T_MAIL_PASSWORD")
    send_report(config, "l4agent report db1: WARNING", "# text", "<!doctype html><p>html</p>", ["ops@example.com"])
    (mail,) = server.wait_for(1)
    assert mail.tls and mail.login == "l4agent"
    assert mail.rcpt_tos == ["ops@example.com"]
    assert mail.subject == "l4agent report db1: WARNING"
    types = [part.get_content_type() for part in mail.message.walk()]
    assert types == ["multipart/alternative", "text/plain", "text/html"]


def test_an_untrusted_certificate_is_refused(tls_smtp, monkeypatch):
    server, _ = tls_smtp
    monkeypatch.setenv("L4T_MAIL_PASSWORD", PASSWORD)
    with pytest.raises(MailError) as caught:
        send_report(sink(server.port, username="l4agent", password_env="L4T_MAIL_PASSWORD"), "s", "t", "h", ["a@b.c"])
    assert "certificate" in str(caught.value).lower()
    assert server.messages == []


def test_a_wrong_password_is_one_line_without_the_password(tls_smtp, monkeypatch):
    server, cert = tls_smtp
    monkeypatch.setenv("L4T_MAIL_PASSWORD", register_test_secret("wrong-password-value"))
    with pytest.raises(MailError) as caught:
        send_report(sink(server.port, ca_file=cert.ca, username="l4agent", password_env="L4T_MAIL_PASSWORD"),
                    "s", "t", "h", ["a@b.c"])
    assert "535" in str(caught.value)
    assert "wrong-password-value" not in str(caught.value)


def test_no_server_is_a_clear_error():
    with pytest.raises(MailError, match=r"cannot send via 127\.0\.0\.1:\d+"):
        send_report(sink(free_port(), starttls=False, timeout=2.0), "s", "t", "h", ["a@b.c"])
