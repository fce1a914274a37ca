"""The least-squares fit behind both capacity checks, and when it declines to forecast."""

from __future__ import annotations

import pytest

from l4agent.diagnostics.capacity.forecast import DAY, Settings, forecast, least_squares

SETTINGS = Settings(horizon=30 * DAY, critical_within=7 * DAY, window=14 * DAY, min_points=3, min_history=6 * 3600,
                    min_r2=0.5)
T0 = 1_800_000_000.0


def test_an_exact_line_is_recovered_at_epoch_scale():
    points = [(T0 + 3600 * i, 1e9 + 2e6 * i) for i in range(48)]
    fit = least_squares(points)
    assert fit.slope == pytest.approx(2e6 / 3600, rel=1e-9)
    assert fit.value_at(T0) == pytest.approx(1e9, rel=1e-9)
    assert (fit.count, fit.span, fit.r2) == (48, 47 * 3600, pytest.approx(1.0))


def test_days_until_the_room_is_used_up():
    points = [(T0 + DAY * i / 24, 5e9 + 1e9 * i / 24) for i in range(72)]  # +1 GB a day
    result = forecast(points, room=10e9, settings=SETTINGS, source="history")
    assert result.days == pytest.approx(10.0)
    assert result.severity(SETTINGS) == "warning"
    assert forecast(points, room=5e9, settings=SETTINGS, source="history").severity(SETTINGS) == "critical"
    assert forecast(points, room=0, settings=SETTINGS, source="history").days == 0.0


@pytest.mark.parametrize(("points", "room"), [
    ([(T0 + 3600 * i, 5e9) for i in range(24)], 1e9),  # flat: no growth
    ([(T0 + 3600 * i, 5e9 - 1e6 * i) for i in range(24)], 1e9),  # shrinking
    ([(T0 + 3600 * i, 5e9 + 1e6 * i) for i in range(24)], 1e15),  # beyond the horizon
    ([(T0, 5e9), (T0 + 3600, 6e9)], 1e9),  # too few points
    ([(T0 + 3600 * i, 5e9 + (1e8 if i % 2 else -1e8) + 1e3 * i) for i in range(24)], 1e6),  # noise
])
def test_no_forecast_without_a_trustworthy_trend_inside_the_horizon(points, room):
    assert forecast(points, room, SETTINGS, "history") is None


def test_degenerate_series_have_no_fit():
    assert least_squares([]) is None
    assert least_squares([(T0, 1.0)]) is None
    assert least_squares([(T0, 1.0), (T0, 2.0)]) is None


def test_history_counts_only_from_min_history_on():
    points = [(T0 + 600 * i, 5e9 + 1e6 * i) for i in range(36)]  # 5h 50m
    assert not SETTINGS.usable_history(points)
    assert SETTINGS.usable_history([*points, (T0 + 6 * 3600, 5e9)])
    assert not SETTINGS.usable_history([(T0, 1.0), (T0 + DAY, 2.0)])  # two points: too few
