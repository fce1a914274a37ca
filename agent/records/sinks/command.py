"""``type = "command"``: runs a program with the event JSON on stdin (the ERP's own API client).

``command = ["/usr/local/bin/erp-ticket", "--queue", "L4"]`` (no shell). The environment adds
``L4_EVENT`` (opened, noted, …) and ``L4_IDEMPOTENCY_KEY``. Exit 0 is delivered; exit 64–78
(sysexits: bad data, bad config…, except 75 "try again") parks the event; anything else,
a timeout or a missing program is retried with backoff.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from l4agent.agent.records.sinks.base import DeliveryError, Sink

EX_TEMPFAIL = 75
PERMANENT_EXITS = frozenset(range(64, 79)) - {EX_TEMPFAIL}


class CommandSink(Sink):
    def send(self, event: dict[str, Any]) -> None:
        argv = list(self.config.command)
        env = {**os.environ, "L4_EVENT": event["event"], "L4_IDEMPOTENCY_KEY": event["idempotency_key"]}
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
        why = f": {lines[-1][:200]}" if lines else ""
        raise DeliveryError(f"{argv[0]} exited {done.returncode}{why}", permanent=done.returncode in PERMANENT_EXITS)
