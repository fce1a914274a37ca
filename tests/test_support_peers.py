"""Self-tests of the real-peer test helpers (tests/support)."""

from tests.support.peer_fixtures import *  # noqa

import datetime as dt
import json
import os
import smtplib
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import pytest
from cryptography import x509
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, start_http_server

from tests.support.peers import RecordingHttpServer, SmtpServer, free_port
from tests.support.promtools import (
    NodeExporter,
    promtool_check_metrics,
    promtool_check_rules,
)

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str, timeout: float = 5.0, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    opener = (
        NO_PROXY
        if context is None
        else urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
    )
    try:
        with opener.open(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# ------------------------------------------------------------------ promtool


def test_promtool_check_metrics_clean_for_prometheus_client_output():
    registry = CollectorRegistry()
    Counter("l4agent_selftest_events", "Events seen.", registry=registry).inc()
    Gauge("l4agent_selftest_ratio", "A ratio.", registry=registry).set(0.5)
    assert promtool_check_metrics(generate_latest(registry).decode()) == ""


def test_promtool_check_metrics_flags_counter_without_total():
    text = "# HELP bad_events Events.\n# TYPE bad_events counter\nbad_events 1\n"
    out = promtool_check_metrics(text)
    assert "_total" in out


def test_promtool_check_rules(tmp_path):
    good = tmp_path / "good.yml"
    good.write_text("groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 1m\n")
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: g\n  rules:\n  - alert: Broken\n    expr: up ==\n")
    assert promtool_check_rules(good)[0] == 0
    rc, out = promtool_check_rules(bad)
    assert rc != 0 and out


# ------------------------------------------------------------------ prometheus / alertmanager / node exporter


def test_prometheus_scrapes_a_real_exporter(prometheus_factory):
    registry = CollectorRegistry()
    Gauge("l4agent_selftest_value", "Self-test value.", registry=registry).set(42)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        prom = prometheus_factory([f"127.0.0.1:{port}"])
        result = prom.wait_for_series("l4agent_selftest_value", timeout=15)
        assert result[0]["metric"]["job"] == "test"
        assert float(result[0]["value"][1]) == 42
        (target,) = prom.targets()
        assert target["health"] == "up"
        pid = prom.pid
    finally:
        server.shutdown()
        server.server_close()
    prom.close()
    with pytest.raises(ProcessLookupError):  # really gone, not just detached
        os.kill(pid, 0)


def test_prometheus_query_rejects_bad_promql(prometheus_factory):
    prom = prometheus_factory([])
    with pytest.raises(ValueError, match="parse"):
        prom.query("sum(")


def test_alertmanager_accepts_and_lists_alerts(alertmanager):
    alertmanager.post_alerts(
        [{"labels": {"alertname": "SelfTest", "test": "support"}, "annotations": {"summary": "hi"}}]
    )
    alerts = alertmanager.wait_for_alerts(1, active=True, filter=['test="support"'])
    assert alerts[0]["labels"]["alertname"] == "SelfTest"
    assert alerts[0]["status"]["state"] == "active"


def test_node_exporter_serves_metrics():
    with NodeExporter() as ne:
        status, body = _get(ne.url)
        assert status == 200 and b"node_" in body
        assert ne.pid > 0


# ------------------------------------------------------------------ SMTP


def test_smtp_starttls_and_login(throwaway_ca):
    cert = throwaway_ca.issue("127.0.0.1")
    with SmtpServer(
        tls_context=cert.server_context(), require_starttls=True, user="l4", password="s3cret"
    ) as smtp:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "agent@example.test", "ops@example.test", "P2 disk"
        msg.set_content("root disk at 91%")
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            client.starttls(context=throwaway_ca.client_context())
            client.login("l4", "s3cret")
            client.send_message(msg)
        (mail,) = smtp.wait_for(1, timeout=5)
        assert mail.mail_from == "agent@example.test"
        assert mail.rcpt_tos == ["ops@example.test"]
        assert mail.subject == "P2 disk"
        assert "root disk at 91%" in mail.text()
        assert mail.tls and mail.login == "l4"

        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            client.starttls(context=throwaway_ca.client_context())
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login("l4", "wrong")
        assert smtp.auth_attempts[-1][1:] == ("l4", False)


def test_smtp_fixture_plain(smtp_server):
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        client.sendmail("a@example.test", ["b@example.test", "c@example.test"], b"Subject: x\r\n\r\nbody\r\n")
    (mail,) = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["b@example.test", "c@example.test"] and not mail.tls and mail.login is None


# ------------------------------------------------------------------ HTTP


def test_http_sink_records_and_switches_behaviour(http_sink):
    req = urllib.request.Request(
        http_sink.url + "/hook?x=1",
        data=json.dumps({"a": 1}).encode(),
        headers={"Content-Type": "application/json", "X-Token": "t"},
        method="POST",
    )
    with NO_PROXY.open(req, timeout=5) as resp:
        assert resp.status == 200 and json.loads(resp.read()) == {}
    (got,) = http_sink.wait_for(1)
    assert (got.method, got.route, got.query) == ("POST", "/hook", {"x": ["1"]})
    assert got.headers["x-token"] == "t" and got.json() == {"a": 1}

    http_sink.respond_with(503, "busy")
    assert _get(http_sink.url + "/b") == (503, b"busy")

    http_sink.hang()
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        _get(http_sink.url + "/c", timeout=0.3)
    assert http_sink.wait_for(3)[-1].path == "/c"  # recorded although never answered
    http_sink.release()


def test_http_sink_down_refuses_then_recovers():
    with RecordingHttpServer(lambda req: (201, {"ok": True})) as sink:
        port = sink.port
        sink.down()
        with pytest.raises(urllib.error.URLError) as info:
            _get(sink.url + "/x", timeout=2)
        assert isinstance(info.value.reason, ConnectionRefusedError)
        assert sink.requests == []
        sink.up()
        assert sink.port == port
        assert _get(sink.url + "/y") == (201, b'{"ok": true}')
        assert [r.path for r in sink.wait_for(1)] == ["/y"]


# ------------------------------------------------------------------ certificates


def test_ca_cert_verifies_against_its_ca_only(throwaway_ca):
    cert = throwaway_ca.issue("127.0.0.1", days_valid=10)
    loaded = x509.load_pem_x509_certificate(Path(cert.cert).read_bytes())
    assert loaded.not_valid_after_utc == cert.not_valid_after
    assert cert.not_valid_after.microsecond == 0
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    assert abs((cert.not_valid_after - expected).total_seconds()) < 5

    with RecordingHttpServer(ssl_context=cert.server_context()) as sink:
        assert _get(sink.url + "/tls", context=cert.client_context())[0] == 200
        with pytest.raises(urllib.error.URLError) as info:
            _get(sink.url + "/tls", context=ssl.create_default_context())
        assert isinstance(info.value.reason, ssl.SSLCertVerificationError)
        assert [r.path for r in sink.requests] == ["/tls"]


def test_self_signed_and_expired_certs(throwaway_ca):
    own = throwaway_ca.self_signed(days_valid=3, common_name="localhost")
    assert own.ca == own.cert
    with RecordingHttpServer(ssl_context=own.server_context()) as sink:
        url = f"https://localhost:{sink.port}/"
        assert _get(url, context=own.client_context())[0] == 200
        with pytest.raises(urllib.error.URLError):
            _get(url, context=throwaway_ca.client_context())  # not signed by the CA

    expired = throwaway_ca.issue(days_valid=-1)
    assert expired.not_valid_after < dt.datetime.now(dt.UTC)
    with RecordingHttpServer(ssl_context=expired.server_context()) as sink:
        with pytest.raises(urllib.error.URLError) as info:
            _get(sink.url + "/", context=expired.client_context())
        assert "expired" in str(info.value.reason)


def test_no_server_processes_left_behind_by_this_module():
    # the session-scoped alertmanager is still allowed; factories' prometheus must be gone
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert not [line for line in out.splitlines() if "l4agent-prometheus-" in line]
