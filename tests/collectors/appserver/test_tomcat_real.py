"""The Tomcat status reader and the app-server collector against a real Tomcat 10 (issue 21).

``real_tomcat`` (tests/support/tomcat_fixtures.py) is Debian's tomcat10 with tomcat10-admin's
manager app on loopback: app connector of 8 request threads, admin connector of 4, a user
with the ``manager-status`` role only. Load is driven with real requests (``/slow``,
``/fail``, ``/ok``) and the agent reads the counters back. The server is shared: every
assertion on a counter is on its change between two reads taken by the test.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from l4agent.collectors.appserver.app_history import AppHistories
from l4agent.collectors.appserver.collector import AppServerCollector
from l4agent.collectors.appserver.status_client import StatusPageError
from l4agent.collectors.appserver.tomcat import fetch_status, parse_status
from l4agent.collectors.runner import CollectionRunner
from l4agent.exporters.prometheus import render
from tests.support.promtools import promtool_check_metrics
from tests.support.tomcat_fixtures import PASSWORD_ENV, tomcat_app_config

SLOW_MS = 2500


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def get(url: str, timeout: float = 30.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 - loopback test URL
            reply.read()
            return reply.status
    except urllib.error.HTTPError as exc:
        return exc.code


def connector(status, name: str):
    [found] = [c for c in status.connectors if c.name == name]
    return found


def quiet(server, app) -> None:
    """Wait until the shared server's app connector has no request in flight: a slow request
    another test left running would end (and be counted) inside this test's window."""
    name = server.app_connector_name
    assert wait_for(lambda: connector(fetch_status(app), name).busy_threads == 0, timeout=30), \
        "the app connector stayed busy"


