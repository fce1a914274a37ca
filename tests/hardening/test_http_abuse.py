"""Issue 17 items 4-8 and 13: the web server under abuse, loopback only, each bounded in time.
Every attack is measured the same way: a well-behaved scraper's success rate and p95 latency
while it runs."""

from __future__ import annotations

import base64
import http.client
import logging
import os
import socket
import subprocess
import sys
import threading
import time

import bcrypt
import pytest

from l4agent.core.config import WebConfig
from l4agent.exporters import http as http_module
from l4agent.exporters.http import BasicAuth, Request, Response, WebServer, secure
from tests.conftest import REPO

PASSWORD = "s3cret-Scrape-pw"
HASH10 = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()
BIG = b"x" * (4 * 1024 * 1024)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def start(web: WebConfig, calls: list | None = None) -> WebServer:
    server = WebServer("127.0.0.1", 0, web)
    server.route("/metrics", lambda r: Response.text("l4agent_up 1\n"))
    server.route("/healthz", lambda r: Response.text("ok\n"), public=True)
    server.route("/big", lambda r: Response(200, BIG), public=True)
    server.route("/smuggled", lambda r: (calls.append(r.path) if calls is not None else None)
                 or Response.text("smuggled\n"), public=True)
    secure(server, web)
    server.start()
    return server


def get(port: int, path: str = "/metrics", headers: dict | None = None, timeout: float = 5.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


class Scraper:
    """A well-behaved scraper: one GET every ``every`` seconds on a new connection."""

    def __init__(self, port: int, headers: dict | None = None, every: float = 0.1):
        self.port, self.headers, self.every = port, headers, every
        self.results: list[tuple[bool, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                ok = get(self.port, headers=self.headers, timeout=5.0) == 200
            except OSError:
                ok = False
            self.results.append((ok, time.perf_counter() - started))
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)

    @property
    def success(self) -> float:
        return sum(ok for ok, _ in self.results) / max(1, len(self.results))

    @property
    def p95(self) -> float:
        latencies = sorted(latency for _, latency in self.results)
        return latencies[int(len(latencies) * 0.95)] if latencies else float("inf")

    def report(self) -> str:
        return f"{len(self.results)} scrapes, success {self.success:.0%}, p95 {self.p95 * 1000:.0f} ms"


# -- 13: a body is never parsed as the next request -----------------------------------------------


def test_request_bodies_are_refused_not_parsed_as_the_next_request():
    calls: list[str] = []
    server = start(WebConfig(), calls)
    try:
        smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        for method in (b"POST", b"GET"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
                sock.sendall(method + b" /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: "
                             + str(len(smuggled)).encode() + b"\r\n\r\n" + smuggled)
                received = b""
                while chunk := sock.recv(65536):
                    received += chunk
            assert received.startswith(b"HTTP/1.1 413"), received[:100]
            assert received.count(b"HTTP/1.1") == 1 and b"smuggled" not in received
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                         + hex(len(smuggled))[2:].encode() + b"\r\n" + smuggled + b"\r\n0\r\n\r\n")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
            assert received.startswith(b"HTTP/1.1 413") and received.count(b"HTTP/1.1") == 1
        assert calls == []
        assert get(server.port, "/healthz") == 200  # a plain GET still works
    finally:
        server.stop()


# -- 8: long passwords, malformed input -----------------------------------------------------------


def test_password_over_72_bytes_is_401_without_a_traceback(caplog):
    server = start(WebConfig(basic_auth_users={"prometheus": HASH10}))
    try:
        with caplog.at_level(logging.ERROR):
            for password in ("p" * 100, PASSWORD + "x" * 80, "ü" * 40, "a\0b"):
                assert get(server.port, headers={"Authorization": basic("prometheus", password)}) == 401
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert get(server.port, headers={"Authorization": basic("prometheus", PASSWORD)}) == 200
    finally:
        server.stop()


def test_hash_password_refuses_long_passwords_cleanly(run_cli):
    done = run_cli("hash-password", "--stdin", input="x" * 100 + "\n")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: the password is 100 bytes; bcrypt takes at most 72")
    ok = run_cli("hash-password", "--stdin", "--cost", "10", input="fine-password\n")
    assert ok.returncode == 0 and ok.stdout.startswith("$2b$10$")


# -- 4: user names do not leak by timing -----------------------------------------------------------


def test_unknown_and_known_users_cost_the_same(monkeypatch):
    hash12 = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=12)).decode()  # what hash-password makes
    auth = BasicAuth({"prometheus": hash12})
    monkeypatch.setattr(auth, "_failures", http_module._Bucket(1000, 1000))
    assert auth.cost == 12 and http_module.bcrypt_cost(auth._dummy.decode()) == 12

    def check(user: str, i: int) -> float:
        request = Request("GET", "/metrics", {}, {"authorization": basic(user, f"wrong{i}")}, "127.0.0.1")
        started = time.perf_counter()
        assert auth(request) is None
        return time.perf_counter() - started

    # interleaved, and the fastest of each: the least disturbed by whatever else the host runs
    known, unknown = [], []
    for i in range(5):
        known.append(check("prometheus", i))
        unknown.append(check("nobody", i))
    known_s, unknown_s = min(known), min(unknown)
    print(f"bcrypt cost 12: known user {known_s * 1000:.0f} ms, unknown user {unknown_s * 1000:.0f} ms")
    # the same cost is a ratio of 1; a dummy of cost 10 against 12 was 0.25. The bounds leave room
    # for a busy host (2 cores shared with other test runs).
    assert 0.6 < unknown_s / known_s < 1.7, f"known {known_s * 1000:.0f} ms, unknown {unknown_s * 1000:.0f} ms"


