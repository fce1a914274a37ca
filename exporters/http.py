"""The web server behind ``l4agent serve``: /metrics, the status page, /healthz.

Handlers are plain functions from a :class:`Request` to a :class:`Response`, registered by path,
so the status page, the records view or a JSON endpoint is one ``route()`` call.

Why not http.server: a thread per connection lets idle or slow clients exhaust the agent. Here
one selector thread accepts connections, finishes TLS handshakes and reads request heads without
blocking; only a complete request reaches the bounded worker pool. A connection that has not
sent a complete head within ``request_timeout`` is closed, and so is an idle keep-alive one.
The agent only serves GET and HEAD: a request that announces a body (Content-Length,
Transfer-Encoding) is answered 413 and its connection closed, so a body is never read as the
next request.

Limits (see docs/security.md):

- Responses are written by the selector thread, not the workers: a worker hands its response
  over and is free; a client that reads slowly has ``request_timeout`` in total to take the
  whole response (a deadline per response, not per send), then it is dropped.
- Connections are capped from the real file-descriptor limit (``RLIMIT_NOFILE``, raised to
  its hard limit at start): a quarter of it (at least 128) stays for collectors, databases and
  files. When full, the oldest waiting connection makes room. ``accept`` failing for want of
  descriptors (EMFILE) closes the oldest waiting connections, or with none pauses accepting
  briefly: it never spins.
- Basic auth: see :class:`BasicAuth` (bcrypt one at a time, failed checks rate-limited).
"""

from __future__ import annotations

import errno
import logging
import resource
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, unquote, urlsplit

from l4agent import __version__
from l4agent.core.config import WebConfig

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 16 * 1024
#: the most connections the server holds, whatever the descriptor limit allows
MAX_CONNECTIONS = 8192
#: what the agent wants as its descriptor limit; the unit sets LimitNOFILE to it
WANTED_NOFILE = 65536
#: seconds accepting pauses after accept() failed for want of file descriptors
ACCEPT_PAUSE = 0.1
#: waiting connections closed to make room when accept() finds no descriptor left
EMFILE_DROPS = 8


