"""The HTTP(S) probe against real servers on loopback: status, body, timings, redirects, TLS."""

from __future__ import annotations

import time

import pytest

from l4agent.collectors.appserver.http_probe import fetch, probe
from l4agent.core.redact import redact
from tests.conftest import free_port
from tests.support.appserver_fixtures import *  # noqa: F403
from tests.support.appserver_fixtures import TOMCAT_PASSWORD, TOMCAT_USER
from tests.support.peers import RecordingHttpServer


def test_ok_page_passes_with_timings_and_body_match(app_http):
    outcome = probe(app_http.url + "/ok", 5, body_regex=r"id='login'")
    result = outcome.result
    assert outcome.ok, outcome.failure
    assert result.status == 200
    assert 0 < result.connect_seconds <= result.ttfb_seconds <= result.total_seconds < 2
    assert result.redirects == []
    assert result.certificate is None


def test_body_regex_mismatch_fails(app_http):
    outcome = probe(app_http.url + "/ok", 5, body_regex="Maintenance mode")
    assert not outcome.ok
    assert outcome.failure_kind == "body"
    assert "body_regex" in outcome.failure


def test_500_fails_unless_expected(app_http):
    outcome = probe(app_http.url + "/fail", 5)
    assert (outcome.ok, outcome.result.status, outcome.failure_kind) == (False, 500, "status")
    assert outcome.failure == "HTTP 500, expected 200"
    assert probe(app_http.url + "/fail", 5, expected_status=(500, 503)).ok


def test_slow_answer_is_timed_and_a_short_timeout_cuts_it(app_http):
    slow = probe(app_http.url + "/slow?seconds=0.4", 5)
    assert slow.ok
    assert 0.4 <= slow.result.ttfb_seconds <= slow.result.total_seconds < 1.5

    started = time.monotonic()
    cut = probe(app_http.url + "/slow?seconds=2", 0.3)
    assert time.monotonic() - started < 0.8
    assert (cut.ok, cut.failure_kind, cut.failure) == (False, "timeout", "timed out after 0.3s")


def test_redirect_loop_is_detected_and_named(app_http):
    outcome = probe(app_http.url + "/loop", 5, max_redirects=10)
    assert outcome.failure_kind == "redirect_loop"
    assert outcome.failure == f"redirect loop: {app_http.url}/loop -> {app_http.url}/loop2 -> {app_http.url}/loop"
    assert outcome.result.status == 302


def test_redirects_followed_up_to_the_limit(app_http):
    app_http.routes.update({"/r1": (302, "", {"Location": "/r2"}), "/r2": (301, "", {"Location": "r3"}),
                            "/r3": (307, "", {"Location": app_http.url + "/ok"})})
    followed = probe(app_http.url + "/r1", 5, max_redirects=3)
    assert followed.ok
    assert followed.result.redirects == [app_http.url + "/r2", app_http.url + "/r3", app_http.url + "/ok"]
    assert followed.result.url == app_http.url + "/ok"

    limited = probe(app_http.url + "/r1", 5, max_redirects=2)
    assert limited.failure_kind == "too_many_redirects"
    assert "more than 2 redirects" in limited.failure


def test_max_redirects_zero_judges_the_redirect_itself(app_http):
    assert probe(app_http.url + "/redirect", 5, max_redirects=0).failure == "HTTP 302, expected 200"
    assert probe(app_http.url + "/redirect", 5, expected_status=(302,), max_redirects=0).ok


def test_refused_connection_is_data_not_an_exception():
    outcome = probe(f"http://127.0.0.1:{free_port()}/", 2)
    assert (outcome.ok, outcome.failure_kind, outcome.failure) == (False, "connect", "connection refused")
    assert outcome.result.status is None


def test_hung_server_costs_exactly_the_timeout(hung_app):
    started = time.monotonic()
    outcome = probe(hung_app.url + "/", 0.5)
    elapsed = time.monotonic() - started
    assert outcome.failure_kind == "timeout"
    assert 0.45 <= elapsed < 0.9


