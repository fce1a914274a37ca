"""Start ``l4agent serve`` as a subprocess on a free port and wait until it answers."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request

from tests.conftest import REPO, cli_command, cli_env, free_port

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, timeout: float = 5.0, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _NO_PROXY.open(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


class ServeProcess:
    """``l4agent serve -c CONFIG --listen 127.0.0.1:PORT`` with stderr captured to a file."""

    def __init__(self, config_path: str, log_path: str, env: dict | None = None, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            cli_command("serve", "-c", config_path, "--listen", f"127.0.0.1:{self.port}"),
            stdout=self._log, stderr=subprocess.STDOUT, env=cli_env(env), cwd=REPO)

    def wait_healthy(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited {self.process.returncode}: {self.log()}")
            try:
                status, _ = http_get(self.url + "/healthz", timeout=1)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"serve not healthy after {timeout}s: {self.log()}")

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()[-4000:]

    def stop(self, timeout: float = 5.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self._log.close()
