"""HTTP(S) fetches with redirects, timings and the server's certificate (stdlib http.client/ssl).

:func:`fetch` gets a URL the way a browser would reach the ERP's login page: it follows
redirects up to a limit (a loop is caught and named), times the whole exchange, and for HTTPS
reads the certificate the server presents. The certificate is verified against ``ca_file`` or
the system trust store; when verification fails the handshake is repeated without verification
so that expiry, issuer and subject are still known: a bad certificate is data, never a crash.

:func:`probe` adds the configured success rule (expected status codes, optional body regex) on
top. Every socket operation is bounded by what is left of the probe's ``timeout``, so a server
that accepts and never answers costs exactly that timeout.
"""

from __future__ import annotations

import base64
import functools
import http.client
import os
import re
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field

from l4agent import __version__
from l4agent.core.redact import register_secret
from l4agent.core.tls import client_context

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: bytes of a body read at most: enough for a login page's marker or a status document
BODY_LIMIT = 1 << 20
_CHUNK = 64 * 1024
USER_AGENT = f"l4agent/{__version__}"


class ProbeTimeout(Exception):
    """The probe's deadline passed."""


class CaFileError(Exception):
    """``ca_file`` could not be loaded; the message says why."""


@dataclass(frozen=True)
class Certificate:
    """The leaf certificate a server presented. ``not_after`` is seconds since the Unix epoch;
    ``verified`` is None when verification was not asked for (``verify_tls = false``)."""

    not_after: float
    subject: str
    issuer: str
    verified: bool | None
    verify_error: str | None = None
    trust: str = "system trust store"  # what it was verified against: ca_file path or the system store

    def expiry_seconds(self, now: float | None = None) -> float:
        """Seconds until the certificate expires (negative once it has)."""
        return self.not_after - (time.time() if now is None else now)


@dataclass
class FetchResult:
    """What one fetch saw. Times are in seconds from the start of the fetch."""

    url: str  # the last URL requested (after redirects)
    status: int | None = None  # HTTP status of the final response; None when none arrived
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    body: bytes = b""  # at most BODY_LIMIT bytes
    total_seconds: float = 0.0  # the whole exchange, redirects and body included
    connect_seconds: float | None = None  # TCP connect + TLS handshake of the first connection
    ttfb_seconds: float | None = None  # until the final response's status line and headers
    redirects: list[str] = field(default_factory=list)  # URLs redirected to, in order
    certificate: Certificate | None = None  # of the first HTTPS connection
    error: str | None = None  # why no usable response arrived, fit to print
    #: timeout | connect | tls | protocol | redirect_loop | too_many_redirects
    error_kind: str | None = None

    def text(self) -> str:
        charset = "utf-8"
        match = re.search(r"charset=([\w.-]+)", self.headers.get("content-type", ""))
        if match:
            charset = match.group(1)
        try:
            return self.body.decode(charset, "replace")
        except LookupError:
            return self.body.decode("utf-8", "replace")


@dataclass
class ProbeOutcome:
    """A fetch judged by the app server's success rule; ``failure`` is None when it passed."""

    result: FetchResult
    failure: str | None = None  # one line: "HTTP 500, expected 200"
    #: error_kind of the fetch, or status | body | tls_verify
    failure_kind: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


def probe(url: str, timeout: float, expected_status=(200,), body_regex: str | None = None,
          max_redirects: int = 5, ca_file: str | None = None, verify_tls: bool = True) -> ProbeOutcome:
    """Fetch ``url`` and judge it: an expected status, the body matching ``body_regex`` when
    given, and (with ``verify_tls``) a certificate that verifies. A verifying client such as a
    user's browser cannot use a server whose certificate does not, so that is a failure too."""
    result = fetch(url, timeout, max_redirects=max_redirects, ca_file=ca_file, verify_tls=verify_tls)
    if result.error:
        return ProbeOutcome(result, result.error, result.error_kind)
    if result.status not in expected_status:
        expected = ", ".join(str(s) for s in expected_status)
        return ProbeOutcome(result, f"HTTP {result.status}, expected {expected}", "status")
    if body_regex and not re.search(body_regex, result.text()):
        return ProbeOutcome(result, f"body does not match body_regex {body_regex!r}", "body")
    cert = result.certificate
    if cert is not None and cert.verified is False:
        return ProbeOutcome(result, f"certificate does not verify against the {cert.trust}: {cert.verify_error}",
                            "tls_verify")
    return ProbeOutcome(result)