def test_credentials_in_url_become_basic_auth_and_are_secret(app_http):
    url = app_http.url.replace("://", f"://{TOMCAT_USER}:{TOMCAT_PASSWORD}@") + "/manager/status"
    result = fetch(url, 5)
    assert result.status == 200
    assert result.url == app_http.url + "/manager/status"
    assert TOMCAT_PASSWORD not in redact(f"probe of {url} failed")


# -- TLS -----------------------------------------------------------------------------------


def test_certificate_expiry_within_a_second_of_the_truth_and_verified_by_ca_file(app_https):
    outcome = probe(app_https.url + "/ok", 5, ca_file=app_https.ca.ca_cert)
    cert = outcome.result.certificate
    assert outcome.ok, outcome.failure
    truth = app_https.cert.not_valid_after.timestamp() - time.time()
    assert abs(cert.expiry_seconds() - truth) < 1.0
    assert 9.9 * 86400 < truth <= 10 * 86400
    assert cert.verified is True and cert.verify_error is None
    assert cert.subject == "CN=127.0.0.1"
    assert cert.issuer == "CN=l4agent test CA"


def test_system_store_rejects_the_throwaway_ca_but_the_certificate_is_still_read(app_https):
    outcome = probe(app_https.url + "/ok", 5)
    cert = outcome.result.certificate
    assert not outcome.ok
    assert outcome.failure_kind == "tls_verify"
    assert outcome.failure == ("certificate does not verify against the system trust store: "
                               "unable to get local issuer certificate")
    assert outcome.result.status == 200  # the page itself was still fetched and timed
    assert cert.verified is False
    assert abs(cert.expiry_seconds() - (app_https.cert.not_valid_after.timestamp() - time.time())) < 1.0


def test_verify_tls_false_reads_the_certificate_without_judging_it(app_https):
    outcome = probe(app_https.url + "/ok", 5, verify_tls=False)
    assert outcome.ok
    assert outcome.result.certificate.verified is None


def test_expired_certificate_is_reported_with_negative_expiry(throwaway_ca):
    cert = throwaway_ca.issue("127.0.0.1", days_valid=-2)
    with RecordingHttpServer(lambda req: (200, "ok"), ssl_context=cert.server_context()) as server:
        outcome = probe(server.url + "/", 5, ca_file=throwaway_ca.ca_cert)
    assert outcome.failure_kind == "tls_verify"
    assert "certificate has expired" in outcome.failure
    assert outcome.result.certificate.expiry_seconds() == pytest.approx(-2 * 86400, abs=2)


def test_unreadable_ca_file_is_a_clear_tls_failure(app_https, tmp_path):
    outcome = probe(app_https.url + "/ok", 5, ca_file=str(tmp_path / "missing.pem"))
    assert outcome.failure_kind == "tls"
    assert f"cannot load ca_file {tmp_path / 'missing.pem'}" in outcome.failure


def test_a_body_dripping_in_byte_by_byte_is_cut_at_the_timeout():
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def drip():
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n")
        while not stop.wait(0.1):
            try:
                conn.sendall(b"x")
            except OSError:
                break
        conn.close()

    threading.Thread(target=drip, daemon=True).start()
    try:
        started = time.monotonic()
        outcome = probe(f"http://127.0.0.1:{listener.getsockname()[1]}/", 0.6)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        listener.close()
    assert (outcome.failure_kind, outcome.result.status) == ("timeout", 200)
    assert outcome.result.ttfb_seconds < 0.3
    assert 0.55 <= elapsed < 0.9


def test_a_chunked_body_is_read_whole_for_the_regex():
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                     b"6\r\n<html>\r\n")
        time.sleep(0.05)
        conn.sendall(b"d\r\nWorkcube ERP \r\n7\r\n</html>\r\n0\r\n\r\n")
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        outcome = probe(f"http://127.0.0.1:{listener.getsockname()[1]}/", 2, body_regex="Workcube ERP </html>")
    finally:
        listener.close()
    assert outcome.ok, outcome.failure
    assert outcome.result.body == b"<html>Workcube ERP </html>"
