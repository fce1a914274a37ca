"""Inline SVG charts for the HTML report and the status page: no script, no external asset.

Each function returns one ``<svg>`` element as a string, sized by its viewBox so it scales with
the page. Every text that came from outside (mountpoints, SQL, names) is escaped here.
Values are plain floats; ``fmt`` turns one into a label (bytes, percent, ...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from html import escape

Points = Sequence[tuple[float, float]]

OK_COLOUR = "#2e7d32"
WARNING_COLOUR = "#ef8f00"
CRITICAL_COLOUR = "#c62828"
LINE_COLOUR = "#1565c0"
GRID_COLOUR = "#d7dde3"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _svg(width: float, height: float, body: str, label: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {width:g} {height:g}" role="img" aria-label="{_e(label)}" '
            f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">'
            f"<title>{_e(label)}</title>{body}</svg>")


def level_colour(value: float, warning: float | None, critical: float | None) -> str:
    if critical is not None and value > critical:
        return CRITICAL_COLOUR
    if warning is not None and value > warning:
        return WARNING_COLOUR
    return OK_COLOUR


def usage_bars(items: Sequence[tuple[str, float, str]], warning: float = 0.90, critical: float = 0.95,
               label: str = "usage") -> str:
    """Horizontal 0-100 % bars: (name, ratio 0-1, detail text) each, coloured by level."""
    row, name_width, bar_width, detail_width = 26, 220, 520, 300
    width = name_width + bar_width + detail_width
    height = row * len(items) + 8
    parts = []
    for mark in (warning, critical):
        x = name_width + bar_width * mark
        parts.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 4}" stroke="{GRID_COLOUR}" '
                     'stroke-dasharray="3 3"/>')
    for index, (name, ratio, detail) in enumerate(items):
        y = index * row + 4
        clamped = max(0.0, min(1.0, ratio))
        colour = level_colour(ratio, warning, critical)
        parts.append(f'<text x="{name_width - 8}" y="{y + 15}" text-anchor="end" class="label">{_e(_cut_left(name, 26))}</text>')
        parts.append(f'<rect x="{name_width}" y="{y + 2}" width="{bar_width}" height="{row - 8}" rx="3" fill="#eef1f4"/>')
        parts.append(f'<rect x="{name_width}" y="{y + 2}" width="{bar_width * clamped:.1f}" height="{row - 8}" rx="3" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{name_width + bar_width + 8}" y="{y + 15}" class="value">{ratio * 100:.1f} %'
                     f'<tspan class="muted"> {_e(detail)}</tspan></text>')
    return _svg(width, height, "".join(parts), label)


def sparkline(points: Points, fmt: Callable[[float], str], label: str, low: float | None = None,
              high: float | None = None, width: float = 260, height: float = 56) -> str:
    """A small line over time with its latest value; ``low``/``high`` fix the y range (e.g. 0-1)."""
    points = downsample(points, int(width))
    if len(points) < 2:
        return _svg(width, height, f'<text x="4" y="{height / 2 + 4}" class="muted">not enough history yet</text>', label)
    values = [v for _, v in points]
    y_min = min(values) if low is None else min(low, min(values))
    y_max = max(values) if high is None else max(high, max(values))
    if y_max == y_min:
        y_max = y_min + 1.0
    t0, t1 = points[0][0], points[-1][0]
    plot_w, plot_h, top = width - 70, height - 14, 4

    def xy(t: float, v: float) -> str:
        return f"{(t - t0) / (t1 - t0) * plot_w:.1f},{top + (1 - (v - y_min) / (y_max - y_min)) * plot_h:.1f}"

    line = " ".join(xy(t, v) for t, v in points)
    area = f"0,{top + plot_h} {line} {plot_w:.1f},{top + plot_h}"
    last = points[-1][1]
    body = (f'<polygon points="{area}" fill="{LINE_COLOUR}" fill-opacity="0.12"/>'
            f'<polyline points="{line}" fill="none" stroke="{LINE_COLOUR}" stroke-width="1.5"/>'
            f'<text x="{plot_w + 6}" y="{top + 12}" class="value">{_e(fmt(last))}</text>'
            f'<text x="{plot_w + 6}" y="{top + 26}" class="muted small">max {_e(fmt(max(values)))}</text>'
            f'<text x="0" y="{height - 1}" class="muted small">{_e(_day(t0))}</text>'
            f'<text x="{plot_w}" y="{height - 1}" text-anchor="end" class="muted small">{_e(_day(t1))}</text>')
    return _svg(width, height, body, label)


def forecast_chart(history: Points, now: float, used_now: float, size: float, full_at: float,
                   fmt: Callable[[float], str], label: str, width: float = 1040, height: float = 230) -> str:
    """Used space over time (from history), the fitted trend from now to the day the volume is
    full (dashed), and the volume's size as a red line."""
    history = downsample(history, 320)
    t1 = max(full_at, now + 3600.0)
    # Some past on the left even without history, so "now" stands apart from the first date.
    t0 = min([t for t, _ in history] + [now - max(86400.0, 0.2 * (t1 - now))])
    left, right, top, bottom = 70, 16, 14, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max = max([size] + [v for _, v in history]) * 1.05 or 1.0

    def x(t: float) -> float:
        return left + (t - t0) / (t1 - t0) * plot_w

    def y(v: float) -> float:
        return top + (1 - v / y_max) * plot_h

    parts = [f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{GRID_COLOUR}"/>']
    for fraction in (0.25, 0.5, 0.75):
        value = y_max * fraction
        parts.append(f'<line x1="{left}" y1="{y(value):.1f}" x2="{left + plot_w}" y2="{y(value):.1f}" stroke="{GRID_COLOUR}" '
                     'stroke-dasharray="2 4"/>')
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" class="muted small">{_e(fmt(value))}</text>')
    parts.append(f'<line x1="{left}" y1="{y(size):.1f}" x2="{left + plot_w}" y2="{y(size):.1f}" stroke="{CRITICAL_COLOUR}" '
                 'stroke-width="1.5"/>')
    parts.append(f'<text x="{left + 4}" y="{y(size) - 4:.1f}" class="small" fill="{CRITICAL_COLOUR}">size {_e(fmt(size))}</text>')
    if len(history) >= 2:
        line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in history)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>')
    parts.append(f'<line x1="{x(now):.1f}" y1="{y(used_now):.1f}" x2="{x(full_at):.1f}" y2="{y(size):.1f}" '
                 f'stroke="{CRITICAL_COLOUR}" stroke-width="2" stroke-dasharray="6 4"/>')
    parts.append(f'<circle cx="{x(full_at):.1f}" cy="{y(size):.1f}" r="4" fill="{CRITICAL_COLOUR}"/>')
    anchor = "end" if x(full_at) > left + plot_w * 0.7 else "start"
    parts.append(f'<text x="{x(full_at) + (-6 if anchor == "end" else 6):.1f}" y="{y(size) - 8:.1f}" text-anchor="{anchor}" '
                 f'class="value" fill="{CRITICAL_COLOUR}">full {_e(_day(full_at))}</text>')
    parts.append(f'<text x="{left}" y="{height - 6}" class="muted small">{_e(_day(t0))}</text>')
    parts.append(f'<text x="{x(now):.1f}" y="{height - 6}" text-anchor="middle" class="muted small">now</text>')
    parts.append(f'<text x="{left + plot_w}" y="{height - 6}" text-anchor="end" class="muted small">{_e(_day(t1))}</text>')
    return _svg(width, height, "".join(parts), label)


