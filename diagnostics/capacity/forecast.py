"""What both capacity checks share: a least-squares line through (time, value) points, the
choice between the daemon's history and samples taken during the run, and the options.

A forecast is "days until the room runs out at the fitted rate": room / slope. It is made only
from ``min_points`` points or more whose fit explains the data (R² >= ``min_r2``); history
counts when it spans ``min_span`` or more within the last ``window``, otherwise the check
samples ``run_samples`` times, ``run_interval`` apart, during the run (and says so). A rate seen
for seconds says nothing about weeks: such a forecast is reported only within ``run_horizon``
(a runaway log filling the disk today, not a slow trend).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from l4agent.core.durations import format_duration
from l4agent.diagnostics.base import Check, CheckContext
from l4agent.diagnostics.checkkit import seconds_option

DAY = 86400.0

DEFAULTS: Mapping[str, Any] = {
    "horizon": "30d",  # report when full within this
    "critical_within": "7d",  # critical when full within this, else warning
    "window": "14d",  # history older than this is not fitted
    "min_points": 3,
    "min_span": "1h",  # shorter history is not trusted: samples are taken during the run
    "min_r2": 0.5,  # a fit explaining less of the variation is noise, not a trend
    "run_samples": 3,
    "run_interval": "1s",
    "run_horizon": "1d",  # forecasts from samples taken during the run reach no further
}


@dataclass(frozen=True)
class Fit:
    """value ≈ slope * ts + intercept; slope in units per second."""

    slope: float
    intercept: float
    count: int
    first_ts: float
    last_ts: float
    r2: float

    @property
    def span(self) -> float:
        """Seconds between the first and the last point."""
        return self.last_ts - self.first_ts

    @property
    def per_day(self) -> float:
        return self.slope * DAY

    def value_at(self, ts: float) -> float:
        return self.slope * ts + self.intercept


def least_squares(points: Sequence[tuple[float, float]]) -> Fit | None:
    """The ordinary least-squares line through (ts, value) points; None for fewer than two
    points or no spread in time. Times are centred first: epoch seconds squared lose precision."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    stt = sum((t - mean_t) ** 2 for t, _ in points)
    if stt == 0:
        return None
    stv = sum((t - mean_t) * (v - mean_v) for t, v in points)
    svv = sum((v - mean_v) ** 2 for _, v in points)
    slope = stv / stt
    # R²: 1 for a perfect line; a flat, unchanging series explains nothing and has no trend.
    r2 = (stv * stv) / (stt * svv) if svv > 0 else 0.0
    return Fit(slope, mean_v - slope * mean_t, n, min(t for t, _ in points), max(t for t, _ in points), r2)


@dataclass(frozen=True)
class Settings:
    """The options of a capacity check, durations in seconds."""

    horizon: float
    critical_within: float
    window: float
    min_points: int
    min_span: float
    min_r2: float
    run_samples: int
    run_interval: float
    run_horizon: float = DAY

    @classmethod
    def of(cls, check: Check, ctx: CheckContext) -> Settings:
        o = ctx.options
        return cls(seconds_option(check, ctx, "horizon"), seconds_option(check, ctx, "critical_within"),
                   seconds_option(check, ctx, "window"), int(o["min_points"]), seconds_option(check, ctx, "min_span"),
                   float(o["min_r2"]), int(o["run_samples"]), seconds_option(check, ctx, "run_interval"),
                   seconds_option(check, ctx, "run_horizon"))

    def usable_history(self, points: Sequence[tuple[float, float]]) -> bool:
        return len(points) >= self.min_points and points[-1][0] - points[0][0] >= self.min_span


def sample_during_run(settings: Settings, read: Callable[[], Mapping[Any, float]]) -> dict[Any, list[tuple[float, float]]]:
    """Call ``read()`` (key -> value now) ``run_samples`` times, ``run_interval`` apart; the
    points per key. One loop for every key, so the run waits once, not once per filesystem."""
    series: dict[Any, list[tuple[float, float]]] = {}
    for number in range(max(0, settings.run_samples)):
        if number:
            time.sleep(settings.run_interval)
        now = time.time()
        for key, value in read().items():
            series.setdefault(key, []).append((now, value))
    return series


@dataclass(frozen=True)
class Forecast:
    fit: Fit
    days: float  # until the room is used up at the fitted rate
    source: str  # "history" or "run"

    def severity(self, settings: Settings) -> str:
        return "critical" if self.days * DAY <= settings.critical_within else "warning"

    def evidence(self, state_dir: str | None) -> dict[str, Any]:
        source = (f"history in {state_dir}" if self.source == "history" else
                  "samples taken during this diagnose run (no usable history yet: a short-term rate)")
        return {
            "days_until_full": round(self.days, 2),
            "growth_bytes_per_day": round(self.fit.per_day),
            "fit_samples": self.fit.count,
            "fit_span": format_duration(self.fit.span),
            "fit_span_seconds": round(self.fit.span, 1),
            "fit_r2": round(self.fit.r2, 3),
            "source": source,
        }

    def basis(self) -> str:
        """``fit of 96 samples over 2d`` for a summary."""
        where = "history" if self.source == "history" else "this run"
        return f"fit of {self.fit.count} samples over {format_duration(self.fit.span)} from {where}"


def forecast(points: Sequence[tuple[float, float]], room: float, settings: Settings, source: str) -> Forecast | None:
    """Days until ``room`` (units left now) is used up by the trend in ``points`` (the used
    quantity over time: growth is positive), or None when there is no trustworthy growth or it
    lies beyond the horizon."""
    if len(points) < max(2, settings.min_points):
        return None
    fit = least_squares(points)
    if fit is None or fit.slope <= 0 or fit.r2 < settings.min_r2:
        return None
    days = max(0.0, room) / fit.per_day
    horizon = settings.horizon if source == "history" else min(settings.horizon, settings.run_horizon)
    if not math.isfinite(days) or days * DAY > horizon:
        return None
    return Forecast(fit, days, source)
