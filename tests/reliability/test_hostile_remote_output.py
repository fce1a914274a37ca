"""Hostile output from a remote host's own l4agent (agent mode): whatever JSON it prints, the
fleet commands print one result per host and never a traceback.

The agentless parsers (``/proc``, ``df``, ``ss``) are fuzzed by the remote engineer's tests in
``tests/agent/remote/test_procfs.py``; this covers what they do not: the JSON document an agent
sends back, through ``parse_json`` and into the tables, the summary lines and the JSON output.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l4agent.agent.remote.agent_mode import AgentModeError, parse_json
from l4agent.agent.remote.fleet import OK, HostResult
from l4agent.agent.remote.output import render_results, summary, to_json

# Any JSON value, with strings that are hostile to terminals and tables.
hostile_text = st.one_of(st.text(max_size=30), st.sampled_from(["\n", "\x1b[2J", "<script>", "|", "}", "NaN"]))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), hostile_text),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(hostile_text, children, max_size=4)),
    max_leaves=20,
)
sample = st.fixed_dictionaries({}, optional={"name": st.one_of(hostile_text, json_values),
                                             "labels": st.one_of(st.dictionaries(hostile_text, json_values, max_size=3),
                                                                 json_values),
                                             "value": st.one_of(st.floats(), st.integers(), json_values)})
finding = st.fixed_dictionaries({}, optional={key: st.one_of(hostile_text, json_values) for key in
                                              ("check", "severity", "target", "object", "summary",
                                               "recommendation", "evidence")})
documents = st.fixed_dictionaries(
    {"samples": st.lists(st.one_of(sample, json_values), max_size=5),
     "findings": st.lists(st.one_of(finding, json_values), max_size=5),
     "errors": st.lists(st.one_of(st.dictionaries(hostile_text, json_values, max_size=3), json_values), max_size=3)},
    optional={"host": json_values, "collected_at": json_values, "duration_seconds": json_values},
)


def printable_json(document) -> bytes:
    return json.dumps(document, default=str, allow_nan=True).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.sampled_from(["collect", "diagnose"]))
def test_any_agent_json_renders_without_a_traceback(document, action):
    try:
        data = parse_json(printable_json(document), action, "db1")
    except AgentModeError as exc:
        assert "\n" not in str(exc)
        return
    result = HostResult("db1", "agent", OK, data, None, 1.0)
    text = render_results([result], action, elapsed=1.0)
    assert text.splitlines()[0].startswith("=== db1")
    assert "\n" not in summary(result, action)
    json.loads(to_json([result]))  # the --format json output stays valid JSON


@given(st.binary(max_size=200))
def test_any_bytes_are_a_clear_error_or_a_document(payload):
    try:
        data = parse_json(payload, "collect", "db1")
    except AgentModeError as exc:
        assert str(exc).startswith("db1 printed")
    else:
        assert isinstance(data["samples"], list)


def test_non_finite_numbers_from_the_host_are_not_a_crash():
    data = parse_json(b'{"samples": [{"name": "x", "labels": {}, "value": NaN}, {"name": "y", "value": '
                      b'Infinity}], "errors": [], "duration_seconds": -Infinity}', "collect", "db1")
    text = render_results([HostResult("db1", "agent", OK, data, None, 0.5)], "collect", 0.5)
    assert "+Inf" in text and "db1" in text
