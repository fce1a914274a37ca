"""What both capacity checks share: a least-squares line through (time, value) points, the
choice between the daemon's history and samples taken during the run, and the options.

A forecast is "days until the room runs out at the fitted rate": room / slope. It is made only
from the history the daemon keeps (``serve`` records a sample every interval): ``min_points``
points or more spanning ``min_history`` (6h) or more within the last ``window``, whose fit
explains the data (R² >= ``min_r2``). A rate seen for seconds says nothing about weeks, so a
``diagnose`` never samples during its run: below ``min_history`` the check says so in one info
finding ("not enough history yet (N samples over S)") and forecasts nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from l4agent.core.durations import format_duration
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import seconds_option

DAY = 86400.0

DEFAULTS: Mapping[str, Any] = {
    "horizon": "30d",  # report when full within this
    "critical_within": "7d",  # critical when full within this, else warning
    "window": "14d",  # history older than this is not fitted
    "min_points": 3,
    "min_history": "6h",  # shorter history is no evidence: no forecast, an info finding instead
    "min_r2": 0.5,  # a fit explaining less of the variation is noise, not a trend
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
    min_history: float
    min_r2: float

    @classmethod
    def of(cls, check: Check, ctx: CheckContext) -> Settings:
        o = ctx.options
        return cls(seconds_option(check, ctx, "horizon"), seconds_option(check, ctx, "critical_within"),
                   seconds_option(check, ctx, "window"), int(o["min_points"]),
                   seconds_option(check, ctx, "min_history"), float(o["min_r2"]))

    def usable_history(self, points: Sequence[tuple[float, float]]) -> bool:
        return len(points) >= self.min_points and points[-1][0] - points[0][0] >= self.min_history


def too_little_history(check: Check, ctx: CheckContext, settings: Settings, obj: str, what: str,
                       series: Mapping[str, Sequence[tuple[float, float]]]) -> Finding:
    """The one info finding of a check whose ``series`` (name -> points) are all too short:
    ``not enough history yet (N samples over S)``, N and S of the longest series."""
    longest = max(series.values(), key=len, default=[])
    span = longest[-1][0] - longest[0][0] if len(longest) > 1 else 0.0
    names = sorted(series)
    return check.finding(
        ctx, "info", obj,
        f"not enough history yet ({len(longest)} samples over {format_duration(span) if span > 0 else '0s'}) "
        f"to forecast {what}: "
        f"needs {settings.min_points} samples over {format_duration(settings.min_history)}",
        "keep l4agent serve running (it records the history forecasts are made from), or lower "
        f"[diagnostics.{check.id}] min_history",
        samples=len(longest), span_seconds=round(span, 1), min_history=format_duration(settings.min_history),
        history=f"{ctx.state_dir}" if ctx.state_dir else "no state_dir", not_forecast=names)


@dataclass(frozen=True)
class Forecast:
    fit: Fit
    days: float  # until the room is used up at the fitted rate
    source: str  # "history"

    def severity(self, settings: Settings) -> str:
        return "critical" if self.days * DAY <= settings.critical_within else "warning"

    def evidence(self, state_dir: str | None) -> dict[str, Any]:
        source = f"history in {state_dir}"
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
        """``fit of 96 samples over 2d from history`` for a summary."""
        return f"fit of {self.fit.count} samples over {format_duration(self.fit.span)} from {self.source}"


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
    if not math.isfinite(days) or days * DAY > settings.horizon:
        return None
    return Forecast(fit, days, source)
