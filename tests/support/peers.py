"""Real protocol peers on loopback for tests: SMTP server, recording HTTP server, throwaway CA.

Nothing is mocked: the SMTP server is aiosmtpd, the HTTP server is the stdlib
ThreadingHTTPServer, certificates are real X.509 made with ``cryptography``.
Every object owns its resources (threads, sockets, temp dirs) and releases them in
``close()``; all are context managers. There is no module-level state.
"""

from __future__ import annotations

import datetime as dt
import email
import email.message
import email.policy
import ipaddress
import json
import shutil
import socket
import ssl
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = [
    "IssuedCert",
    "ReceivedMail",
    "RecordedRequest",
    "RecordingHttpServer",
    "SmtpServer",
    "ThrowawayCA",
    "free_port",
]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _wait_len(cond: threading.Condition, items: list[Any], n: int, timeout: float, what: str) -> list[Any]:
    with cond:
        if not cond.wait_for(lambda: len(items) >= n, timeout=timeout):
            raise TimeoutError(f"got {len(items)} {what} after {timeout}s, wanted {n}: {items!r}"[:2000])
        return list(items)


# --------------------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class ReceivedMail:
    """One message accepted by :class:`SmtpServer`."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # raw DATA as received
    message: email.message.EmailMessage  # parsed with email.policy.default
    peer: Any
    tls: bool  # True if the session ran STARTTLS (or implicit TLS)
    login: str | None  # authenticated user, if any

    @property
    def subject(self) -> str | None:
        return self.message["Subject"]

    def text(self) -> str:
        """Plain-text body (the text/plain part if multipart)."""
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""


class _MailHandler:
    def __init__(self, owner: SmtpServer) -> None:
        self._owner = owner

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if self._owner.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        login = getattr(session, "auth_data", None)
        mail = ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            data=data,
            message=email.message_from_bytes(data, policy=email.policy.default),
            peer=session.peer,
            tls=session.ssl is not None or self._owner.implicit_tls,
            login=login.login.decode() if login is not None and hasattr(login, "login") else None,
        )
        self._owner._record(mail)
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd SMTP server on ``127.0.0.1:<free port>`` that keeps every message.

    - ``tls_context``: server SSLContext offered via STARTTLS; ``require_starttls`` makes it mandatory.
    - ``smtps_context``: implicit TLS (SMTPS) on connect instead.
    - ``user``/``password``: AUTH LOGIN and PLAIN accept exactly these; then MAIL FROM needs
      a successful AUTH unless ``require_auth=False``. AUTH is only offered after TLS when
      STARTTLS is configured (``auth_require_tls`` defaults to "tls_context given").
    Every AUTH attempt is recorded in ``auth_attempts`` as (mechanism, login, success).
    """

    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        smtps_context: ssl.SSLContext | None = None,
        user: str | None = None,
        password: str | None = None,
        require_auth: bool | None = None,
        auth_require_tls: bool | None = None,
    ) -> None:
        from aiosmtpd.controller import Controller  # local: keep importing promtools cheap

        self.host = "127.0.0.1"
        self.user, self.password = user, password
        self.require_auth = (user is not None) if require_auth is None else require_auth
        self.implicit_tls = smtps_context is not None
        self.messages: list[ReceivedMail] = []
        self.auth_attempts: list[tuple[str, str, bool]] = []
        self._cond = threading.Condition()
        kwargs: dict[str, Any] = {
            "server_hostname": "localhost",  # avoid socket.getfqdn() (slow without DNS)
            # aiosmtpd only counts STARTTLS as TLS; under implicit TLS (SMTPS) the connection
            # is encrypted anyway, so AUTH must not wait for a STARTTLS that never comes.
            "auth_require_tls": (tls_context is not None and smtps_context is None)
            if auth_require_tls is None
            else auth_require_tls,
        }
        if tls_context is not None:
            kwargs["tls_context"] = tls_context
            kwargs["require_starttls"] = require_starttls
        if smtps_context is not None:
            kwargs["ssl_context"] = smtps_context
        if user is not None:
            kwargs["authenticator"] = self._authenticate
        last: Exception | None = None
        for _ in range(3):  # another process may grab the free port between probe and bind
            self.port = free_port()
            self._controller = Controller(_MailHandler(self), hostname=self.host, port=self.port, **kwargs)
            try:
                self._controller.start()
                break
            except OSError as exc:
                last = exc
        else:
            raise RuntimeError(f"SMTP server could not bind: {last}")

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = False
        login = ""
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            ok = login == self.user and auth_data.password.decode("utf-8", "replace") == self.password
        with self._cond:
            self.auth_attempts.append((mechanism, login, ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def _record(self, mail: ReceivedMail) -> None:
        with self._cond:
            self.messages.append(mail)
            self._cond.notify_all()

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def wait_for(self, n: int = 1, timeout: float = 5.0) -> list[ReceivedMail]:
        """Block until at least ``n`` messages arrived; returns a copy of them (TimeoutError otherwise)."""
        return _wait_len(self._cond, self.messages, n, timeout, "messages")

    def close(self) -> None:
        ctl, self._controller = getattr(self, "_controller", None), None
        if ctl is not None:
            try:
                ctl.stop()
            except (AssertionError, RuntimeError):
                pass  # already stopped

    def __enter__(self) -> SmtpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class RecordedRequest:
    """One request seen by :class:`RecordingHttpServer`."""

    method: str
    path: str  # as sent, including the query string
    headers: dict[str, str]  # names lower-cased; repeated headers joined with ", "
    body: bytes
    client: tuple[str, int]
    received_at: float = field(default_factory=time.time)

    @property
    def route(self) -> str:
        """Path without the query string."""
        return urllib.parse.urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


Reply = int | tuple[int, Any] | tuple[int, Any, dict[str, str]]
Handler = Callable[[RecordedRequest], Reply]


def _encode_reply(reply: Reply) -> tuple[int, bytes, dict[str, str]]:
    if isinstance(reply, int):
        reply = (reply, {})
    status, body, *rest = reply
    headers = dict(rest[0]) if rest else {}
    if isinstance(body, bytes):
        headers.setdefault("Content-Type", "application/octet-stream")
    elif isinstance(body, str):
        body = body.encode("utf-8")
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
    else:
        body = json.dumps(body).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    return int(status), body, headers


class _RequestHandler(BaseHTTPRequestHandler):
    owner: RecordingHttpServer  # set on a per-server subclass
    protocol_version = "HTTP/1.0"  # one request per connection: down()/hang() stay deterministic

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        req = RecordedRequest(
            method=self.command,
            path=self.path,
            headers=headers,
            body=self._read_body(),
            client=self.client_address[:2],
        )
        reply = self.owner._dispatch(req)
        if reply is None:  # hung and then closed: drop the connection without answering
            self.close_connection = True
            return
        status, body, extra = reply
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    owner: RecordingHttpServer

    def finish_request(self, request, client_address):  # runs in the per-connection thread
        request.settimeout(30)
        ctx = self.owner.ssl_context
        if ctx is None:
            super().finish_request(request, client_address)
            return
        tls = ctx.wrap_socket(request, server_side=True)  # handshake here, off the accept loop
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request, client_address):
        import sys

        self.owner.errors.append(sys.exc_info()[1])


class RecordingHttpServer:
    """A threaded HTTP(S) server on ``127.0.0.1:<free port>`` that records every request.

    Replies come from ``handler_fn(request) -> reply`` (default ``200 {}``), where a reply is
    a status int, ``(status, body)`` or ``(status, body, headers)``; body may be bytes, str
    or anything JSON-serialisable. Behaviour can be switched while running:
    ``respond_with(status, body)``, ``set_handler(fn)``, ``hang()`` (record, never answer
    until ``release()``/``close()``), ``down()``/``up()`` (stop/start listening on the SAME
    port: connection refused, then recovery). ``ssl_context`` (server side) enables HTTPS.
    Requests are recorded before the reply is decided, so hung requests are in ``requests``.
    """

    def __init__(
        self, handler_fn: Handler | None = None, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.ssl_context = ssl_context
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException | None] = []
        self._handler: Handler = handler_fn or (lambda req: (200, {}))
        self._cond = threading.Condition()
        self._release = threading.Event()
        self._release.set()
        self._closed = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        last: Exception | None = None
        for _ in range(3):
            try:
                self.port = free_port()
                self.up()
                break
            except OSError as exc:
                last = exc
        else:
            raise RuntimeError(f"HTTP server could not bind: {last}")

    # -- behaviour
    def set_handler(self, handler_fn: Handler) -> None:
        """Answer subsequent requests with ``handler_fn`` (also releases a hang)."""
        self._handler = handler_fn
        self._release.set()

    def respond_with(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        """Answer every subsequent request with a fixed reply (body default ``{}``)."""
        reply = (status, {} if body is None else body, headers or {})
        self.set_handler(lambda req: reply)

    def hang(self) -> None:
        """Record requests but do not answer them until ``release()`` or ``close()``."""
        self._release.clear()

    def release(self) -> None:
        """Let hung requests (and later ones) be answered by the current handler."""
        self._release.set()

    def _dispatch(self, req: RecordedRequest) -> tuple[int, bytes, dict[str, str]] | None:
        with self._cond:
            self.requests.append(req)
            self._cond.notify_all()
        self._release.wait()
        if self._closed:
            return None
        try:
            return _encode_reply(self._handler(req))
        except Exception as exc:  # a broken test handler should be visible, not hang the client
            self.errors.append(exc)
            return 500, f"handler error: {exc!r}".encode(), {"Content-Type": "text/plain"}

    # -- listening
    @property
    def is_up(self) -> bool:
        return self._server is not None

    def up(self) -> None:
        """(Re)start listening on the same port."""
        if self._server is not None:
            return
        server_cls = type("_BoundServer", (_Server,), {"owner": self})
        handler_cls = type("_BoundHandler", (_RequestHandler,), {"owner": self})
        self._server = server_cls(("127.0.0.1", self.port), handler_cls)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"http-sink-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def down(self) -> None:
        """Stop listening (new connections are refused); requests in flight are unaffected."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- inspection
    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def wait_for(self, n: int = 1, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``n`` requests were recorded; returns a copy (TimeoutError otherwise)."""
        return _wait_len(self._cond, self.requests, n, timeout, "requests")

    def clear(self) -> None:
        with self._cond:
            self.requests.clear()

    def close(self) -> None:
        """Stop listening and unblock hung handlers (their connections are dropped)."""
        self._closed = True
        self._release.set()
        self.down()

    def __enter__(self) -> RecordingHttpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class IssuedCert:
    """PEM files of an issued (or self-signed) certificate and its validity, exact to the second."""

    cert: str  # path of the certificate PEM
    key: str  # path of the unencrypted private key PEM (PKCS#8)
    ca: str  # path of the PEM that verifies ``cert`` (the CA, or the cert itself if self-signed)
    common_name: str
    serial: int
    not_valid_before: dt.datetime  # timezone-aware UTC, microsecond == 0
    not_valid_after: dt.datetime  # timezone-aware UTC, microsecond == 0

    @property
    def paths(self) -> tuple[str, str, str]:
        return self.cert, self.key, self.ca

    def server_context(self) -> ssl.SSLContext:
        """A server-side SSLContext presenting this certificate."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client-side SSLContext that trusts only ``self.ca`` (hostname checking on)."""
        return ssl.create_default_context(cafile=self.ca)


class ThrowawayCA:
    """A throwaway certificate authority writing PEM files into its own temp dir.

    ``issue()`` makes leaf certificates signed by the CA (usable for server and client
    auth); ``self_signed()`` makes standalone ones. ``days_valid`` may be fractional,
    zero or negative (an already expired certificate). Keys are EC P-256 by default
    (fast), ``key_type="rsa"`` gives RSA-2048.
    """

    def __init__(self, common_name: str = "l4agent test CA", *, key_type: str = "ec") -> None:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        self.key_type = key_type
        self.dir = Path(tempfile.mkdtemp(prefix="l4agent-ca-"))
        self._counter = 0
        self._lock = threading.Lock()
        self._key = self._new_key()
        now = self._now()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        ski = x509.SubjectKeyIdentifier.from_public_key(self._key.public_key())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
        )
        self._cert = builder.sign(self._key, self._hash())
        self.ca_cert = str(self.dir / "ca.crt")
        self.ca_key = str(self.dir / "ca.key")
        self._write(self.ca_cert, self._cert_pem(self._cert))
        self._write(self.ca_key, self._key_pem(self._key))

    # -- helpers
    @staticmethod
    def _now() -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)

    def _new_key(self):
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        if self.key_type == "rsa":
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if self.key_type == "ec":
            return ec.generate_private_key(ec.SECP256R1())
        raise ValueError(f"key_type must be 'ec' or 'rsa', not {self.key_type!r}")

    @staticmethod
    def _hash():
        from cryptography.hazmat.primitives import hashes

        return hashes.SHA256()

    @staticmethod
    def _cert_pem(cert) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return cert.public_bytes(serialization.Encoding.PEM)

    @staticmethod
    def _key_pem(key) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @staticmethod
    def _write(path: str, data: bytes) -> None:
        Path(path).write_bytes(data)
        Path(path).chmod(0o600)

    def _next_stem(self, common_name: str) -> str:
        with self._lock:
            self._counter += 1
            n = self._counter
        slug = "".join(c if c.isalnum() or c in "-." else "_" for c in common_name) or "cert"
        return f"{n:03d}-{slug}"

    def _leaf(
        self,
        common_name: str,
        days_valid: float,
        san_ips: list[str] | None,
        san_dns: list[str] | None,
        not_valid_after: dt.datetime | None,
        self_signed: bool,
    ) -> IssuedCert:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        if san_ips is None and san_dns is None:
            san_ips, san_dns = ["127.0.0.1"], ["localhost"]
        key = self._new_key()
        now = self._now()
        if not_valid_after is None:
            not_after = now + dt.timedelta(days=days_valid)
        else:
            not_after = not_valid_after.astimezone(dt.UTC)
        not_after = not_after.replace(microsecond=0)
        # a minute of slack for clock skew; an already expired cert still starts before it ends
        not_before = min(now - dt.timedelta(minutes=1), not_after - dt.timedelta(days=1))
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in san_ips or []]
        sans += [x509.DNSName(d) for d in san_dns or []]
        serial = x509.random_serial_number()
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if self_signed else self._cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(ski, critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        if self_signed:
            cert = builder.sign(key, self._hash())
        else:
            rsa_key = isinstance(key, rsa.RSAPrivateKey)
            builder = builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=rsa_key,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
            cert = builder.sign(self._key, self._hash())
        stem = self._next_stem(common_name)
        cert_path, key_path = str(self.dir / f"{stem}.crt"), str(self.dir / f"{stem}.key")
        self._write(cert_path, self._cert_pem(cert))
        self._write(key_path, self._key_pem(key))
        return IssuedCert(
            cert=cert_path,
            key=key_path,
            ca=cert_path if self_signed else self.ca_cert,
            common_name=common_name,
            serial=serial,
            not_valid_before=not_before,
            not_valid_after=not_after,
        )

    # -- public
    def issue(
        self,
        common_name: str = "127.0.0.1",
        days_valid: float = 10,
        san_ips: list[str] | None = None,
        san_dns: list[str] | None = None,
        *,
        not_valid_after: dt.datetime | None = None,
    ) -> IssuedCert:
        """A CA-signed leaf cert. Without SANs given it covers IP 127.0.0.1 and DNS localhost.

        Expiry is ``now (whole seconds, UTC) + days_valid`` or exactly ``not_valid_after``.
        """
        return self._leaf(common_name, days_valid, san_ips, san_dns, not_valid_after, self_signed=False)

    def self_signed(
        self,
        days_valid: float = 10,
        common_name: str = "localhost",
        san_ips: list[str] | None = None,
        san_dns: list[str] | None = None,
        *,
        not_valid_after: dt.datetime | None = None,
    ) -> IssuedCert:
        """A self-signed leaf cert (``.ca`` is the cert itself)."""
        return self._leaf(common_name, days_valid, san_ips, san_dns, not_valid_after, self_signed=True)

    def client_context(self) -> ssl.SSLContext:
        """A client SSLContext trusting only this CA."""
        return ssl.create_default_context(cafile=self.ca_cert)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> ThrowawayCA:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