def fetch(url: str, timeout: float, *, max_redirects: int = 5, ca_file: str | None = None,
          verify_tls: bool = True, headers: dict[str, str] | None = None, body_limit: int = BODY_LIMIT) -> FetchResult:
    """GET ``url`` following up to ``max_redirects`` redirects (0: return the redirect itself),
    all within ``timeout`` seconds. Never raises for network, TLS or HTTP trouble: it is in
    ``error``/``error_kind``. Credentials in the URL (``user:pw@``) are sent as basic auth."""
    started = time.perf_counter()
    deadline = started + timeout
    url, auth = _split_credentials(url)
    request_headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close", **(headers or {})}
    if auth:
        request_headers["Authorization"] = auth
    result = FetchResult(url=url)
    visited = [url]
    try:
        while True:
            origin = _origin(url)
            status, location = _exchange(url, request_headers, deadline, started, ca_file, verify_tls, body_limit,
                                         result)
            if status not in REDIRECT_STATUSES or not location or max_redirects == 0:
                break
            target = urllib.parse.urljoin(url, location)
            if target in visited:
                chain = " -> ".join([*visited[visited.index(target):], target])
                result.error, result.error_kind = f"redirect loop: {chain}", "redirect_loop"
                break
            if len(result.redirects) >= max_redirects:
                result.error = f"more than {max_redirects} redirects (last to {target})"
                result.error_kind = "too_many_redirects"
                break
            result.redirects.append(target)
            visited.append(target)
            if _origin(target) != origin:  # credentials go to the origin they were meant for only
                request_headers.pop("Authorization", None)
            url = result.url = target
    except (ProbeTimeout, TimeoutError):
        result.error, result.error_kind = f"timed out after {timeout:g}s", "timeout"
    except CaFileError as exc:
        result.error, result.error_kind = str(exc), "tls"
    except ssl.SSLError as exc:
        result.error, result.error_kind = f"TLS handshake failed: {getattr(exc, 'reason', None) or exc}", "tls"
    except socket.gaierror as exc:
        result.error, result.error_kind = f"cannot resolve {urllib.parse.urlsplit(url).hostname}: {exc.strerror}", "connect"
    except http.client.HTTPException as exc:
        result.error = f"bad HTTP response: {type(exc).__name__} {exc}".strip()
        result.error_kind = "protocol"
    except ConnectionRefusedError:
        result.error, result.error_kind = "connection refused", "connect"
    except OSError as exc:
        result.error, result.error_kind = f"connection failed: {exc.strerror or exc}", "connect"
    except ValueError as exc:  # a port that is not a number, and the like
        result.error, result.error_kind = f"invalid URL {url}: {exc}", "connect"
    result.total_seconds = time.perf_counter() - started
    return result


