"""The status page of a real ``l4agent serve``, looked at in a real browser (headless Chromium):
the verdict and what is wrong are visible, a hostile hostname is text, /records and
/findings.json answer, and the page reads well (the screenshot is kept in test-output/)."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
import time
import urllib.request
from html.parser import HTMLParser

import pytest

from tests.conftest import REPO, cli_command, cli_env, free_port
from tests.support.leakcheck import register_test_secret

OUTPUT = REPO / "test-output"
HOSTILE_HOST = 'db1<script>alert("l4")</script>'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url: str, accept: str = "*/*") -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def wait_for(predicate, timeout: float, what: str, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode} while waiting for {what}")
        try:
            value = predicate()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """``l4agent serve`` with a threshold that is breached (so a work record opens), a hostile
    hostname, and (when the diagnostics service exists) a host check that finds something."""
    directory = tmp_path_factory.mktemp("status-page")
    secret = directory / "odbc-<script>.ini"
    secret.write_text(f"[erp]\nPassword={register_test_secret('hunter2-not-real')}\n")
    secret.chmod(0o644)  # readable by everyone: security.world_readable_secret warns
    port = free_port()
    config = directory / "l4agent.toml"
    config.write_text(textwrap.dedent(f"""\
        [agent]
        listen = "127.0.0.1:{port}"
        interval = "1s"
        diagnostics_interval = "1h"
        state_dir = "{directory / 'state'}"
        hostname = '{HOSTILE_HOST}'

        [[thresholds]]
        name = "load-per-core"  # the built-in rule: off, so a busy test machine does not change the verdict
        enabled = false

        [[thresholds]]
        name = "root-filesystem-test"
        metric = "l4agent_filesystem_used_ratio"
        labels = {{ mountpoint = "/" }}
        warning = 0.0001
        summary = "root filesystem in use"
        recommendation = "nothing: this threshold exists for the test"

        [diagnostics.security.world_readable_secret]
        odbc_files = []
        extra_files = ["{secret}"]
        """))
    config.chmod(0o600)
    log = open(directory / "serve.log", "wb")
    proc = subprocess.Popen(cli_command("serve", "-c", str(config)), env=cli_env(), cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: get(base + "/healthz")[0] == 200, 30, "the first collection", proc)
        wait_for(lambda: json.loads(get(base + "/records")[2])["records"], 30, "a work record", proc)
        yield base, proc, directory
    finally:
        proc.terminate()
        try:
            assert proc.wait(timeout=10) == 0, "serve must stop cleanly on SIGTERM"
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()


def chromium(*args: str, profile) -> str:
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


class Dom(HTMLParser):
    """Elements and visible text of a dumped DOM."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.by_id: dict[str, list[str]] = {}
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        element_id = dict(attrs).get("id")
        if element_id:
            self._open.append(element_id)
            self.by_id[element_id] = []

    def handle_data(self, data):
        self.text.append(data)
        for element_id in self._open:
            self.by_id[element_id].append(data)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium missing (Debian package chromium)")
def test_status_page_in_a_browser(daemon, tmp_path):
    base, proc, directory = daemon
    OUTPUT.mkdir(exist_ok=True)
    screenshot = OUTPUT / "status.png"
    screenshot.unlink(missing_ok=True)
    chromium(f"--screenshot={screenshot}", "--window-size=1280,1600", base + "/", profile=tmp_path / "profile")
    assert screenshot.stat().st_size > 10_000  # a rendered page, not a blank one
    dom = Dom(chromium("--dump-dom", base + "/", profile=tmp_path / "profile"))

    assert "script" not in dom.tags  # not the hostname's, not any
    verdict = " ".join(" ".join(dom.by_id["verdict"]).split())
    assert verdict.startswith("Warning"), verdict
    assert "root filesystem in use" in verdict
    text = " ".join(dom.text)
    assert HOSTILE_HOST in text  # shown to the letter, as text
    assert "root filesystem in use: " in text and "(warning above 0.0 %)" in text  # the breach with its value
    assert "nothing: this threshold exists for the test" in text  # what to do
    assert "Open work records" in text and "SLA due" in text
    for layer in ("OS", "Network", "Database", "App server"):
        assert layer in dom.by_id.get(f"layer-{layer.lower().replace(' ', '-')}", [""])[0]


