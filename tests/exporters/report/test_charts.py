"""The inline SVG charts: well-formed, scaled to their data, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from l4agent.exporters.report import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to prove it is well-formed


def test_usage_bars_colour_by_level_and_escape_names():
    svg = charts.usage_bars([("/", 0.5, "50 GiB free"), ("/data<&>", 0.97, "3 GiB free")])
    root = parse(svg)
    fills = [rect.get("fill") for rect in root.iter(f"{SVG}rect")]
    assert charts.OK_COLOUR in fills and charts.CRITICAL_COLOUR in fills
    assert "/data&lt;&amp;&gt;" in svg


def test_sparkline_needs_two_points_and_shows_the_latest_value():
    assert "not enough history" in charts.sparkline([(1.0, 0.5)], str, "x")
    svg = charts.sparkline([(0.0, 0.1), (60.0, 0.2), (120.0, 0.35)], lambda v: f"{v * 100:.0f} %", "cpu", 0.0, 1.0)
    root = parse(svg)
    (line,) = root.iter(f"{SVG}polyline")
    assert len(line.get("points").split()) == 3
    assert "35 %" in svg


def test_forecast_line_reaches_the_size_on_the_full_date():
    svg = charts.forecast_chart([(0.0, 10.0), (86400.0, 20.0)], 86400.0, 20.0, 100.0, 9 * 86400.0, lambda v: f"{v:.0f}",
                                "forecast")
    root = parse(svg)
    dashed = [line for line in root.iter(f"{SVG}line") if line.get("stroke-dasharray") == "6 4"]
    (projection,) = dashed
    (size_line,) = [line for line in root.iter(f"{SVG}line") if line.get("stroke-width") == "1.5"]
    assert projection.get("y2") == size_line.get("y1")  # the trend meets the size line
    assert float(projection.get("x2")) > float(projection.get("x1"))


def test_downsample_keeps_the_shape():
    points = [(float(i), float(i % 2)) for i in range(1000)]
    reduced = charts.downsample(points, 100)
    assert len(reduced) == 100
    assert all(abs(v - 0.5) < 0.01 for _, v in reduced)
    assert charts.downsample(points[:50], 100) == points[:50]
