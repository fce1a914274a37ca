"""Who may look, tried against the real server with curl and ssl: TLS (1.2+), mutual TLS, basic
auth with bcrypt; and the server under load, idle half-open connections and slow clients."""

from __future__ import annotations

import base64
import socket
import ssl
import subprocess
import threading
import time
import urllib.request

import bcrypt
import pytest

from l4agent.core.config import WebConfig
from l4agent.exporters.http import BasicAuth, Request, Response, WebServer, secure

PASSWORD = "s3cret-Scrape-pw"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()


def start_server(web: WebConfig) -> WebServer:
    server = WebServer("127.0.0.1", 0, web)
    server.route("/metrics", lambda r: Response.text("l4agent_up 1\n"))
    server.route("/healthz", lambda r: Response.text("ok\n"), public=True)
    secure(server, web)
    server.start()
    return server


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--noproxy", "*", "-o", "-", "-w", "\n%{http_code}", "--max-time", "5", *args],
                          capture_output=True, text=True, timeout=20)


@pytest.fixture(scope="module")
def tls_files(throwaway_ca):
    server = throwaway_ca.issue(common_name="127.0.0.1", days_valid=30)
    client = throwaway_ca.issue(common_name="prometheus", days_valid=30)
    return server, client, throwaway_ca


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # we build TLS 1.0/1.1 clients on purpose
def test_tls_and_basic_auth(tls_files):
    cert, _client, ca = tls_files
    server = start_server(WebConfig(tls_cert_file=cert.cert, tls_key_file=cert.key,
                                    basic_auth_users={"prometheus": HASH}))
    url = f"https://127.0.0.1:{server.port}/metrics"
    try:
        ok = curl("--cacert", cert.ca, "-u", f"prometheus:{PASSWORD}", url)
        assert ok.stdout.endswith("\n200") and "l4agent_up 1" in ok.stdout
        assert curl("--cacert", cert.ca, "-u", "prometheus:wrong", url).stdout.endswith("\n401")
        assert curl("--cacert", cert.ca, "-u", f"nobody:{PASSWORD}", url).stdout.endswith("\n401")
        missing = curl("--cacert", cert.ca, url)
        assert missing.stdout.endswith("\n401")
        # /healthz stays public for load balancers and systemd checks
        assert curl("--cacert", cert.ca, f"https://127.0.0.1:{server.port}/healthz").stdout.endswith("\n200")
        # plain HTTP to a TLS port gets nothing
        plain = curl(f"http://127.0.0.1:{server.port}/metrics")
        assert not plain.stdout.endswith("\n200")
        # TLS 1.0/1.1 are refused by the server whatever the client offers
        for version in (getattr(ssl.TLSVersion, "TLSv1"), getattr(ssl.TLSVersion, "TLSv1_1")):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.load_verify_locations(cert.ca)
            context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            context.maximum_version = version
            try:
                context.set_ciphers("ALL:@SECLEVEL=0")
            except ssl.SSLError:
                pass
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
                with pytest.raises((ssl.SSLError, OSError)):
                    with context.wrap_socket(raw, server_hostname="127.0.0.1"):
                        pass
        assert server.ssl_context.minimum_version == ssl.TLSVersion.TLSv1_2
    finally:
        server.stop()


def test_mutual_tls_requires_a_client_certificate(tls_files):
    cert, client, _ca = tls_files
    server = start_server(WebConfig(tls_cert_file=cert.cert, tls_key_file=cert.key, client_ca_file=cert.ca))
    url = f"https://127.0.0.1:{server.port}/metrics"
    try:
        assert not curl("--cacert", cert.ca, url).stdout.endswith("\n200")
        with_cert = curl("--cacert", cert.ca, "--cert", client.cert, "--key", client.key, url)
        assert with_cert.stdout.endswith("\n200"), with_cert.stderr
    finally:
        server.stop()


def test_basic_auth_caches_and_rejects_garbage():
    auth = BasicAuth({"prometheus": HASH})

    def request(value: str | None) -> Request:
        return Request("GET", "/metrics", {}, {"authorization": value} if value else {}, "127.0.0.1")

    good = "Basic " + base64.b64encode(f"prometheus:{PASSWORD}".encode()).decode()
    started = time.perf_counter()
    assert auth(request(good)) == "prometheus"
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(50):
        assert auth(request(good)) == "prometheus"
    cached = (time.perf_counter() - started) / 50
    assert cached < first / 10  # bcrypt once, then the cache
    for bad in (None, "Bearer x", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(),
                "Basic " + base64.b64encode(b"prometheus:" + PASSWORD.encode() + b"x").decode()):
        assert auth(request(bad)) is None


def test_idle_and_slow_clients_cannot_exhaust_workers():
    server = start_server(WebConfig(max_threads=2, request_timeout=1.0))
    idle = []
    try:
        for _ in range(100):  # far more idle connections than workers
            idle.append(socket.create_connection(("127.0.0.1", server.port)))
        slow = socket.create_connection(("127.0.0.1", server.port))
        slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finishes its head
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for _ in range(10):
            with opener.open(f"http://127.0.0.1:{server.port}/metrics", timeout=2) as response:
                assert response.status == 200
        time.sleep(1.5)
        slow.settimeout(2)
        assert slow.recv(100) == b""  # dropped at request_timeout
    finally:
        for sock in idle:
            sock.close()
        server.stop()


def test_oversized_and_malformed_heads():
    server = start_server(WebConfig())
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 431")
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"NONSENSE\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 400")
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 405")
    finally:
        server.stop()


@pytest.mark.slow
def test_load_50_scrapers_and_200_half_open_connections(tmp_path, write_config):
    """50 concurrent scrapers for 30 s plus 200 idle half-open connections against a real
    ``l4agent serve``: zero failed scrapes, p99 latency printed, the thread count bounded."""
    from tests.e2e.serve_process import ServeProcess

    config = write_config(f'[agent]\ninterval = "1s"\nstate_dir = "{tmp_path}/state"\n')
    serve = ServeProcess(config, str(tmp_path / "serve.log"))
    serve.wait_healthy()
    half_open = [socket.create_connection(("127.0.0.1", serve.port)) for _ in range(200)]
    for sock in half_open[:100]:
        sock.sendall(b"GET /metrics HTTP/1.1\r\n")  # a head that never ends
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 30
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def scraper() -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                with opener.open(serve.url + "/metrics", timeout=10) as response:
                    body = response.read()
                    ok = response.status == 200 and b"l4agent_up" in body
            except OSError as exc:
                ok, body = False, str(exc).encode()
            with lock:
                latencies.append(time.perf_counter() - started)
                if not ok:
                    failures.append(body[:200].decode(errors="replace"))

    max_threads = 0
    threads = [threading.Thread(target=scraper) for _ in range(50)]
    try:
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            with open(f"/proc/{serve.process.pid}/status") as status:
                count = int(next(line for line in status if line.startswith("Threads:")).split()[1])
            max_threads = max(max_threads, count)
            time.sleep(0.5)
    finally:
        for thread in threads:
            thread.join()
        for sock in half_open:
            sock.close()
        assert serve.stop() == 0
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[int(len(latencies) * 0.99)]
    print(f"\nload: {len(latencies)} scrapes, {len(failures)} failed, p50 {p50 * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms, max threads {max_threads}")
    assert failures == []
    assert len(latencies) > 500
    assert max_threads <= 40  # workers (8) + selector + collectors + services, never one per connection
