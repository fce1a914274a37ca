"""The web server behind ``l4agent serve``: /metrics, the status page, /healthz.

Handlers are plain functions from a :class:`Request` to a :class:`Response`, registered by path,
so the status page, the records view or a JSON endpoint is one ``route()`` call. Requests are
served by a bounded pool of worker threads; each connection has a read timeout.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from agent import __version__
from agent.config import WebConfig

log = logging.getLogger(__name__)


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
# Returns the authenticated user, or None to answer 401. Set by the security layer.
Authenticator = Callable[[Request], "str | None"]

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class _PooledServer(socketserver.TCPServer):
    """TCPServer whose requests run on a bounded thread pool instead of a thread each."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address, handler_class, workers: int, address_family=socket.AF_INET):
        self.address_family = address_family
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="http")
        super().__init__(address, handler_class)

    def process_request(self, request, client_address):
        self.pool.submit(self._work, request, client_address)

    def _work(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - one bad connection must not end the worker
            log.debug("request from %s failed", client_address, exc_info=True)
        finally:
            self.shutdown_request(request)

    def server_close(self):
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)


class WebServer:
    """Routes, optional authentication, and a server thread. ``port=0`` picks a free port."""

    def __init__(self, host: str, port: int, web: WebConfig | None = None):
        self.host = host
        self.port = port
        self.web = web or WebConfig()
        self.routes: dict[str, tuple[Handler, bool]] = {}
        self.authenticator: Authenticator | None = None
        self.ssl_context = None
        self._server: _PooledServer | None = None
        self._thread: threading.Thread | None = None

    def route(self, path: str, handler: Handler, public: bool = False) -> None:
        """Serve ``handler`` at ``path``; ``public`` routes (health checks) skip authentication."""
        self.routes[path] = (handler, public)

    def dispatch(self, request: Request) -> Response:
        entry = self.routes.get(request.path)
        if entry is None:
            return Response.text("not found\n", 404)
        handler, public = entry
        if not public and self.authenticator is not None:
            user = self.authenticator(request)
            if user is None:
                return Response(401, b"unauthorized\n",
                                headers={"WWW-Authenticate": 'Basic realm="l4agent", charset="UTF-8"'})
            request.user = user
        if request.method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed\n", headers={"Allow": "GET, HEAD"})
        return handler(request)

    def start(self) -> None:
        server = self
        timeout = self.web.request_timeout

        class _Handler(BaseHTTPRequestHandler):
            server_version = f"l4agent/{__version__}"
            sys_version = ""
            protocol_version = "HTTP/1.1"

            def setup(self):
                self.timeout = timeout  # per-connection read timeout: idle clients let go
                super().setup()

            def _serve(self):
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, parse_qs(parts.query),
                                  {k.lower(): v for k, v in self.headers.items()}, self.client_address[0])
                try:
                    response = server.dispatch(request)
                except Exception:  # noqa: BLE001 - a failing page answers 500, the server lives on
                    log.exception("handler for %s failed", parts.path)
                    response = Response.text("internal error\n", 500)
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in {**SECURITY_HEADERS, **response.headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format, *args):  # noqa: A002 - stdlib's signature
                log.debug("%s %s", self.address_string(), format % args)

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._server = _PooledServer((self.host, self.port), _Handler, self.web.max_threads, family)
        if self.ssl_context is not None:
            self._server.socket = self.ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="http-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
