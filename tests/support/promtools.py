"""Real Prometheus tooling for tests: promtool checks and throwaway servers on loopback.

Everything here runs the actual Debian binaries (``promtool``, ``prometheus``,
``prometheus-alertmanager``, ``prometheus-node-exporter``); nothing is mocked.
Each server gets its own temporary directory (config, data, log), listens on a free
``127.0.0.1`` port, and is killed and cleaned up by ``close()`` -- or, as a safety net,
when it is garbage collected or the interpreter exits.

Readiness waits have deadlines; on failure they raise with the tail of the process log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from pathlib import Path
from typing import Any

from .peers import free_port

__all__ = [
    "AlertmanagerServer",
    "NodeExporter",
    "PrometheusServer",
    "find_binary",
    "promtool_check_metrics",
    "promtool_check_rules",
    "promtool_test_rules",
]

# Loopback only: never route through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

_BINARIES = {
    "promtool": ("promtool",),
    "prometheus": ("prometheus",),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
    "node_exporter": ("prometheus-node-exporter", "node_exporter"),
}


def find_binary(tool: str) -> str:
    """Path of a Prometheus tool (``promtool``, ``prometheus``, ``alertmanager``, ``node_exporter``).

    ``L4_<TOOL>_BIN`` in the environment overrides the lookup (e.g. ``L4_PROMETHEUS_BIN``).
    """
    override = os.environ.get(f"L4_{tool.upper()}_BIN")
    if override:
        return override
    for name in _BINARIES[tool]:
        path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
        if path:
            return path
    raise FileNotFoundError(
        f"{tool} not found (tried {', '.join(_BINARIES[tool])}); "
        "install the Debian package prometheus / prometheus-alertmanager / prometheus-node-exporter"
    )


# --------------------------------------------------------------------------- promtool


def _promtool(*args: str, stdin: bytes | None = None, timeout: float = 60) -> tuple[int, str]:
    proc = subprocess.run(
        [find_binary("promtool"), *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace").strip()
    return proc.returncode, out


#: Lint lines about names the outside contract fixes (../shared/CONTRACT.md): promtool wants base
#: units, but a support horizon in days is what the contract (issue 22) names. Only these exact
#: lines are accepted; any other lint still fails.
CONTRACT_NAMED = frozenset({
    'l4agent_version_support_days_left use base unit "seconds" instead of "days"',
})


def promtool_check_metrics(text: str | bytes) -> str:
    """Lint an exposition with ``promtool check metrics``; returns its output, ``''`` when clean
    (apart from the lines in CONTRACT_NAMED).

    promtool prints lint problems on stderr and exits 3; both streams are returned.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    rc, out = _promtool("check", "metrics", stdin=data)
    if rc != 0 and not out:
        return f"promtool check metrics exited {rc} without output"
    return "".join(line for line in out.splitlines(keepends=True) if line.strip() not in CONTRACT_NAMED)


def promtool_check_rules(*paths: str | os.PathLike[str]) -> tuple[int, str]:
    """``promtool check rules FILE...`` -> (returncode, combined output)."""
    return _promtool("check", "rules", *map(os.fspath, paths))


def promtool_test_rules(*paths: str | os.PathLike[str]) -> tuple[int, str]:
    """``promtool test rules TESTFILE...`` (rule unit tests) -> (returncode, combined output)."""
    return _promtool("test", "rules", *map(os.fspath, paths))


# --------------------------------------------------------------------------- daemons


