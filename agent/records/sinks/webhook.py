"""``type = "webhook"``: a JSON POST of each event (opened, noted, resolved, reopened, closed).

The body is ``{"event", "idempotency_key", "at", "record": {...}, "note": {...}|null}``; the
same key goes in the ``Idempotency-Key`` header, so a receiver can drop the duplicates that
at-least-once delivery may produce. ``token_env``/``token_file`` adds ``Authorization: Bearer``.
"""

from __future__ import annotations

from typing import Any

from l4agent.agent.records.sinks.base import Sink, post_json, read_secret, tls_context


class WebhookSink(Sink):
    def send(self, event: dict[str, Any]) -> None:
        config = self.config
        headers = {"Idempotency-Key": event["idempotency_key"]}
        token = read_secret(config.token_env, config.token_file, f"sink {self.name} token")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        post_json(config.url, event, headers, self.timeout, tls_context(config))
