"""Units and time: values rendered by their metric's unit suffix, and the one ISO-8601 form
every output uses (``2026-11-22T07:00:00Z``, seconds precision, always UTC)."""

from __future__ import annotations

import datetime as dt

from l4agent.core.durations import format_duration


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso_utc(moment: dt.datetime) -> str:
    """``2026-11-22T07:00:00Z`` for an aware datetime."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_epoch(epoch: float | None) -> str | None:
    """``2026-11-22T07:00:00Z`` for epoch seconds; None stays None."""
    if epoch is None:
        return None
    return iso_utc(dt.datetime.fromtimestamp(epoch, dt.UTC))


def format_bytes(value: float) -> str:
    """1536 -> "1.5 KiB"."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"


def format_value(metric: str, value: float) -> str:
    """Render a metric value by its unit suffix: bytes, seconds, ratios; counts plain."""
    if value != value:  # NaN
        return "n/a"
    if value in (float("inf"), float("-inf")):  # a remote host's JSON may say Infinity
        return "+Inf" if value > 0 else "-Inf"
    if metric.endswith(("_bytes", "_bytes_total")):
        return format_bytes(value)
    if metric.endswith("_ratio"):
        return f"{value * 100:.1f} %"
    if metric.endswith(("_seconds", "_seconds_total")):
        if metric.endswith("_time_seconds") and value > 1e9:  # a timestamp
            return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return format_duration(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.3f}"
