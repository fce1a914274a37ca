"""Hostile input, property-based: the config parser, durations, label/Markdown/table escaping
never raise anything but their own clear errors, and never break their output format."""

from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l4agent.agent.configuration import parse_config
from l4agent.core.config import ConfigError
from l4agent.core.durations import DurationError, parse_duration
from l4agent.core.redact import redact
from l4agent.core.samples import gauge
from l4agent.exporters.findings import md_escape
from l4agent.exporters.prometheus import render
from l4agent.exporters.tables import render_table

toml_scalars = st.one_of(st.text(max_size=50), st.integers(), st.floats(allow_nan=True), st.booleans(),
                         st.lists(st.text(max_size=10), max_size=3))
toml_tables = st.recursive(
    st.dictionaries(st.text(string.ascii_lowercase + "_[].", max_size=12), toml_scalars, max_size=5),
    lambda children: st.dictionaries(st.sampled_from(["agent", "databases", "probes", "thresholds", "records",
                                                      "sinks", "web", "appservers", "diagnostics", "x"]),
                                     st.one_of(children, st.lists(children, max_size=2)), max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(toml_tables)
def test_config_parser_only_ever_raises_config_error(data):
    try:
        parse_config(data, "F")
    except ConfigError as exc:
        assert exc.lines and all(line.startswith("config error: F: ") and "\n" not in line for line in exc.lines)


@given(st.one_of(st.text(max_size=30), st.integers(), st.none(), st.floats()))
def test_durations_parse_or_explain(value):
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        assert str(exc)
    else:
        assert seconds >= 0


@given(st.text(max_size=10_000))
def test_label_values_never_break_the_exposition(value):
    text = render([gauge("l4agent_test_info", "t")(1, name=value)]).decode("utf-8")
    lines = [line for line in text.split("\n") if line and not line.startswith("#")]  # the format splits on \n only
    assert len(lines) == 1 and lines[0].startswith('l4agent_test_info{name="') and lines[0].endswith("} 1.0")


@given(st.text(max_size=2000))
def test_markdown_cells_stay_in_their_cell(value):
    cell = md_escape(value)
    assert "\n" not in cell and "<" not in cell
    assert cell.replace("\\|", "").count("|") == 0


@given(st.lists(st.lists(st.text(max_size=200), min_size=3, max_size=3), max_size=5))
def test_tables_keep_one_row_per_line(rows):
    table = render_table(["a", "b", "c"], rows)
    assert len(table.split("\n")) == len(rows) + 2


@given(st.text(min_size=1, max_size=40).filter(lambda s: ";" not in s and "}" not in s and s.strip() == s and s))
def test_dsn_passwords_are_always_masked(password):
    text = redact(f"DRIVER={{x}};SERVER=db;PWD={{{password}}};UID=l4")
    assert "PWD=***" in text
    json.dumps(text)
