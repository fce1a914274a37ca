"""Tomcat's manager status page (``/manager/status?XML=true``): thread pools, requests, JVM heap.

Lucee and many ColdFusion installs run on Tomcat, so this one page covers most CFML app
servers. The manager user needs the ``manager-status`` role; its password comes from
``status_password_env`` or ``status_password_file``, never from the config file itself.

The document looks like this (Tomcat 8.5 to 10; attribute values are bytes, counts and
milliseconds; connector names come quoted, as JMX writes them)::

    <status><jvm><memory free='..' total='..' max='..'/><memorypool .../></jvm>
      <connector name='"http-nio-8080"'>
        <threadInfo maxThreads="200" currentThreadCount="25" currentThreadsBusy="3"/>
        <requestInfo maxTime="..." processingTime="..." requestCount="..." errorCount="..."
                     bytesReceived="..." bytesSent="..."/>
        <workers><worker stage="S" requestProcessingTime="..." method="GET" currentUri="/x" .../></workers>
      </connector></status>
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from l4agent.collectors.appserver.status_client import StatusPageError, fetch_page
from l4agent.core.config import AppServerConfig
from l4agent.core.samples import Sample, counter, gauge

THREADS_BUSY = gauge("l4agent_appserver_threads_busy", "Busy request threads of the connector's pool.")
THREADS_CURRENT = gauge("l4agent_appserver_threads_current", "Threads the connector's pool has started.")
THREADS_MAX = gauge("l4agent_appserver_threads_max", "Maximum threads of the connector's pool (maxThreads).")
THREADS_BUSY_RATIO = gauge("l4agent_appserver_thread_pool_busy_ratio",
                           "Busy request threads as a fraction of maxThreads (0-1).")
REQUESTS = counter("l4agent_appserver_requests_total", "Requests the connector has served since the server started.")
REQUEST_ERRORS = counter("l4agent_appserver_request_errors_total",
                         "Requests the connector answered with an error (status >= 400) since the server started.")
PROCESSING = counter("l4agent_appserver_processing_seconds_total",
                     "Seconds the connector spent processing requests since the server started.")
REQUEST_MAX = gauge("l4agent_appserver_request_max_seconds", "Longest single request of the connector in seconds.")
RECEIVED = counter("l4agent_appserver_received_bytes_total", "Bytes the connector received since the server started.")
SENT = counter("l4agent_appserver_sent_bytes_total", "Bytes the connector sent since the server started.")
HEAP = gauge("l4agent_appserver_jvm_heap_bytes", "JVM heap in bytes by kind (free, total = committed, max = -Xmx, used).")
HEAP_USED_RATIO = gauge("l4agent_appserver_jvm_heap_used_ratio", "Used JVM heap as a fraction of the maximum heap (0-1).")

#: busy workers kept per connector (for the thread-pool finding's evidence)
MAX_WORKERS = 10
#: immediate re-reads after an HTTP 500. Tomcat's StatusTransformer walks the live list of
#: request processors unguarded: when a request ends while the page is written it fails with a
#: ConcurrentModificationException (HTTP 500, a truncated document; seen on Tomcat 10.1 about
#: once in 5,000 reads under request churn). The next read gets a whole page.
TRANSIENT_RETRIES = 1


@dataclass(frozen=True)
class Worker:
    """A request thread in the service stage: what it is doing and for how long (seconds)."""

    method: str
    uri: str
    seconds: float
    remote: str


@dataclass(frozen=True)
class ConnectorStatus:
    """One connector's thread pool and request counters. Times in seconds, sizes in bytes."""

    name: str
    max_threads: int
    current_threads: int
    busy_threads: int
    request_count: int
    error_count: int
    processing_seconds: float
    max_request_seconds: float
    bytes_received: int
    bytes_sent: int
    busy_workers: tuple[Worker, ...] = ()
    #: busy threads serving the status page itself (the read that produced this document):
    #: counted in ``busy_threads`` by Tomcat, left out of ``busy_workers``
    status_reads: int = 0

    @property
    def busy_ratio(self) -> float | None:
        return self.busy_threads / self.max_threads if self.max_threads > 0 else None

    @property
    def others_busy(self) -> int:
        """Busy threads not serving a status read."""
        return max(0, self.busy_threads - self.status_reads)

    @property
    def others_busy_ratio(self) -> float | None:
        """Busy threads among those the status reads left free: what the application's own
        requests hold (an idle 4-thread pool read through itself: 0, not 1 of 4)."""
        available = self.max_threads - min(self.status_reads, self.busy_threads)
        return self.others_busy / available if available > 0 else None


@dataclass(frozen=True)
class TomcatStatus:
    """The JVM heap (bytes: free within the committed ``total``, ``max`` = -Xmx) and the connectors."""

    heap_free: int
    heap_total: int
    heap_max: int
    connectors: tuple[ConnectorStatus, ...] = field(default_factory=tuple)

    @property
    def heap_used(self) -> int:
        return self.heap_total - self.heap_free

    @property
    def heap_used_ratio(self) -> float | None:
        limit = self.heap_max if self.heap_max > 0 else self.heap_total
        return self.heap_used / limit if limit > 0 else None