def wait_for(condition, timeout: float = 10.0, step: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def test_the_real_status_page_parses(real_tomcat):
    app = tomcat_app_config(real_tomcat, unique("t10"))
    status = fetch_status(app)
    assert status.heap_max > 100 * 1024 * 1024  # -Xmx128m less one survivor space (SerialGC)
    assert 0 < status.heap_used < status.heap_total <= status.heap_max
    assert 0 < status.heap_used_ratio < 0.85  # an idle 128 MiB Tomcat
    names = {c.name for c in status.connectors}  # their order in the document varies between reads
    # connectors with address= are named http-nio-ADDRESS-PORT (not http-nio-8080 as in the fake)
    assert names == {real_tomcat.app_connector_name, real_tomcat.admin_connector_name}
    app_pool = connector(status, real_tomcat.app_connector_name)
    admin_pool = connector(status, real_tomcat.admin_connector_name)
    assert (app_pool.max_threads, admin_pool.max_threads) == (8, 4)
    # the read itself is a busy worker on the connector it came through, apart from the others
    assert admin_pool.busy_threads >= 1 and admin_pool.status_reads == 1
    assert all(w.uri != "/manager/status" for w in admin_pool.busy_workers)
    assert admin_pool.others_busy_ratio == 0.0 or admin_pool.others_busy > 0


def test_the_status_read_counts_itself_only_without_a_status_path(real_tomcat):
    raw = parse_status(real_tomcat.fetch_status())
    admin = connector(raw, real_tomcat.admin_connector_name)
    assert admin.status_reads == 0
    assert any(w.uri == "/manager/status" and w.remote == "127.0.0.1" for w in admin.busy_workers)


def test_saturating_the_pool_moves_busy_threads_and_the_request_counters(real_tomcat):
    app = tomcat_app_config(real_tomcat, unique("t10"))
    name = real_tomcat.app_connector_name
    before = connector(fetch_status(app), name)
    with ThreadPoolExecutor(real_tomcat.max_threads) as pool:
        replies = [pool.submit(get, f"{real_tomcat.url}/slow?ms={SLOW_MS}") for _ in range(real_tomcat.max_threads)]
        # currentThreadsBusy moves when a thread takes the socket; its worker row shows the
        # request a moment later (once the request line is parsed): wait for both
        busy = wait_for(lambda: (c := connector(fetch_status(app), name)).busy_threads == c.max_threads
                        and len(c.busy_workers) == c.max_threads and c)
        assert busy, "the app pool never showed every thread busy"
        assert (busy.busy_threads, busy.max_threads, busy.current_threads) == (8, 8, 8)
        assert busy.status_reads == 0  # read through the admin connector: not one of these 8
        assert len(busy.busy_workers) == 8
        assert {(w.method, w.uri, w.remote) for w in busy.busy_workers} == {("GET", "/slow", "127.0.0.1")}
        assert [r.result() for r in replies] == [200] * 8
    after = connector(fetch_status(app), name)
    assert after.busy_threads == 0
    assert after.request_count - before.request_count == 8  # counted when each request ended
    assert after.processing_seconds - before.processing_seconds >= 8 * SLOW_MS / 1000 - 0.1
    assert after.max_request_seconds >= SLOW_MS / 1000
    assert after.bytes_sent > before.bytes_sent


def test_reading_through_a_saturated_connector_waits_for_a_free_thread(real_tomcat):
    """In production the status page often shares the app's connector: the read queues."""
    app = tomcat_app_config(real_tomcat, unique("t10"), tomcat_status_url=real_tomcat.app_status_url)
    with ThreadPoolExecutor(real_tomcat.max_threads) as pool:
        replies = [pool.submit(get, f"{real_tomcat.url}/slow?ms={SLOW_MS}") for _ in range(real_tomcat.max_threads)]
        admin = tomcat_app_config(real_tomcat, unique("t10"))
        assert wait_for(lambda: connector(fetch_status(admin), real_tomcat.app_connector_name).busy_threads == 8)
        began = time.monotonic()
        status = connector(fetch_status(app), real_tomcat.app_connector_name)
        waited = time.monotonic() - began
        assert [r.result() for r in replies] == [200] * 8
    assert waited >= 1.0  # queued until a /slow request ended
    assert status.status_reads == 1 and status.busy_threads >= 1
    assert status.others_busy == status.busy_threads - 1


def test_errors_and_requests_are_counted(real_tomcat):
    app = tomcat_app_config(real_tomcat, unique("t10"))
    name = real_tomcat.app_connector_name
    quiet(real_tomcat, app)
    before = connector(fetch_status(app), name)
    codes = [get(f"{real_tomcat.url}/fail") for _ in range(5)] + [get(f"{real_tomcat.url}/no-such-page")]
    codes += [get(f"{real_tomcat.url}/ok") for _ in range(4)]
    assert codes == [500] * 5 + [404] + [200] * 4
    after = connector(wait_for(lambda: (s := fetch_status(app)) and
                               connector(s, name).request_count - before.request_count >= 10 and s), name)
    assert after.request_count - before.request_count == 10
    assert after.error_count - before.error_count == 6  # every status >= 400, the 404 too


def test_the_manager_status_role_boundaries(own_tomcat, monkeypatch):
    """On a Tomcat of its own: the 401s and the 403 count in the admin connector's errorCount,
    which would disturb app.error_rate tests on the shared server."""
    real_tomcat = own_tomcat
    app = tomcat_app_config(real_tomcat, unique("t10"))
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    with pytest.raises(StatusPageError, match="HTTP 401: check status_user") as wrong:
        fetch_status(app)
    assert "not-the-password" not in str(wrong.value)
    monkeypatch.setenv(PASSWORD_ENV, real_tomcat.other_password)
    other = tomcat_app_config(real_tomcat, unique("t10"), status_user=real_tomcat.other_user)
    with pytest.raises(StatusPageError, match="HTTP 403: check status_user .* manager-status role"):
        fetch_status(other)
    monkeypatch.setenv(PASSWORD_ENV, real_tomcat.status_password)
    html = tomcat_app_config(real_tomcat, unique("t10"),
                             tomcat_status_url=real_tomcat.status_url.replace("?XML=true", ""))
    with pytest.raises(StatusPageError, match=r"an HTML page, not the XML status"):
        fetch_status(html)


def test_one_collector_round_against_the_real_jvm(real_tomcat):
    name = unique("t10")
    app = tomcat_app_config(real_tomcat, name, url=f"{real_tomcat.url}/ok", body_regex="login")
    histories = AppHistories()
    collector = AppServerCollector(app=app, history=histories.for_app(name))
    snapshot = CollectionRunner([collector], "h").run_once()
    assert snapshot.errors == []
    connector_labels = {"appserver": name, "connector": real_tomcat.app_connector_name}
    assert snapshot.value("l4agent_appserver_up", appserver=name) == 1
    assert snapshot.value("l4agent_appserver_threads_max", **connector_labels) == 8
    assert snapshot.value("l4agent_appserver_requests_total", **connector_labels) >= 1  # the probe's /ok
    assert snapshot.value("l4agent_appserver_jvm_heap_used_ratio", appserver=name) > 0
    jvm = psutil.Process(real_tomcat.pid)
    assert snapshot.value("l4agent_process_members", group=name) == 1  # exactly this JVM, not other javas
    resident = snapshot.value("l4agent_process_resident_bytes", group=name)
    assert 40 * 2**20 < resident < 512 * 2**20
    assert abs(resident - jvm.memory_info().rss) < 32 * 2**20
    assert snapshot.value("l4agent_process_threads", group=name) >= 20  # a JVM: GC, compiler, pools
    assert snapshot.value("l4agent_process_connections", group=name, state="listen") == 2  # the two connectors
    assert snapshot.value("l4agent_appserver_restarts_total", appserver=name) == 0
    assert promtool_check_metrics(render(snapshot.samples)) == ""


def test_a_killed_and_restarted_jvm_is_a_restart_with_counters_reset(own_tomcat):
    name = unique("t10")
    app = tomcat_app_config(own_tomcat, name)
    collector = AppServerCollector(app=app)
    runner = CollectionRunner([collector], "h")
    assert [get(f"{own_tomcat.url}/ok") for _ in range(3)] == [200] * 3
    first = runner.run_once()
    labels = {"appserver": name, "connector": own_tomcat.app_connector_name}
    assert first.value("l4agent_appserver_requests_total", **labels) == 3
    old_pid = own_tomcat.kill()  # kill -9: no shutdown hook
    down = runner.run_once()
    assert down.value("l4agent_process_members", group=name) == 0
    assert any("no process matches process = java" in e["error"] for e in down.errors)
    assert any("tomcat status" in e["error"] for e in down.errors)
    own_tomcat.start()
    assert own_tomcat.pid != old_pid
    again = runner.run_once()
    assert again.errors == []
    assert again.value("l4agent_process_members", group=name) == 1
    assert again.value("l4agent_appserver_restarts_total", appserver=name) == 1
    assert again.value("l4agent_process_uptime_seconds", group=name) < 30
    assert again.value("l4agent_appserver_requests_total", **labels) == 0  # a real counter reset
