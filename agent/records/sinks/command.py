"""``type = "command"``: runs a program with the event JSON on stdin (the ERP's own API client).

``command = ["/usr/local/bin/erp-ticket", "--queue", "L4"]`` (no shell). The program gets an
explicit, minimal environment, never the agent's own (which holds every database password
variable and sink token): ``PATH``, ``HOME``, ``LANG``, ``LC_ALL``, ``LC_CTYPE``, ``TZ`` and
``TMPDIR`` when set, plus ``L4_EVENT`` (opened, noted, …) and ``L4_IDEMPOTENCY_KEY``. A program
that needs a credential reads it from its own file. Exit 0 is delivered; exit 64–78
(sysexits: bad data, bad config…, except 75 "try again") parks the event; anything else,
a timeout or a missing program is retried with backoff.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from l4agent.agent.records.sinks.base import DeliveryError, Sink
from l4agent.core.redact import redact
from l4agent.core.text import printable

#: the variables of the agent's environment a command sink's program gets (nothing secret)
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

EX_TEMPFAIL = 75
PERMANENT_EXITS = frozenset(range(64, 79)) - {EX_TEMPFAIL}


class CommandSink(Sink):
    def send(self, event: dict[str, Any]) -> None:
        argv = list(self.config.command)
        env = command_env(event)
        try:
            done = subprocess.run(argv, input=json.dumps(event).encode("utf-8"), capture_output=True,
                                  timeout=self.timeout, env=env, check=False)
        except FileNotFoundError:
            raise DeliveryError(f"command not found: {argv[0]}") from None
        except PermissionError:
            raise DeliveryError(f"command not executable: {argv[0]}") from None
        except subprocess.TimeoutExpired:
            raise DeliveryError(f"{argv[0]} did not finish within {self.timeout:g}s") from None
        if done.returncode == 0:
            return
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = f": {printable(redact(lines[-1][:200]))}" if lines else ""
        raise DeliveryError(f"{argv[0]} exited {done.returncode}{why}", permanent=done.returncode in PERMANENT_EXITS)


def command_env(event: dict[str, Any]) -> dict[str, str]:
    """The whole environment of the sink's program: PASSED_ENV from ours, and the event's."""
    env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    env.setdefault("PATH", DEFAULT_PATH)
    env["L4_EVENT"] = str(event["event"])
    env["L4_IDEMPOTENCY_KEY"] = str(event["idempotency_key"])
    return env