def parse_status(document: bytes, status_path: str | None = None) -> TomcatStatus:
    """Parse the manager's XML status; ValueError names what is wrong with it. ``status_path``
    (the status URL's path, e.g. ``/manager/status``): busy workers on that URI are the status
    read itself, counted apart (``status_reads``) and left out of the busy-worker list."""
    head = document.lstrip()[:200].lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise ValueError("an HTML page, not the XML status (the URL should end in /manager/status?XML=true)")
    if b"<!doctype" in document.lower() or b"<!entity" in document.lower():
        # the real page has neither; refusing them keeps entity expansion out of the parser
        raise ValueError("status XML with a DOCTYPE or ENTITY declaration refused")
    try:
        # DOCTYPE/ENTITY are refused above, so no entity can expand (what defusedxml guards against)
        root = ElementTree.fromstring(document)  # noqa: S314  # nosec B314
    except ElementTree.ParseError as exc:
        raise ValueError(f"not XML: {exc}") from exc
    if root.tag != "status":
        raise ValueError(f"expected a <status> document, got <{root.tag}>")
    memory = root.find("jvm/memory")
    if memory is None:
        raise ValueError("no <jvm><memory> element")
    connectors = tuple(_connector(element, status_path) for element in root.findall("connector"))
    return TomcatStatus(_int(memory, "free"), _int(memory, "total"), _int(memory, "max"), connectors)


def _connector(element: ElementTree.Element, status_path: str | None) -> ConnectorStatus:
    threads = element.find("threadInfo")
    requests = element.find("requestInfo")
    if threads is None or requests is None:
        raise ValueError(f"connector {element.get('name')} has no threadInfo/requestInfo")
    busy = [
        Worker(w.get("method", ""), w.get("currentUri", ""), _int(w, "requestProcessingTime") / 1000.0,
               w.get("remoteAddr", ""))
        for w in element.findall("workers/worker") if w.get("stage") == "S"
    ]
    status_reads = 0
    if status_path:
        status_reads = sum(1 for w in busy if w.uri == status_path)
        busy = [w for w in busy if w.uri != status_path]
    busy.sort(key=lambda w: w.seconds, reverse=True)
    return ConnectorStatus(
        name=(element.get("name") or "").strip("\"'"),
        max_threads=_int(threads, "maxThreads"),
        current_threads=_int(threads, "currentThreadCount"),
        busy_threads=_int(threads, "currentThreadsBusy"),
        request_count=_int(requests, "requestCount"),
        error_count=_int(requests, "errorCount"),
        processing_seconds=_int(requests, "processingTime") / 1000.0,
        max_request_seconds=_int(requests, "maxTime") / 1000.0,
        bytes_received=_int(requests, "bytesReceived"),
        bytes_sent=_int(requests, "bytesSent"),
        busy_workers=tuple(busy[:MAX_WORKERS]),
        status_reads=status_reads,
    )


def _int(element: ElementTree.Element, attribute: str) -> int:
    raw = element.get(attribute)
    if raw is None:
        return 0
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"<{element.tag} {attribute}={raw!r}> is not a number") from None


def fetch_status(app: AppServerConfig) -> TomcatStatus:
    """Read and parse the app server's Tomcat status page."""
    for attempt in range(TRANSIENT_RETRIES + 1):
        try:
            body = fetch_page(app, app.tomcat_status_url, "tomcat status")
            break
        except StatusPageError as exc:
            if exc.status != 500 or attempt == TRANSIENT_RETRIES:
                raise
    try:
        return parse_status(body, urlsplit(app.tomcat_status_url).path or None)
    except ValueError as exc:
        raise StatusPageError(f"tomcat status {app.tomcat_status_url}: {exc}") from None


def samples(appserver: str, status: TomcatStatus) -> Iterator[Sample]:
    for kind, value in (("free", status.heap_free), ("total", status.heap_total), ("max", status.heap_max),
                        ("used", status.heap_used)):
        yield HEAP(value, appserver=appserver, kind=kind)
    if status.heap_used_ratio is not None:
        yield HEAP_USED_RATIO(round(status.heap_used_ratio, 6), appserver=appserver)
    for c in status.connectors:
        labels = {"appserver": appserver, "connector": c.name}
        yield THREADS_BUSY(c.busy_threads, **labels)
        yield THREADS_CURRENT(c.current_threads, **labels)
        yield THREADS_MAX(c.max_threads, **labels)
        if c.busy_ratio is not None:
            yield THREADS_BUSY_RATIO(round(c.busy_ratio, 6), **labels)
        yield REQUESTS(c.request_count, **labels)
        yield REQUEST_ERRORS(c.error_count, **labels)
        yield PROCESSING(c.processing_seconds, **labels)
        yield REQUEST_MAX(c.max_request_seconds, **labels)
        yield RECEIVED(c.bytes_received, **labels)
        yield SENT(c.bytes_sent, **labels)
