"""Agent mode: l4agent is installed on the host, so it runs there, with the host's own config,
and its JSON is the result (``l4agent collect|diagnose --format json``).

The host stops its own run at the command timeout (``timeout`` when the host has it), so a hung
run leaves nothing behind; exit codes 1 (``--fail-on`` reached) and 3 (a target unreachable)
still carry a full JSON answer.

Memory (``--parallel N`` bounds it): a host's answer is read up to MAX_ANSWER bytes (more is an
error for that host), at most PARSING_AT_ONCE answers are parsed at the same time, and of a
parsed answer at most MAX_ITEMS samples, findings and errors each are kept (the rest is
counted in one error entry). See docs/security.md for the figures.
"""

from __future__ import annotations

import json
import shlex
import threading
from collections.abc import Sequence

from l4agent.agent.remote.ssh import Session, SshError
from l4agent.core.text import printable_tree

EXIT_CODES_WITH_JSON = (0, 1, 3)
TIMEOUT_EXIT = 124  # coreutils timeout: the command was stopped
GRACE = 10.0  # seconds our deadline waits beyond the host's own
#: bytes of a host's JSON answer read at most (a real collect or diagnose answer is well under 1 MiB)
MAX_ANSWER = 4 * 1024 * 1024
#: answers parsed at the same time, fleet-wide: parsing takes several times the answer's size
PARSING_AT_ONCE = 1
#: samples, findings and errors kept of one host's answer (each)
MAX_ITEMS = 10000
_parsing = threading.BoundedSemaphore(PARSING_AT_ONCE)


class AgentModeError(SshError):
    """The host's l4agent failed or printed something that is not its JSON."""


def detect(session: Session, timeout: float) -> bool:
    """True when ``l4agent`` is on the PATH of the login user on the host."""
    result = session.run("sh -c 'command -v l4agent'", timeout)
    return result.exit_status == 0 and bool(result.stdout.strip())


def command(action: str, timeout: float, config: str | None = None, prefixes: Sequence[str] = (),
            target: str | None = None) -> str:
    """The remote command line (every argument shell-quoted)."""
    argv = ["l4agent", action, "--format", "json"]
    if config:
        argv += ["-c", config]
    for prefix in prefixes:
        argv += ["--check", prefix]
    if target:
        argv += ["--target", target]
    inner = " ".join(shlex.quote(a) for a in argv)
    seconds = max(1, int(timeout))
    script = (f"if command -v timeout >/dev/null 2>&1; then exec timeout -k 5 {seconds} {inner}; "
              f"else exec {inner}; fi")
    return "sh -c " + shlex.quote(script)


def run(session: Session, action: str, timeout: float, config: str | None = None,
        prefixes: Sequence[str] = (), target: str | None = None) -> dict:
    """Run ``l4agent <action>`` on the host and return its JSON (validated in shape)."""
    result = session.run(command(action, timeout, config, prefixes, target), timeout + GRACE, max_stdout=MAX_ANSWER)
    where = f"{session.address}: l4agent {action}"
    if result.exit_status == TIMEOUT_EXIT:
        raise AgentModeError(f"{where} did not finish within {timeout:g}s (stopped on the host)")
    if result.exit_status not in EXIT_CODES_WITH_JSON:
        detail = result.stderr_line() or "no message"
        raise AgentModeError(f"{where} exited {result.exit_status}: {detail}")
    return parse_json(result.stdout, action, where)


def _capped(data):
    """At most MAX_ITEMS of each list of the answer; what was left out is said in ``errors``."""
    if not isinstance(data, dict):
        return data
    dropped = []
    for key in ("samples", "findings", "errors"):
        items = data.get(key)
        if isinstance(items, list) and len(items) > MAX_ITEMS:
            dropped.append(f"{len(items) - MAX_ITEMS} {key}")
            data[key] = items[:MAX_ITEMS]
    if dropped and isinstance(data.get("errors"), list):
        data["errors"].append({"collector": "remote", "target": None, "error":
                               f"the host's answer was cut to {MAX_ITEMS} items per list: "
                               f"{', '.join(dropped)} not kept"})
    return data


def parse_json(stdout: bytes, action: str, where: str = "l4agent") -> dict:
    """The JSON document, checked to have the shape of ``collect``'s or ``diagnose``'s output."""
    with _parsing:
        try:
            data = json.loads(stdout)  # bytes: no decoded copy of the whole answer
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise AgentModeError(f"{where} printed no valid JSON ({len(stdout)} bytes)") from None
        lists = ("samples", "errors") if action == "collect" else ("findings", "errors")
        if not isinstance(data, dict) or not all(isinstance(data.get(key), list) for key in lists):
            raise AgentModeError(f"{where} printed JSON without the {' and '.join(lists)} lists "
                                 "(an incompatible l4agent version?)")
        # A hostile host's strings (names, errors, SQL text) are made inert once, here, for every printer.
        return printable_tree(_capped(data), multiline=True)
