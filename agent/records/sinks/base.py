"""What every sink shares: the error that says "retry" or "park", secrets read at send time,
and one HTTP POST with TLS verification on by default."""

from __future__ import annotations

import json
import logging
import os
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from l4agent import __version__
from l4agent.core.config import SinkConfig
from l4agent.core.redact import redact, register_secret
from l4agent.core.text import printable
from l4agent.core.tls import client_context

log = logging.getLogger(__name__)

USER_AGENT = f"l4agent/{__version__}"
# 4xx answers that mean "not now" rather than "never": retried like a 5xx.
RETRYABLE_4XX = frozenset({408, 425, 429})


class DeliveryError(Exception):
    """A delivery that failed. ``permanent``: parked, never retried (a 4xx, a refused mail).
    ``retry_after``: seconds the peer asked us to wait."""

    def __init__(self, message: str, permanent: bool = False, retry_after: float | None = None):
        super().__init__(redact(message))
        self.permanent = permanent
        self.retry_after = retry_after


class Sink:
    """A destination for record events. ``send`` raises DeliveryError or returns on success."""

    refresh_interval: float | None = None  # sinks that must re-announce open records set this

    def __init__(self, config: SinkConfig):
        self.config = config
        self.name = config.name
        self.timeout = config.timeout
        register_url(config.url)


def register_url(url: str | None) -> None:
    """A sink URL is a secret as a whole (Slack/Teams-style hooks carry their token in the path):
    register it, and its path and query, for redaction everywhere. Messages name the origin."""
    if not url:
        return
    from urllib.parse import urlsplit

    register_secret(url)
    register_secret(url.rstrip("/"))
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    if len(rest.strip("/")) >= 6:
        register_secret(rest)
        register_secret(rest.lstrip("/"))

    def send(self, event: dict[str, Any]) -> None:
        raise NotImplementedError

    def refresh(self, records: list[dict[str, Any]]) -> None:
        """Re-announce the open records (only sinks with ``refresh_interval``)."""


def read_secret(env: str | None, path: str | None, what: str) -> str | None:
    """A token or password from the environment variable or the file, registered for redaction."""
    value = None
    if env:
        value = os.environ.get(env)
        if value is None:
            raise DeliveryError(f"{what}: environment variable {env} is not set")
    elif path:
        try:
            with open(path, encoding="utf-8") as handle:
                value = handle.read().strip()
        except OSError as exc:
            raise DeliveryError(f"{what}: cannot read {path}: {exc.strerror}") from None
    register_secret(value)
    return value


def tls_context(config: SinkConfig) -> ssl.SSLContext:
    """Verification on unless ``verify_tls = false``; ``ca_file`` adds a private CA."""
    return client_context(config.ca_file, verify=config.verify_tls)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - stdlib signature
        return None  # a POST must not silently turn into a GET elsewhere


@dataclass
class HttpAnswer:
    status: int
    body: bytes


def post_json(url: str, data: Any, headers: dict[str, str], timeout: float, context: ssl.SSLContext) -> HttpAnswer:
    """POST ``data`` as JSON; 2xx returns, anything else raises DeliveryError (4xx permanent,
    except 408/425/429; 3xx permanent: configure the final URL)."""
    body = json.dumps(data).encode("utf-8")
    # The config reader accepts only http:// and https:// URLs.
    request = urllib.request.Request(url, data=body, method="POST", headers={  # noqa: S310
        "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect())
    try:
        with opener.open(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked in config
            return HttpAnswer(response.status, response.read(65536))
    except urllib.error.HTTPError as exc:
        text = exc.read(300).decode("utf-8", "replace").strip()
        status = exc.code
        # The receiver's own words stay out of the record (it may echo the URL, its token, or
        # markup): the log has a cleaned excerpt for whoever looks into a parked event.
        message = f"HTTP {status} {printable(exc.reason)[:80]} from {_origin(url)}"
        if text:
            log.warning("sink delivery to %s: %s; the receiver said: %s", _origin(url), message,
                        printable(redact(" ".join(text.split())))[:200])
        if 300 <= status < 400:
            location = exc.headers.get("Location") or ""
            where = _origin(location) if location.startswith(("http://", "https://")) else "another path"
            raise DeliveryError(f"{message} (redirect to {where}; configure the final URL)",
                                permanent=True) from None
        retry_after = _retry_after(exc.headers.get("Retry-After"))
        permanent = 400 <= status < 500 and status not in RETRYABLE_4XX
        raise DeliveryError(message, permanent=permanent, retry_after=retry_after) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = getattr(reason, "strerror", None) or str(reason)
        raise DeliveryError(f"cannot reach {_origin(url)}: {text}") from None
    except (TimeoutError, OSError) as exc:
        raise DeliveryError(f"cannot reach {_origin(url)}: {exc.strerror or exc or 'timed out'}") from None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: our own backoff is good enough


def _origin(url: str) -> str:
    """scheme://host:port of ``url``: what messages say instead of the URL (its path is secret)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "the configured URL"
    return printable(f"{parts.scheme}://{parts.hostname}:{port or (443 if parts.scheme == 'https' else 80)}")