def _exchange(url: str, headers: dict[str, str], deadline: float, started: float, ca_file: str | None,
              verify_tls: bool, body_limit: int, result: FetchResult) -> tuple[int, str | None]:
    """One request/response on a fresh connection; fills ``result`` and returns (status, Location)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise http.client.InvalidURL(f"not an http(s) URL: {url}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    connect_started = time.perf_counter()
    if parts.scheme == "https":
        conn, cert = _connect_tls(parts.hostname, parts.port or 443, deadline, ca_file, verify_tls)
        if result.certificate is None:
            result.certificate = cert
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=_remaining(deadline))
        _connect(conn)
    if result.connect_seconds is None:
        result.connect_seconds = time.perf_counter() - connect_started
    sock = conn.sock  # kept: http.client drops conn.sock once the response owns the stream
    try:
        sock.settimeout(_remaining(deadline))
        conn.request("GET", path, headers=headers)
        sock.settimeout(_remaining(deadline))
        response = conn.getresponse()
        result.ttfb_seconds = time.perf_counter() - started
        result.status = response.status
        result.headers = {name.lower(): value for name, value in response.getheaders()}
        result.body = _read_body(sock, response, deadline, body_limit)
        return response.status, response.getheader("Location")
    finally:
        conn.close()


def _read_body(sock: socket.socket, response: http.client.HTTPResponse, deadline: float, limit: int) -> bytes:
    """At most ``limit`` bytes of the body; every read bounded by what is left of the deadline."""
    chunks: list[bytes] = []
    size = 0
    while size < limit and not response.isclosed():  # closed: the whole body has been read
        sock.settimeout(_remaining(deadline))
        chunk = response.read1(min(_CHUNK, limit - size))  # what has arrived, not "all n bytes"
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _connect_tls(host: str, port: int, deadline: float, ca_file: str | None,
                 verify_tls: bool) -> tuple[http.client.HTTPSConnection, Certificate]:
    """A TLS connection and the leaf certificate. With ``verify_tls`` the chain and host name
    are verified first; when that fails, a second, unverified handshake reads the certificate
    anyway so that the failure is reported with the certificate's figures."""
    trust = f"CA file {ca_file}" if ca_file else "system trust store"
    verify_error = None
    if verify_tls:
        context = _verifying_context(ca_file)
        conn = http.client.HTTPSConnection(host, port, timeout=_remaining(deadline), context=context)
        try:
            _connect(conn)
            return conn, _certificate(conn, True, None, trust)
        except ssl.SSLCertVerificationError as exc:
            conn.close()
            verify_error = exc.verify_message or str(exc)
    conn = http.client.HTTPSConnection(host, port, timeout=_remaining(deadline), context=client_context(verify=False))
    _connect(conn)
    return conn, _certificate(conn, False if verify_tls else None, verify_error, trust)


def _connect(conn: http.client.HTTPConnection) -> None:
    """Connect, closing the socket at once when the connect or the handshake fails."""
    try:
        conn.connect()
    except BaseException:
        conn.close()
        raise


def _verifying_context(ca_file: str | None) -> ssl.SSLContext:
    """A context verifying chain and host name against ``ca_file`` or the system store. Loading
    a trust store costs tens of milliseconds, so contexts are reused until the file changes."""
    try:
        version = os.stat(ca_file).st_mtime_ns if ca_file else None
        return _cached_context(ca_file, version)
    except (OSError, ssl.SSLError) as exc:
        raise CaFileError(f"cannot load ca_file {ca_file}: {getattr(exc, 'strerror', None) or exc}") from exc


@functools.lru_cache(maxsize=16)
def _cached_context(ca_file: str | None, version: int | None) -> ssl.SSLContext:
    return client_context(ca_file)


def _certificate(conn: http.client.HTTPSConnection, verified: bool | None, error: str | None,
                 trust: str) -> Certificate:
    from cryptography import x509

    der = conn.sock.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server presented no certificate")
    cert = x509.load_der_x509_certificate(der)
    return Certificate(
        not_after=cert.not_valid_after_utc.timestamp(),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        verified=verified,
        verify_error=error,
        trust=trust,
    )


def _remaining(deadline: float) -> float:
    left = deadline - time.perf_counter()
    if left <= 0:
        raise ProbeTimeout
    return left


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _split_credentials(url: str) -> tuple[str, str | None]:
    """``https://u:pw@host/x`` -> (``https://host/x``, "Basic ..."); the password is registered
    as a secret so it is masked wherever it might appear."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    register_secret(password)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), basic_auth(user, password)


def basic_auth(user: str, password: str) -> str:
    """The value of an Authorization header for HTTP basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
