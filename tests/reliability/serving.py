"""Helpers for the fault tests that run a real ``l4agent serve``: scrape and read metric values,
wait for a condition with the serve log in the failure message, read the work records."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import subprocess
import time
from collections.abc import Callable
from typing import Any

from tests.conftest import REPO, cli_command, cli_env
from tests.e2e.serve_process import ServeProcess, http_get

_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(serve: ServeProcess, timeout: float = 5.0) -> str:
    """The /metrics text; fails the test when it does not answer 200 within ``timeout`` seconds."""
    status, body = http_get(serve.url + "/metrics", timeout=timeout)
    assert status == 200, body
    return body


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of the first sample ``name`` whose labels include ``labels``, else None."""
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match or match["name"] != name:
            continue
        found = dict(_LABEL.findall(match["labels"] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match["value"])
    return None


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 20.0, serve: ServeProcess | None = None,
             every: float = 0.2) -> Any:
    """Poll ``probe`` until it returns something truthy; returns it (AssertionError with the serve
    log after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n"
                                 f"--- serve log ---\n{serve.log() if serve else ''}")
        time.sleep(every)


def read_records(store_path: str, rule: str | None = None) -> list[dict]:
    """Records (of ``rule``, else all; oldest first) with their notes, read straight from the
    SQLite file, read-only: cheap enough to poll while serve runs."""
    with contextlib.closing(sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=5)) as conn:
        conn.row_factory = sqlite3.Row
        try:
            records = [dict(row) for row in conn.execute(
                "SELECT * FROM records WHERE ? IS NULL OR rule = ? ORDER BY id", (rule, rule))]
            for record in records:
                record["notes"] = [row["text"] for row in conn.execute(
                    "SELECT text FROM notes WHERE record_id = ? ORDER BY id", (record["id"],))]
        except sqlite3.OperationalError:  # no store yet, or its schema not yet created
            return []
    return records


def records_cli(config_path: str, *args: str) -> dict:
    """``l4agent records ARGS --format json`` as a user runs it."""
    done = subprocess.run(cli_command("records", *args, "--format", "json", "-c", config_path),
                          capture_output=True, text=True, env=cli_env(), cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def log_lines(serve: ServeProcess, *fragments: str) -> list[str]:
    """Lines of the serve log containing every one of ``fragments``."""
    with open(serve.log_path, encoding="utf-8", errors="replace") as handle:
        return [line for line in handle.read().splitlines() if all(f in line for f in fragments)]
