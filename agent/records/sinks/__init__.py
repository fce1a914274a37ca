"""Where work-record events go: webhook, Alertmanager, mail, or a program of the customer's."""

from __future__ import annotations

from collections.abc import Iterable

from l4agent.agent.records.sinks.base import DeliveryError, Sink
from l4agent.core.config import SinkConfig

__all__ = ["DeliveryError", "Sink", "build_sinks"]


def build_sinks(configs: Iterable[SinkConfig]) -> dict[str, Sink]:
    """One sink object per ``[[sinks]]`` entry, by name."""
    from l4agent.agent.records.sinks.alertmanager import AlertmanagerSink
    from l4agent.agent.records.sinks.command import CommandSink
    from l4agent.agent.records.sinks.smtp import SmtpSink
    from l4agent.agent.records.sinks.webhook import WebhookSink

    kinds = {"webhook": WebhookSink, "alertmanager": AlertmanagerSink, "smtp": SmtpSink, "command": CommandSink}
    return {config.name: kinds[config.type](config) for config in configs}