def value_bars(items: Sequence[tuple[str, float, str]], label: str) -> str:
    """Horizontal bars scaled to the largest value: (name, value, value text) each."""
    row, name_width, bar_width, value_width = 24, 460, 440, 140
    width = name_width + bar_width + value_width
    height = row * len(items) + 6
    top_value = max((value for _, value, _ in items), default=0.0) or 1.0
    parts = []
    for index, (name, value, text) in enumerate(items):
        y = index * row + 3
        parts.append(f'<text x="{name_width - 8}" y="{y + 14}" text-anchor="end" class="label mono">{_e(_cut(name, 64))}</text>')
        parts.append(f'<rect x="{name_width}" y="{y + 2}" width="{max(1.0, bar_width * value / top_value):.1f}" '
                     f'height="{row - 8}" rx="3" fill="{LINE_COLOUR}"/>')
        parts.append(f'<text x="{name_width + bar_width + 8}" y="{y + 14}" class="value">{_e(text)}</text>')
    return _svg(width, height, "".join(parts), label)


def downsample(points: Points, buckets: int) -> list[tuple[float, float]]:
    """At most ``buckets`` points: consecutive points averaged per bucket (keeps the shape)."""
    points = list(points)
    if len(points) <= buckets or buckets < 2:
        return points
    size = len(points) / buckets
    out = []
    for index in range(buckets):
        chunk = points[int(index * size):int((index + 1) * size)] or [points[-1]]
        out.append((sum(t for t, _ in chunk) / len(chunk), sum(v for _, v in chunk) / len(chunk)))
    return out


def _cut(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut_left(text: str, limit: int) -> str:
    """Keep the end of a path ("…/v1/python"): it says more than the start."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%d %b %H:%M")
