"""A fake ERP web tier on loopback: real HTTP(S) servers with the endpoints app-server tests need.

Import the fixtures into a test module with ``from tests.support.appserver_fixtures import *``.

- ``app_http`` (session): :class:`AppSite` over plain HTTP with the routes below.
- ``app_https`` (session): the same site over HTTPS, with a certificate from the session's
  ``throwaway_ca`` expiring in 10 days (``app_https.cert`` is the IssuedCert).
- ``hung_app`` (session): ``http://127.0.0.1:PORT/`` that accepts connections and never answers.

Routes: ``/ok`` 200 with a login page, ``/fail`` 500, ``/slow?seconds=S`` 200 after S seconds,
``/loop`` -> ``/loop2`` -> ``/loop`` (302s), ``/redirect`` -> ``/ok``, ``/manager/status``
(Tomcat XML, basic auth ``TOMCAT_USER``/``TOMCAT_PASSWORD``), ``/status.json`` (JSON document).
``site.routes[path] = reply`` plants more (a reply is what RecordingHttpServer takes, or a
callable ``request -> reply``); use a path unique to the test.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .peers import RecordedRequest, RecordingHttpServer, ThrowawayCA

__all__ = ["AppSite", "app_http", "app_https", "hung_app", "tomcat_xml", "STATUS_JSON", "TOMCAT_USER",
           "TOMCAT_PASSWORD"]

TOMCAT_USER = "l4status"
TOMCAT_PASSWORD = "Tomcat-Status-Pw-7781"  # noqa: S105 - a test fixture's password

LOGIN_PAGE = "<!doctype html><html><head><title>Workcube</title></head><body><form id='login'>" \
             "<input name='username'></form></body></html>"

STATUS_JSON: dict[str, Any] = {
    "server": {"name": "lucee", "version": "5.4.6.9"},
    "memory": {"heap": {"used": 805306368, "max": 1073741824}, "nonheap": {"used": 201326592}},
    "threads": {"busy": 12, "max": 50},
    "sessions": {"active": 137},
    "requests": {"total": 982211},
    "healthy": True,
    "datasources": [{"name": "workcube", "open": 18, "idle": 4}],
}


def tomcat_xml(*, free: int = 390_123_520, total: int = 1_073_741_824, max_heap: int = 2_147_483_648,
               busy: int = 7, max_threads: int = 200, current: int = 25, requests: int = 18_422,
               errors: int = 37, processing_ms: int = 2_913_441, max_ms: int = 48_250,
               workers: tuple[tuple[str, str, int], ...] = (("GET", "/index.cfm", 812),)) -> bytes:
    """A manager status document exactly as Tomcat 9's StatusTransformer writes it (connector
    names quoted, attribute quoting mixed), with the figures given."""
    worker_xml = "".join(
        f'<worker  stage="S" requestProcessingTime="{ms}" requestBytesSent="0" requestBytesReceived="0" '
        f'remoteAddr="10.0.4.{i + 20}" virtualHost="erp.customer.local" method="{method}" currentUri="{uri}" '
        f'currentQueryString="fuseaction=myhome.welcome" protocol="HTTP/1.1" />'
        for i, (method, uri, ms) in enumerate(workers)
    )
    worker_xml += ('<worker  stage="R" requestProcessingTime="0" requestBytesSent="0" requestBytesReceived="0" '
                   'remoteAddr="&#63;" virtualHost="&#63;" method="&#63;" currentUri="&#63;" '
                   'currentQueryString="&#63;" protocol="&#63;" />')
    return (
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><?xml-stylesheet type=\"text/xsl\" href=\"/manager/xform.xsl\" ?>"
        "<status><jvm>"
        f"<memory free='{free}' total='{total}' max='{max_heap}'/>"
        "<memorypool name='G1 Eden Space' type='Heap memory' usageInit='56623104' usageCommitted='616562688' "
        "usageMax='-1' usageUsed='331350016'/>"
        "<memorypool name='G1 Old Gen' type='Heap memory' usageInit='1017118720' usageCommitted='444596224' "
        "usageMax='2147483648' usageUsed='352268184'/>"
        "<memorypool name='Metaspace' type='Non-heap memory' usageInit='0' usageCommitted='139067392' "
        "usageMax='-1' usageUsed='134311736'/>"
        "</jvm>"
        "<connector name='\"http-nio-8080\"'>"
        f"<threadInfo  maxThreads=\"{max_threads}\" currentThreadCount=\"{current}\" currentThreadsBusy=\"{busy}\" />"
        f"<requestInfo  maxTime=\"{max_ms}\" processingTime=\"{processing_ms}\" requestCount=\"{requests}\" "
        f"errorCount=\"{errors}\" bytesReceived=\"1893201\" bytesSent=\"8812004431\" />"
        f"<workers>{worker_xml}</workers>"
        "</connector>"
        "<connector name='\"ajp-nio-127.0.0.1-8009\"'>"
        "<threadInfo  maxThreads=\"200\" currentThreadCount=\"10\" currentThreadsBusy=\"0\" />"
        "<requestInfo  maxTime=\"0\" processingTime=\"0\" requestCount=\"0\" errorCount=\"0\" bytesReceived=\"0\" "
        "bytesSent=\"0\" />"
        "<workers></workers>"
        "</connector>"
        "</status>"
    ).encode()


Reply = Any


class AppSite:
    """A RecordingHttpServer routing by path; ``routes`` may be changed while it runs."""

    def __init__(self, ssl_context=None):
        self.routes: dict[str, Reply | Callable[[RecordedRequest], Reply]] = {
            "/ok": (200, LOGIN_PAGE, {"Content-Type": "text/html; charset=utf-8"}),
            "/fail": (500, "Internal Server Error: lucee.runtime.exp.DatabaseException"),
            "/slow": self._slow,
            "/loop": (302, "", {"Location": "/loop2"}),
            "/loop2": (302, "", {"Location": "/loop"}),
            "/redirect": (302, "", {"Location": "/ok"}),
            "/manager/status": self.tomcat_auth(tomcat_xml()),
            "/status.json": (200, STATUS_JSON),
        }
        self.server = RecordingHttpServer(self._route, ssl_context=ssl_context)

    @property
    def url(self) -> str:
        return self.server.url

    def _route(self, request: RecordedRequest) -> Reply:
        reply = self.routes.get(request.route)
        if reply is None:
            return 404, "not found"
        return reply(request) if callable(reply) else reply

    @staticmethod
    def _slow(request: RecordedRequest) -> Reply:
        time.sleep(float(request.query.get("seconds", ["1"])[0]))
        return 200, LOGIN_PAGE, {"Content-Type": "text/html"}

    @staticmethod
    def tomcat_auth(document: bytes) -> Callable[[RecordedRequest], Reply]:
        """A route serving ``document`` as Tomcat's manager does: 401 without the right basic auth."""
        expected = "Basic " + base64.b64encode(f"{TOMCAT_USER}:{TOMCAT_PASSWORD}".encode()).decode()

        def serve(request: RecordedRequest) -> Reply:
            if request.headers.get("authorization") != expected:
                return 401, "", {"WWW-Authenticate": 'Basic realm="Tomcat Manager Application"'}
            return 200, document, {"Content-Type": "text/xml;charset=utf-8"}

        return serve

    def close(self) -> None:
        self.server.close()


class HungApp:
    """Accepts TCP connections and holds them open without ever answering."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, name="hung-app", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for conn in self._held:
            conn.close()


@pytest.fixture(scope="session")
def app_http() -> Iterator[AppSite]:
    site = AppSite()
    yield site
    site.close()


@pytest.fixture(scope="session")
def app_https(throwaway_ca: ThrowawayCA) -> Iterator[AppSite]:
    cert = throwaway_ca.issue("127.0.0.1", days_valid=10)
    site = AppSite(ssl_context=cert.server_context())
    site.cert = cert
    site.ca = throwaway_ca
    yield site
    site.close()


@pytest.fixture(scope="session")
def hung_app() -> Iterator[HungApp]:
    app = HungApp()
    yield app
    app.close()
