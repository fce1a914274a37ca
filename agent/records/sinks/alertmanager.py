"""``type = "alertmanager"``: each record as an alert on Alertmanager's ``/api/v2/alerts``.

Labels ``alertname`` (the rule), ``severity``, ``priority``, ``instance`` (the host),
``target``, ``object`` and ``environment`` identify the alert, so customers route, group and
silence work records like any other alert. Open records are re-posted every
``refresh_interval`` with ``endsAt`` a few intervals ahead (Alertmanager expires alerts that
are not refreshed); resolution or closing posts ``endsAt`` = the moment it ended.
"""

from __future__ import annotations

import time
from typing import Any

from l4agent.agent.records.sinks.base import Sink, post_json, read_secret, tls_context
from l4agent.core.units import iso_epoch

API_PATH = "/api/v2/alerts"


class AlertmanagerSink(Sink):
    refresh_interval = 60.0

    @property
    def endpoint(self) -> str:
        url = self.config.url.rstrip("/")
        return url if url.endswith(API_PATH) else url + API_PATH

    def send(self, event: dict[str, Any]) -> None:
        self._post([alert(event["record"], self.refresh_interval)])

    def refresh(self, records: list[dict[str, Any]]) -> None:
        if records:
            self._post([alert(record, self.refresh_interval) for record in records])

    def _post(self, alerts: list[dict[str, Any]]) -> None:
        headers = {}
        token = read_secret(self.config.token_env, self.config.token_file, f"sink {self.name} token")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        post_json(self.endpoint, alerts, headers, self.timeout, tls_context(self.config))


def alert(record: dict[str, Any], refresh_interval: float) -> dict[str, Any]:
    """One record as an Alertmanager v2 ``postableAlert``."""
    ended = (record.get("resolved_at") or record.get("closed_at")) if record["status"] != "open" else None
    ends_at = ended or iso_epoch(time.time() + 4 * refresh_interval + 60)
    return {
        "labels": {
            "alertname": record["rule"],
            "severity": record["severity"],
            "priority": record["priority"],
            "instance": record["host"],
            "target": record["target"],
            "object": record["object"],
            "environment": record["environment"],
        },
        "annotations": {
            "summary": record["title"],
            "description": " ".join(record["problems"]),
            "recommendation": " ".join(record["requests"]),
            "record": f"#{record['id']}",
            "sla_due_at": record["sla_due_at"] or "",
        },
        "startsAt": record["opened_at"],
        "endsAt": ends_at,
        "generatorURL": (record.get("related") or {}).get("url") or "",
    }