def connection_budget() -> tuple[int, int]:
    """(connections the server may hold, the descriptor limit): the soft RLIMIT_NOFILE, raised
    towards the hard limit first, minus a quarter (at least 128) kept for everything else."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = WANTED_NOFILE if hard == resource.RLIM_INFINITY else min(WANTED_NOFILE, hard)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
                soft = wanted
            except (ValueError, OSError):
                pass
    except (ValueError, OSError):
        soft = 1024
    limit = WANTED_NOFILE if soft == resource.RLIM_INFINITY else soft
    reserve = max(128, limit // 4)
    return max(16, min(MAX_CONNECTIONS, limit - reserve)), limit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    client: str
    user: str | None = None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode("utf-8"))

    @classmethod
    def html(cls, html: str, status: int = 200) -> Response:
        return cls(status, html.encode("utf-8"), "text/html; charset=utf-8")

    @classmethod
    def json(cls, data: object, status: int = 200) -> Response:
        import json

        return cls(status, json.dumps(data, indent=1, default=str).encode("utf-8"), "application/json")


Handler = Callable[[Request], Response]
# Returns the authenticated user, or None to answer 401.
Authenticator = Callable[[Request], "str | None"]

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class BadRequest(ValueError):
    pass


class Throttled(Exception):
    """Too many failed credential checks just now: answered 429 without checking."""


def parse_head(head: bytes, client: str) -> tuple[Request, bool]:
    """Parse a request head; returns the request and whether the client wants keep-alive."""
    try:
        text = head.decode("iso-8859-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes every byte
        raise BadRequest("undecodable head") from exc
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest("malformed request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest("malformed header")
        headers[name.lower()] = value.strip()
    split = urlsplit(target)
    connection = headers.get("connection", "").lower()
    keep_alive = (version == "HTTP/1.1" and connection != "close") or connection == "keep-alive"
    request = Request(method, unquote(split.path) or "/", parse_qs(split.query), headers, client)
    return request, keep_alive


class _Conn:
    """A client connection while the selector owns it (handshake, reading the head)."""

    __slots__ = ("sock", "client", "buffer", "deadline", "handshaking", "out", "keep_alive")

    def __init__(self, sock: socket.socket, client: str, deadline: float, handshaking: bool):
        self.sock = sock
        self.client = client
        self.buffer = b""
        self.deadline = deadline
        self.handshaking = handshaking
        self.out: memoryview | None = None  # a response being written by the selector
        self.keep_alive = False


class WebServer:
    """Routes, optional authentication and TLS, a selector thread and a worker pool.

    ``port=0`` picks a free port (read ``.port`` after ``start()``).
    """

    def __init__(self, host: str, port: int, web: WebConfig | None = None):
        self.host = host
        self.port = port
        self.web = web or WebConfig()
        self.routes: dict[str, tuple[Handler, bool]] = {}
        self.authenticator: Authenticator | None = None
        self.ssl_context: ssl.SSLContext | None = None
        self._listener: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wakeup_r: socket.socket | None = None
        self._wakeup_w: socket.socket | None = None
        self._returned: list[_Conn] = []
        self._returned_lock = threading.Lock()
        self.max_connections, self.fd_limit = MAX_CONNECTIONS, 0  # set from RLIMIT_NOFILE at start()
        self._accept_paused_until: float | None = None
        self.stats = {"requests": 0, "rejected": 0, "timeouts": 0, "bodies_refused": 0, "fd_exhausted": 0,
                      "throttled": 0}

    def route(self, path: str, handler: Handler, public: bool = False) -> None:
        """Serve ``handler`` at ``path``; ``public`` routes (health checks) skip authentication."""
        self.routes[path] = (handler, public)

    def dispatch(self, request: Request) -> Response:
        entry = self.routes.get(request.path)
        if entry is None:
            return Response.text("not found\n", 404)
        handler, public = entry
        if not public and self.authenticator is not None:
            try:
                user = self.authenticator(request)
            except Throttled:
                self.stats["throttled"] += 1
                return Response(429, b"too many failed logins; try again shortly\n", headers={"Retry-After": "1"})
            if user is None:
                return Response(401, b"unauthorized\n",
                                headers={"WWW-Authenticate": 'Basic realm="l4agent", charset="UTF-8"'})
            request.user = user
        if request.method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed\n", headers={"Allow": "GET, HEAD"})
        return handler(request)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.max_connections, self.fd_limit = connection_budget()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
            listener.listen(512)
        except OSError:
            listener.close()
            raise
        listener.setblocking(False)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ, None)
        self._wakeup_r, self._wakeup_w = socket.socketpair()
        self._wakeup_r.setblocking(False)
        self._selector.register(self._wakeup_r, selectors.EVENT_READ, "wakeup")
        self._pool = ThreadPoolExecutor(max_workers=self.web.max_threads, thread_name_prefix="http")
        self._thread = threading.Thread(target=self._loop, name="http-selector", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping.set()
        self._wake()
        self._thread.join(timeout=2)
        self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _wake(self) -> None:
        try:
            if self._wakeup_w is not None:
                self._wakeup_w.send(b"x")
        except OSError:
            pass

    # -- the selector thread ---------------------------------------------------------------

    def _loop(self) -> None:
        selector = self._selector
        conns: dict[int, _Conn] = {}
        timeout = self.web.request_timeout
        try:
            while not self._stopping.is_set():
                now = time.monotonic()
                next_deadline = min((c.deadline for c in conns.values()), default=now + 1.0)
                if self._accept_paused_until is not None:
                    next_deadline = min(next_deadline, self._accept_paused_until)
                for key, _events in selector.select(timeout=max(0.01, min(1.0, next_deadline - now))):
                    if key.data is None:
                        self._accept(conns, timeout)
                    elif key.data == "wakeup":
                        try:
                            self._wakeup_r.recv(4096)
                        except OSError:
                            pass
                    elif key.data.out is not None:
                        self._writable(conns, key.data, timeout)
                    else:
                        self._readable(conns, key.data)
                self._take_back(conns, timeout)
                now = time.monotonic()
                if self._accept_paused_until is not None and now >= self._accept_paused_until:
                    self._accept_paused_until = None
                    selector.register(self._listener, selectors.EVENT_READ, None)
                for conn in [c for c in conns.values() if c.deadline <= now]:
                    self.stats["timeouts"] += 1
                    self._drop(conns, conn)
        finally:
            for conn in list(conns.values()):
                self._drop(conns, conn)
            selector.close()
            self._listener.close()
            self._wakeup_r.close()
            self._wakeup_w.close()

    def _accept(self, conns: dict[int, _Conn], timeout: float) -> None:
        for _ in range(64):  # drain the backlog in bursts, then serve what is readable
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self._out_of_descriptors(conns)
                return
            if len(conns) >= self.max_connections:
                # Full: the oldest connection still waiting makes room (it is the likeliest idler).
                self.stats["rejected"] += 1
                self._drop(conns, min(conns.values(), key=lambda c: c.deadline))
            sock.setblocking(False)
            handshaking = False
            if self.ssl_context is not None:
                try:
                    sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                except (OSError, ssl.SSLError):
                    sock.close()
                    continue
                handshaking = True
            conn = _Conn(sock, str(address[0]), time.monotonic() + timeout, handshaking)
            conns[sock.fileno()] = conn
            self._selector.register(sock, selectors.EVENT_READ, conn)
            if handshaking:
                self._handshake(conns, conn)

    def _out_of_descriptors(self, conns: dict[int, _Conn]) -> None:
        """accept() failed for want of descriptors: the connection is still queued, so the
        listener stays readable. Free some (the oldest waiting connections, EMFILE_DROPS), or
        with none to free stop accepting for ACCEPT_PAUSE instead of spinning on it."""
        self.stats["fd_exhausted"] += 1
        if self.stats["fd_exhausted"] in (1, 100, 10000):
            log.warning("out of file descriptors (limit %d) accepting connections; dropping the oldest idle "
                        "ones or pausing accepts (raise LimitNOFILE)", self.fd_limit)
        waiting = sorted((c for c in conns.values() if c.out is None), key=lambda c: c.deadline)
        for conn in waiting[:EMFILE_DROPS]:
            self.stats["rejected"] += 1
            self._drop(conns, conn)
        if not waiting and self._accept_paused_until is None:
            self._accept_paused_until = time.monotonic() + ACCEPT_PAUSE
            try:
                self._selector.unregister(self._listener)
            except (KeyError, ValueError):
                pass

    def _handshake(self, conns: dict[int, _Conn], conn: _Conn) -> bool:
        try:
            conn.sock.do_handshake()
        except ssl.SSLWantReadError:
            return False
        except ssl.SSLWantWriteError:
            self._selector.modify(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
            return False
        except (ssl.SSLError, OSError) as exc:
            log.debug("TLS handshake with %s failed: %s", conn.client, exc)
            self._drop(conns, conn)
            return False
        conn.handshaking = False
        self._selector.modify(conn.sock, selectors.EVENT_READ, conn)
        return True

    def _readable(self, conns: dict[int, _Conn], conn: _Conn) -> None:
        if conn.handshaking and not self._handshake(conns, conn):
            return
        try:
            while True:
                chunk = conn.sock.recv(8192)
                if not chunk:
                    self._drop(conns, conn)
                    return
                conn.buffer += chunk
                if b"\r\n\r\n" in conn.buffer or len(conn.buffer) > MAX_HEAD_BYTES:
                    break
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except OSError:
            self._drop(conns, conn)
            return
        end = conn.buffer.find(b"\r\n\r\n")
        if end > MAX_HEAD_BYTES or (end < 0 and len(conn.buffer) > MAX_HEAD_BYTES):
            self._detach(conns, conn)
            self._pool.submit(self._reply_error, conn, 431)
            return
        if end < 0:
            return
        head, conn.buffer = conn.buffer[:end], conn.buffer[end + 4:]
        self._detach(conns, conn)
        self._pool.submit(self._serve, conn, head)

    def _finish(self, conns: dict[int, _Conn], conn: _Conn) -> None:
        """Close after the last response: what the client sent meanwhile (a refused body) is
        read and dropped first, or closing would reset the connection under the response."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            for _ in range(16):
                if not conn.sock.recv(65536):
                    break
        except (OSError, ValueError):
            pass
        self._drop(conns, conn)

    def _detach(self, conns: dict[int, _Conn], conn: _Conn) -> None:
        conns.pop(conn.sock.fileno(), None)
        try:
            self._selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass

    def _drop(self, conns: dict[int, _Conn], conn: _Conn) -> None:
        self._detach(conns, conn)
        try:
            conn.sock.close()
        except OSError:
            pass

    def _take_back(self, conns: dict[int, _Conn], timeout: float) -> None:
        """Responses handed over by workers: written from here, within ``timeout`` in total."""
        with self._returned_lock:
            returned, self._returned = self._returned, []
        for conn in returned:
            if self._stopping.is_set():
                conn.sock.close()
                continue
            conn.deadline = time.monotonic() + timeout  # the whole response, however it trickles
            try:
                conn.sock.setblocking(False)
                conns[conn.sock.fileno()] = conn
                self._selector.register(conn.sock, selectors.EVENT_WRITE, conn)
            except (OSError, ValueError):
                conns.pop(conn.sock.fileno(), None)
                conn.sock.close()
                continue
            self._writable(conns, conn, timeout)

    def _writable(self, conns: dict[int, _Conn], conn: _Conn, timeout: float) -> None:
        try:
            while conn.out:
                sent = conn.sock.send(conn.out)
                conn.out = conn.out[sent:]
        except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError):
            return
        except ssl.SSLWantReadError:
            self._selector.modify(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
            return
        except OSError:
            self._drop(conns, conn)
            return
        conn.out = None
        if not conn.keep_alive:
            self._finish(conns, conn)
            return
        conn.deadline = time.monotonic() + timeout
        self._selector.modify(conn.sock, selectors.EVENT_READ, conn)
        if conn.buffer:  # a pipelined request already arrived
            self._readable(conns, conn)

    # -- workers ---------------------------------------------------------------------------

    def _serve(self, conn: _Conn, head: bytes) -> None:
        self.stats["requests"] += 1
        try:
            request, keep_alive = parse_head(head, conn.client)
        except BadRequest:
            self._reply_error(conn, 400)
            return
        if request.headers.get("transfer-encoding") or request.headers.get("content-length", "0").strip() != "0":
            # GET and HEAD only: a body would be read as the next request. Refuse and close.
            self.stats["bodies_refused"] += 1
            self._reply_error(conn, 413)
            return
        try:
            response = self.dispatch(request)
        except Exception:  # noqa: BLE001 - a failing page answers 500, the server lives on
            log.exception("handler for %s failed", request.path)
            response = Response.text("internal error\n", 500)
        self._send(conn, request.method, response, keep_alive)

    def _send(self, conn: _Conn, method: str, response: Response, keep_alive: bool) -> None:
        """Hand the response to the selector thread, which writes it (the worker is free now)."""
        reason = HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else ""
        headers = {
            "Server": f"l4agent/{__version__}",
            "Content-Type": response.content_type,
            "Content-Length": str(len(response.body)),
            "Connection": "keep-alive" if keep_alive else "close",
            **SECURITY_HEADERS,
            **response.headers,
        }
        head = f"HTTP/1.1 {response.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        payload = head.encode("latin-1") + b"\r\n" + (b"" if method == "HEAD" else response.body)
        conn.out = memoryview(payload)
        conn.keep_alive = keep_alive
        with self._returned_lock:
            self._returned.append(conn)
        self._wake()

    def _reply_error(self, conn: _Conn, status: int) -> None:
        self._send(conn, "GET", Response.text(f"{HTTPStatus(status).phrase.lower()}\n", status), False)


# ---------------------------------------------------------------------------------------------
# Who may look: TLS and basic auth from [agent.web]


def make_ssl_context(web: WebConfig) -> ssl.SSLContext | None:
    """A server context with TLS 1.2 at least, and client certificates required when a CA is set."""
    if not web.tls_cert_file:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(web.tls_cert_file, web.tls_key_file)
    if web.client_ca_file:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(web.client_ca_file)
    return context


class _Bucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True

    def give_back(self) -> None:
        with self.lock:
            self.tokens = min(self.burst, self.tokens + 1)


#: bcrypt checks that did not succeed, per second (and saved up): beyond it, 429 without checking
FAILED_CHECKS_PER_SECOND = 5.0
FAILED_CHECKS_BURST = 10.0
#: bcrypt checks running at once (each takes a core for ~0.25 s at cost 12)
BCRYPT_AT_ONCE = 1
#: bcrypt reads at most this many bytes of a password; longer ones are refused, not cut
BCRYPT_MAX_PASSWORD = 72


def bcrypt_cost(hashed: str) -> int:
    """The cost of a ``$2b$12$...`` hash (12)."""
    return int(hashed.split("$")[2])


class BasicAuth:
    """Basic auth against bcrypt hashes.

    - A successful check is cached (keyed by a SHA-256 of the credentials) so Prometheus's
      scrapes cost one bcrypt, not one each; a scraper whose credentials were checked once
      never waits for bcrypt again.
    - Unknown users are checked against a dummy hash of the highest configured cost, so timing
      does not tell which users exist.
    - bcrypt runs BCRYPT_AT_ONCE at a time and checks that fail are rate-limited
      (FAILED_CHECKS_PER_SECOND, FAILED_CHECKS_BURST): a request that finds the bcrypt slot
      busy or the failure budget spent is answered 429 at once, so wrong-password floods take
      at most one core and never hold the workers that serve scrapes.
    - A password longer than 72 bytes (bcrypt's limit) is refused like a wrong one.
    """

    def __init__(self, users: dict[str, str]):
        import secrets

        import bcrypt

        self._bcrypt = bcrypt
        self.users = {name: hashed.encode() for name, hashed in users.items()}
        costs = [bcrypt_cost(hashed) for hashed in users.values()]
        self.cost = max(costs, default=12)
        self._dummy = bcrypt.hashpw(secrets.token_bytes(18), bcrypt.gensalt(rounds=self.cost))
        self._cache: dict[bytes, str] = {}
        self._lock = threading.Lock()
        self._slot = threading.BoundedSemaphore(BCRYPT_AT_ONCE)
        self._failures = _Bucket(FAILED_CHECKS_PER_SECOND, FAILED_CHECKS_BURST)
        self.checks = 0  # bcrypt checks run (for tests and docs)

    def __call__(self, request: Request) -> str | None:
        import base64
        import hashlib
        import hmac

        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if not sep:
            return None
        digest = hashlib.sha256(f"{user}\0{password}".encode()).digest()
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None and hmac.compare_digest(cached, user):
            return user
        hashed = self.users.get(user)
        secret = password.encode("utf-8")
        if not self._failures.take():
            raise Throttled()
        if not self._slot.acquire(blocking=False):
            self._failures.give_back()
            raise Throttled()
        try:
            self.checks += 1
            if len(secret) > BCRYPT_MAX_PASSWORD:
                # bcrypt refuses it (and older versions cut it): same cost, and never a match
                secret, hashed = secret[:BCRYPT_MAX_PASSWORD], None
            try:
                ok = self._bcrypt.checkpw(secret, hashed if hashed else self._dummy)
            except ValueError:  # a NUL byte or another input bcrypt will not take
                ok = False
        finally:
            self._slot.release()
        if not ok or hashed is None:
            return None
        self._failures.give_back()  # only failures count against the budget
        with self._lock:
            if len(self._cache) > 1024:
                self._cache.clear()
            self._cache[digest] = user
        return user


def secure(server: WebServer, web: WebConfig) -> None:
    """Apply ``[agent.web]``: TLS (and mutual TLS) and basic auth."""
    server.ssl_context = make_ssl_context(web)
    if web.basic_auth_users:
        server.authenticator = BasicAuth(web.basic_auth_users)