def _http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with _OPENER.open(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _terminate(state: dict[str, Any]) -> None:
    """Finalizer: stop the process (TERM, then KILL) and remove the temp dir. Idempotent."""
    proc: subprocess.Popen[bytes] | None = state.get("proc")
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    state["proc"] = None
    if state.get("tmp"):
        shutil.rmtree(state["tmp"], ignore_errors=True)
        state["tmp"] = None


class _PortTaken(Exception):
    pass


class _Daemon:
    """A server binary on a free loopback port with its own temp dir; subclasses fill in argv."""

    tool = ""  # key of _BINARIES
    ready_path = "/-/ready"
    start_attempts = 3  # retries with a new port if another process grabbed ours

    def __init__(self, start_timeout: float = 20.0, wait: bool = True) -> None:
        self.binary = find_binary(self.tool)
        self.tmpdir = Path(tempfile.mkdtemp(prefix=f"l4agent-{self.tool}-"))
        self.log_path = self.tmpdir / f"{self.tool}.log"
        self.port = 0
        self._start_timeout = start_timeout
        self._state: dict[str, Any] = {"proc": None, "tmp": str(self.tmpdir)}
        self._finalizer = weakref.finalize(self, _terminate, self._state)
        self._ready = False
        self._attempt = 0
        try:
            self._spawn()
            if wait:
                self.wait_ready(start_timeout)
        except BaseException:
            self.close()
            raise

    # -- subclass hooks
    def _argv(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- lifecycle
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (stable once ``wait_ready()`` returned)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The URL clients use; the base URL unless a subclass says otherwise."""
        return self.base_url

    @property
    def pid(self) -> int:
        proc = self._state["proc"]
        if proc is None:
            raise RuntimeError(f"{self.tool} is not running")
        return proc.pid

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self._state["proc"]

    def _spawn(self) -> None:
        self._attempt += 1
        self.port = free_port()
        with open(self.log_path, "wb") as log:
            self._state["proc"] = subprocess.Popen(
                [self.binary, *self._argv()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmpdir,
                start_new_session=True,  # Ctrl-C in the test run does not hit it first
            )

    def log_tail(self, lines: int = 30) -> str:
        """Last lines of the process's stdout+stderr."""
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return "<no log>"
        return "\n".join(text.splitlines()[-lines:])

    def _fail(self, what: str) -> str:
        return f"{self.tool} ({self.binary}) {what}; log tail:\n{self.log_tail()}"

    def _check_alive(self) -> None:
        proc = self._state["proc"]
        if proc is None:
            raise RuntimeError(f"{self.tool} was closed")
        rc = proc.poll()
        if rc is None:
            return
        if "address already in use" in self.log_tail(200).lower():
            raise _PortTaken
        raise RuntimeError(self._fail(f"exited with code {rc} before becoming ready"))

    def wait_ready(self, timeout: float | None = None) -> None:
        """Poll the readiness endpoint until 200; raises RuntimeError/TimeoutError with the log tail."""
        if self._ready:
            return
        limit = timeout if timeout is not None else self._start_timeout
        deadline = time.monotonic() + limit
        while True:
            try:
                self._check_alive()
            except _PortTaken:
                if self._attempt >= self.start_attempts:
                    raise RuntimeError(self._fail("could not bind a free port")) from None
                _terminate({"proc": self._state["proc"]})
                self._spawn()
                continue
            try:
                status, _ = _http_get(self.base_url + self.ready_path, timeout=1.0)
                if status == 200:
                    self._ready = True
                    return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    self._fail(f"not ready at {self.base_url}{self.ready_path} after {limit}s")
                )
            time.sleep(0.05)

    def close(self) -> None:
        """Kill the process and delete the temp dir (safe to call twice)."""
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP helpers
    def _get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        status, body = _http_get(url)
        try:
            doc = json.loads(body)
        except ValueError:
            raise RuntimeError(f"GET {url}: HTTP {status}, not JSON: {body[:300]!r}") from None
        if status >= 400:
            raise RuntimeError(f"GET {url}: HTTP {status}: {doc}")
        return doc


class PrometheusServer(_Daemon):
    """A throwaway Prometheus server scraping ``scrape_targets`` on loopback.

    ``scrape_targets`` are ``"host:port"`` (scraped at ``/metrics`` over http) or full URLs
    such as ``"https://127.0.0.1:9847/metrics"`` (scheme and path taken from them; all
    targets must agree). They form one job named ``job_name``.
    ``extra_scrape_config``: a dict or list of dicts appended verbatim to ``scrape_configs``
    (e.g. a TLS/basic-auth job). ``rule_files`` and ``alertmanagers`` (base URLs) are optional.

    Starts in the constructor and waits for ``/-/ready`` unless ``wait=False``.
    """

    tool = "prometheus"

    def __init__(
        self,
        scrape_targets: list[str],
        scrape_interval: str = "1s",
        extra_scrape_config: dict[str, Any] | list[dict[str, Any]] | None = None,
        *,
        job_name: str = "test",
        rule_files: list[str | os.PathLike[str]] | None = None,
        alertmanagers: list[str] | None = None,
        start_timeout: float = 20.0,
        wait: bool = True,
    ) -> None:
        self.scrape_targets = list(scrape_targets)
        self.scrape_interval = scrape_interval
        self.job_name = job_name
        self._extra = (
            []
            if extra_scrape_config is None
            else [extra_scrape_config]
            if isinstance(extra_scrape_config, dict)
            else list(extra_scrape_config)
        )
        self._rule_files = [os.fspath(p) for p in rule_files or []]
        self._alertmanagers = list(alertmanagers or [])
        self.config_path: Path | None = None
        super().__init__(start_timeout=start_timeout, wait=wait)

    def _config(self) -> dict[str, Any]:
        scheme, path, hosts = "http", "/metrics", []
        seen: set[tuple[str, str]] = set()
        for target in self.scrape_targets:
            if "://" in target:
                parts = urllib.parse.urlsplit(target)
                scheme, path = parts.scheme, parts.path or "/metrics"
                seen.add((scheme, path))
                hosts.append(parts.netloc)
            else:
                seen.add(("http", "/metrics"))
                hosts.append(target)
        if len(seen) > 1:
            raise ValueError(
                f"scrape targets disagree on scheme/path: {sorted(seen)}; use extra_scrape_config"
            )
        cfg: dict[str, Any] = {
            # No scrape_timeout: Prometheus caps the default at the interval itself.
            "global": {"scrape_interval": self.scrape_interval, "evaluation_interval": self.scrape_interval},
            "scrape_configs": [],
        }
        if hosts:
            cfg["scrape_configs"].append(
                {
                    "job_name": self.job_name,
                    "scheme": scheme,
                    "metrics_path": path,
                    "static_configs": [{"targets": hosts}],
                }
            )
        cfg["scrape_configs"].extend(self._extra)
        if self._rule_files:
            cfg["rule_files"] = self._rule_files
        if self._alertmanagers:
            am = [urllib.parse.urlsplit(u) for u in self._alertmanagers]
            cfg["alerting"] = {
                "alertmanagers": [
                    {
                        "scheme": u.scheme or "http",
                        "path_prefix": u.path or "/",
                        "api_version": "v2",
                        "static_configs": [{"targets": [u.netloc]}],
                    }
                    for u in am
                ]
            }
        return cfg

    def _argv(self) -> list[str]:
        if self.config_path is None:
            self.config_path = self.tmpdir / "prometheus.yml"
            # JSON is valid YAML, so no YAML library is needed.
            self.config_path.write_text(json.dumps(self._config(), indent=2))
        return [
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.tmpdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]

    def query(self, promql: str, time_: float | None = None) -> list[dict[str, Any]]:
        """Instant query via ``/api/v1/query``; returns ``data.result``.

        For vectors that is a list of ``{"metric": {...}, "value": [ts, "val"]}`` dicts;
        a scalar/string result comes back as Prometheus sends it (``[ts, "val"]``).
        Raises ValueError for a bad expression.
        """
        params = {"query": promql}
        if time_ is not None:
            params["time"] = str(time_)
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}"
        status, body = _http_get(url)
        doc = json.loads(body)
        if doc.get("status") != "success":
            raise ValueError(
                f"query {promql!r} failed (HTTP {status}): {doc.get('errorType')}: {doc.get('error')}"
            )
        return doc["data"]["result"]

    def wait_for_series(
        self, promql: str, timeout: float = 15.0, interval: float = 0.2
    ) -> list[dict[str, Any]]:
        """Poll ``query(promql)`` until the result is non-empty and return it.

        On timeout raises TimeoutError listing the scrape targets' health and last errors.
        """
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            result = self.query(promql)
            if result:
                return result
            if time.monotonic() > deadline:
                targets = "\n".join(
                    f"  {t.get('scrapeUrl')}: health={t.get('health')} lastError={t.get('lastError')!r}"
                    for t in self.targets()
                )
                raise TimeoutError(
                    f"no series for {promql!r} after {timeout}s; targets:\n{targets}\n"
                    f"prometheus log tail:\n{self.log_tail(10)}"
                )
            time.sleep(interval)

    def targets(self) -> list[dict[str, Any]]:
        """Active targets from ``/api/v1/targets`` (scrapeUrl, health, lastError, labels, ...)."""
        return self._get_json("/api/v1/targets")["data"]["activeTargets"]

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts of the rule evaluator (``/api/v1/alerts``)."""
        return self._get_json("/api/v1/alerts")["data"]["alerts"]


class AlertmanagerServer(_Daemon):
    """A throwaway Alertmanager with clustering disabled.

    Routes everything to one receiver named ``null``: a blackhole, or -- with
    ``webhook_url`` -- a webhook receiver (e.g. a RecordingHttpServer) with send_resolved.
    """

    tool = "alertmanager"

    def __init__(
        self,
        *,
        group_wait: str = "100ms",
        group_interval: str = "1s",
        repeat_interval: str = "1h",
        webhook_url: str | None = None,
        start_timeout: float = 20.0,
        wait: bool = True,
    ) -> None:
        receiver: dict[str, Any] = {"name": "null"}
        if webhook_url:
            receiver["webhook_configs"] = [{"url": webhook_url, "send_resolved": True}]
        self._cfg = {
            "route": {
                "receiver": "null",  # must be quoted in YAML; JSON makes that automatic
                "group_by": ["..."],
                "group_wait": group_wait,
                "group_interval": group_interval,
                "repeat_interval": repeat_interval,
            },
            "receivers": [receiver],
        }
        self.config_path: Path | None = None
        super().__init__(start_timeout=start_timeout, wait=wait)

    def _argv(self) -> list[str]:
        if self.config_path is None:
            self.config_path = self.tmpdir / "alertmanager.yml"
            self.config_path.write_text(json.dumps(self._cfg, indent=2))
        return [
            f"--config.file={self.config_path}",
            f"--storage.path={self.tmpdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # empty disables gossip clustering
        ]

    def alerts(self, active: bool | None = None, filter: list[str] | None = None) -> list[dict[str, Any]]:  # noqa: A002
        """``GET /api/v2/alerts``; ``active`` and matcher ``filter`` (e.g. ``['alertname="X"']``) optional."""
        params: dict[str, Any] = {}
        if active is not None:
            params["active"] = "true" if active else "false"
        if filter:
            params["filter"] = filter
        return self._get_json("/api/v2/alerts", params)

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """``POST /api/v2/alerts`` (each alert: ``{"labels": {...}, "annotations": {...}, ...}``)."""
        req = urllib.request.Request(
            self.url + "/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with _OPENER.open(req, timeout=5) as resp:
            resp.read()

    def wait_for_alerts(self, n: int = 1, timeout: float = 10.0, **kw: Any) -> list[dict[str, Any]]:
        """Poll ``alerts(**kw)`` until at least ``n`` are listed; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.alerts(**kw)
            if len(got) >= n:
                return got
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(got)} alerts after {timeout}s, wanted {n}: {got}")
            time.sleep(0.1)


class NodeExporter(_Daemon):
    """``prometheus-node-exporter`` on a free loopback port; ``.url`` is its /metrics URL.

    ``textfile_dir`` sets ``--collector.textfile.directory``; ``extra_args`` are appended.
    """

    tool = "node_exporter"
    ready_path = "/metrics"

    def __init__(
        self,
        *,
        textfile_dir: str | os.PathLike[str] | None = None,
        extra_args: list[str] | None = None,
        start_timeout: float = 20.0,
        wait: bool = True,
    ) -> None:
        self._textfile_dir = textfile_dir
        self._extra_args = list(extra_args or [])
        super().__init__(start_timeout=start_timeout, wait=wait)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>/metrics``."""
        return self.base_url + "/metrics"

    def _argv(self) -> list[str]:
        argv = [f"--web.listen-address=127.0.0.1:{self.port}"]
        if self._textfile_dir is not None:
            argv.append(f"--collector.textfile.directory={os.fspath(self._textfile_dir)}")
        return argv + self._extra_args
