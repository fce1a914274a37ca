"""Reading an app server's status pages (Tomcat manager XML, a JSON status URL).

Both use the app server's TLS settings and, when ``status_user`` is set, basic auth with the
password from ``status_password_env`` or ``status_password_file`` (registered as a secret the
moment it is read, so it never shows up in errors or logs).
"""

from __future__ import annotations

import os

from l4agent.collectors.appserver.http_probe import basic_auth, fetch
from l4agent.core.config import AppServerConfig
from l4agent.core.redact import register_secret


class StatusPageError(Exception):
    """A status page could not be read; the message is fit to print (no secrets). ``status``:
    the HTTP status when the server answered with one other than 200."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def status_password(app: AppServerConfig) -> str | None:
    """The status user's password from ``status_password_env`` or ``status_password_file``."""
    password = None
    if app.status_password_env:
        password = os.environ.get(app.status_password_env)
        if password is None:
            raise StatusPageError(f"status_password_env: environment variable {app.status_password_env} is not set")
    elif app.status_password_file:
        try:
            with open(app.status_password_file, encoding="utf-8") as handle:
                password = handle.read().strip()
        except OSError as exc:
            raise StatusPageError(f"status_password_file {app.status_password_file}: {exc.strerror}") from None
    register_secret(password)
    return password


def auth_headers(app: AppServerConfig) -> dict[str, str]:
    """Basic-auth header for the status pages when ``status_user`` is set."""
    if not app.status_user:
        return {}
    return {"Authorization": basic_auth(app.status_user, status_password(app) or "")}


def fetch_page(app: AppServerConfig, url: str, what: str) -> bytes:
    """GET a status page with the app server's credentials and TLS settings; its body."""
    result = fetch(url, app.timeout, max_redirects=app.max_redirects, ca_file=app.ca_file,
                   verify_tls=app.verify_tls, headers=auth_headers(app))
    if result.error:
        raise StatusPageError(f"{what} {url}: {result.error}")
    if result.status in (401, 403):
        raise StatusPageError(f"{what} {url}: HTTP {result.status}: check status_user and its password "
                              "(Tomcat: the user needs the manager-status role)", result.status)
    if result.status != 200:
        raise StatusPageError(f"{what} {url}: HTTP {result.status}", result.status)
    return result.body