def test_status_page_refreshes_itself_and_passes_the_csp(daemon):
    base, _, _ = daemon
    status, content_type, html = get(base + "/")
    assert status == 200 and content_type.startswith("text/html")
    assert '<meta http-equiv="refresh" content="15">' in html
    assert "<script" not in html.lower()


def test_records_page_for_people_and_json_for_scripts(daemon):
    base, _, _ = daemon
    status, content_type, html = get(base + "/records", accept="text/html,application/xhtml+xml")
    assert status == 200 and content_type.startswith("text/html")
    assert "root filesystem in use" in html and "<script" not in html.lower()
    status, content_type, body = get(base + "/records?status=open")
    assert content_type.startswith("application/json")
    (record,) = [r for r in json.loads(body)["records"] if r["rule"] == "root-filesystem-test"]
    assert record["status"] == "open" and record["sla_due_at"]
    assert get(base + "/records?status=bogus", accept="text/html")[0] == 400


def test_findings_json_has_the_diagnose_shape(daemon):
    base, _, _ = daemon
    status, content_type, body = get(base + "/findings.json")
    assert status == 200 and content_type.startswith("application/json")
    data = json.loads(body)
    assert {"host", "started_at", "findings", "errors"} <= set(data)
    assert data["host"] == HOSTILE_HOST


def test_a_finding_of_the_diagnostics_service_is_on_the_page(daemon, tmp_path):
    pytest.importorskip("l4agent.agent.diagnostics_service", reason="the diagnostics service (daemon.diagnostics_result) is not built yet")
    base, proc, _ = daemon
    data = wait_for(lambda: [f for f in json.loads(get(base + "/findings.json")[2])["findings"]
                             if f["check"] == "security.world_readable_secret"], 60, "the diagnostics run", proc)
    assert "odbc-<script>.ini" in data[0]["object"]
    if CHROMIUM is None:
        pytest.skip("chromium missing")
    chromium(f"--screenshot={OUTPUT / 'status-findings.png'}", "--window-size=1280,1600", base + "/",
             profile=tmp_path / "profile")
    dom = Dom(chromium("--dump-dom", base + "/", profile=tmp_path / "profile"))
    assert "script" not in dom.tags
    text = " ".join(dom.text)
    assert data[0]["summary"] in text
    assert data[0]["object"] in text


SUMMARY_BORDER = (0x0B, 0x5C, 0xAD)  # #summary's top border (exporters/report/html.py)
BREACHES_BORDER = (0x8A, 0x1C, 0x7C)  # #breaches' top border


@pytest.mark.skipif(CHROMIUM is None, reason="chromium missing (Debian package chromium)")
@pytest.mark.parametrize("width, height, breaches_visible", [(1280, 900, True), (390, 844, False)])
def test_the_summary_is_above_the_fold(daemon, tmp_path, width, height, breaches_visible):
    """Desktop and phone: the host's state (the summary band) shows without scrolling; on a
    desktop the breached thresholds do too. Chromium's screenshot is the viewport, so a band whose
    border colour is in it is above the fold."""
    from tests.support.pngread import first_row_with, read_png

    base, _proc, _directory = daemon
    OUTPUT.mkdir(exist_ok=True)
    shot = OUTPUT / f"status-{width}.png"
    shot.unlink(missing_ok=True)
    chromium(f"--screenshot={shot}", f"--window-size={width},{height}", "--hide-scrollbars", base + "/",
             profile=tmp_path / "profile")
    shot_width, shot_height, rows = read_png(shot)
    assert (shot_width, shot_height) == (width, height)
    summary = first_row_with(rows, SUMMARY_BORDER)
    assert summary is not None and summary < height / 3, summary  # the first thing under the header
    breaches = first_row_with(rows, BREACHES_BORDER)
    if breaches_visible:
        assert breaches is not None and breaches > summary
    dom = Dom(chromium("--dump-dom", base + "/", profile=tmp_path / "profile"))
    text = " ".join(" ".join(dom.text).split())
    assert text.index("Open work records: P") < text.index("Thresholds breached now")
    assert "root filesystem in use: " in text and "(warning above 0.0 %)" in text  # the value, then the line