# -- 5: a wrong-password flood does not starve a scraper -----------------------------------------


def test_wrong_password_flood_leaves_scrapes_fast():
    server = start(WebConfig(max_threads=4, basic_auth_users={"prometheus": HASH10}))
    good = {"Authorization": basic("prometheus", PASSWORD)}
    stop = threading.Event()
    answers: dict[int, int] = {}
    lock = threading.Lock()

    def attacker(n: int) -> None:
        while not stop.is_set():
            try:
                status = get(server.port, headers={"Authorization": basic("prometheus", f"guess{n}-{time.time()}")})
            except OSError:
                status = 0
            with lock:
                answers[status] = answers.get(status, 0) + 1

    try:
        assert get(server.port, headers=good) == 200  # the scraper's credentials, checked once
        auth = server.authenticator
        checks_before = getattr(auth, "checks", 0)
        attackers = [threading.Thread(target=attacker, args=(n,), daemon=True) for n in range(64)]
        started = time.monotonic()
        for thread in attackers:
            thread.start()
        with Scraper(server.port, good) as scraper:
            time.sleep(4.0)
        stop.set()
        for thread in attackers:
            thread.join(10)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        server.stop()
    print(f"wrong-password flood (64 clients, {sum(answers.values())} attempts): {scraper.report()}; "
          f"bcrypt checks {getattr(auth, 'checks', 0) - checks_before} in {elapsed:.1f}s; answers {answers}")
    assert scraper.success == 1.0 and scraper.p95 < 0.5, scraper.report()
    budget = http_module.FAILED_CHECKS_BURST + http_module.FAILED_CHECKS_PER_SECOND * elapsed + 2
    assert auth.checks - checks_before <= budget
    assert 500 not in answers and answers.get(429, 0) > 0


# -- 7: slow readers do not hold workers ---------------------------------------------------------


def test_slow_readers_do_not_hold_workers():
    server = start(WebConfig(max_threads=2, request_timeout=3.0))
    readers = []
    try:
        for _ in range(20):  # pipelined requests for a big page, never read
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n" * 20)
            readers.append(sock)
        with Scraper(server.port) as scraper:
            time.sleep(3.0)
        print(f"20 slow readers pipelining 4 MiB pages: {scraper.report()}")
        assert scraper.success == 1.0 and scraper.p95 < 0.5, scraper.report()
        # each reader had request_timeout for its whole response; then it is dropped
        deadline = time.monotonic() + 5.0
        while server.stats["timeouts"] < len(readers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.stats["timeouts"] >= len(readers)
    finally:
        for sock in readers:
            sock.close()
        server.stop()


# -- 6: out of file descriptors: no spinning, scrapes keep working --------------------------------

SERVER_SCRIPT = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
from l4agent.core.config import WebConfig
from l4agent.exporters.http import Response, WebServer
server = WebServer("127.0.0.1", 0, WebConfig(max_threads=4, request_timeout=60.0))
server.route("/metrics", lambda r: Response.text("l4agent_up 1\\n"))
server.start()
print(server.port, server.max_connections, server.fd_limit, flush=True)
held = []
if sys.argv[1] == "eat":  # something else in the process takes the descriptors
    try:
        while True:
            held.append(open("/dev/null"))
    except OSError:
        pass
    for handle in held[-8:]:
        handle.close()  # a few left for the connections
    print(len(held), flush=True)
time.sleep(60)
"""


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("mode", ["idle-clients", "eat"])
def test_descriptor_exhaustion_neither_spins_nor_stops_scrapes(mode):
    process = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, mode], stdout=subprocess.PIPE, text=True,
                               cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    idle = []
    try:
        port, max_connections, limit = map(int, process.stdout.readline().split())
        assert limit == 256 and max_connections == 128  # a quarter (at least 128) stays for the rest
        if mode == "eat":
            process.stdout.readline()
        for _ in range(300 if mode == "idle-clients" else 40):  # more than the limit / than what is left
            try:
                idle.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        time.sleep(0.5)
        cpu_before, wall_before = cpu_seconds(process.pid), time.monotonic()
        with Scraper(port, every=0.1) as scraper:
            time.sleep(3.0)
        cpu = (cpu_seconds(process.pid) - cpu_before) / (time.monotonic() - wall_before)
        print(f"out of descriptors ({mode}): {scraper.report()}, server CPU {cpu:.0%}")
        assert scraper.success >= 0.95 and scraper.p95 < 1.0, scraper.report()
        assert cpu < 0.5, f"the server spins: {cpu:.0%} CPU"
    finally:
        for sock in idle:
            sock.close()
        process.kill()
        process.wait(10)
