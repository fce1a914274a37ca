"""Issue 17 items 3, 8 and 14: config values that used to pass ``config check`` and then broke
the daemon are config errors, one line each; and a fuzz test over config values."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l4agent.agent.configuration import load_config
from l4agent.core.config import ConfigError


def problems(tmp_path, text: str) -> list[str]:
    path = tmp_path / "l4agent.toml"
    path.write_text(textwrap.dedent(text))
    path.chmod(0o600)
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    return [line.replace(str(path), "FILE") for line in info.value.lines]


@pytest.mark.parametrize("section, key", [("agent", "interval"), ("agent", "collector_timeout"),
                                          ("agent", "diagnostics_interval"), ("records.sla", "P2"),
                                          ("records", "renote_interval")])
def test_huge_durations_are_config_errors(tmp_path, section, key):
    lines = problems(tmp_path, f'[{section}]\n{key} = "99999999d"\n')
    assert lines == [f"config error: FILE: {section}.{key}: duration '99999999d' is too long: at most 3650d "
                     "(ten years)"]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_thresholds_are_refused(tmp_path, value):
    lines = problems(tmp_path, f"""
        [[thresholds]]
        metric = "l4agent_load1"
        warning = {value}
        critical = 5
        """)
    assert len(lines) == 1 and "thresholds[0].warning" in lines[0] and "not a finite number" in lines[0]


@pytest.mark.parametrize("url", ["https://", "https://host:99999/x", "https://ho st/hook/SECRETTOKEN",
                                 "http://[::1/x"])
def test_malformed_webhook_urls_are_refused_without_echoing_them(tmp_path, url):
    lines = problems(tmp_path, f"""
        [[sinks]]
        type = "webhook"
        name = "t"
        url = "{url}"
        """)
    assert len(lines) == 1 and ".url: " in lines[0], lines
    assert "SECRETTOKEN" not in lines[0]


def test_malformed_bcrypt_hash_is_a_config_error(tmp_path):
    lines = problems(tmp_path, """
        [agent.web.basic_auth_users]
        prometheus = "$2b$12$short"
        """)
    assert len(lines) == 1 and "agent.web.basic_auth_users.prometheus: expected a bcrypt hash" in lines[0]


def test_missing_tls_file_is_named(tmp_path):
    lines = problems(tmp_path, f"""
        [agent.web]
        tls_cert_file = "{tmp_path}/absent.crt"
        tls_key_file = "{tmp_path}/absent.key"
        """)
    assert lines == [f"config error: FILE: agent.web.tls_cert_file: {tmp_path}/absent.crt: no such file",
                     f"config error: FILE: agent.web.tls_key_file: {tmp_path}/absent.key: no such file"]


def test_deeply_nested_toml_is_a_config_error(tmp_path):
    lines = problems(tmp_path, "x = " + "[" * 5000 + "]" * 5000 + "\n")
    assert len(lines) == 1 and lines[0].startswith("config error: FILE: (toml):") and "nested" in lines[0]


def test_config_check_command_on_deep_nesting(tmp_path):
    path = tmp_path / "l4agent.toml"
    path.write_text("[agent]\nx = " + "[" * 3000 + "]" * 3000 + "\n")
    done = subprocess.run([sys.executable, "-m", "l4agent", "config", "check", "-c", str(path)],
                          capture_output=True, text=True, timeout=60,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("config error:")


# -- fuzz: every value of every key ends in config errors or a config, never a traceback --------

KEYS = [("agent", "interval"), ("agent", "collector_timeout"), ("agent", "diagnostics_interval"),
        ("agent", "listen"), ("agent", "environment"), ("agent", "state_dir"), ("agent.web", "max_threads"),
        ("agent.web", "request_timeout"), ("records", "renote_interval"), ("records", "reopen_window"),
        ("records.sla", "P1"), ("thresholds", "warning"), ("thresholds", "critical"), ("thresholds", "for"),
        ("thresholds", "metric"), ("thresholds", "labels"), ("sinks", "url"), ("sinks", "type"),
        ("databases", "engine"), ("databases", "rpo"), ("databases", "query_timeout"),
        ("probes", "tcp"), ("probes", "timeout"), ("agent.web.basic_auth_users", "prometheus")]

scalars = st.one_of(
    st.text(max_size=40), st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1), st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["99999999d", "1e400s", "0s", "-1s", "1ms", "3650d", "3651d", "15s", "nan",
                     "$2b$12$short", "https://", "http://x:0/", "127.0.0.1:99999", "\x1b]52;c;AAAA\x07"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return '"' + "".join(ch if ch.isprintable() and ch not in '"\\' else f"\\u{ord(ch):04x}"
                             for ch in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_value(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def document(section: str, key: str, value) -> str:
    base = {"thresholds": 'metric = "l4agent_load1"\nwarning = 1\n', "sinks": 'type = "webhook"\nname = "w"\n'
            'url = "https://t.example/x"\n', "databases": 'name = "erp"\nengine = "postgresql"\n'
            'dsn = "Driver=x;Server=h"\n', "probes": 'name = "p"\ntcp = "h:1"\n'}
    lines = [f"{key} = {toml_value(value)}" if line.split(" = ")[0] == key else line
             for line in base.get(section, "").splitlines()]
    if not any(line.startswith(f"{key} = ") for line in lines):
        lines.append(f"{toml_value(key)} = {toml_value(value)}")
    header = f"[[{section}]]" if section in base else f"[{section}]"
    return header + "\n" + "\n".join(lines) + "\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), value=values)
def test_fuzz_config_values_never_traceback(tmp_path, key, value):
    path = tmp_path / "fuzz.toml"
    path.write_text(document(*key, value))
    path.chmod(0o600)
    try:
        load_config(str(path))
    except ConfigError as exc:
        assert exc.lines and all(line.startswith("config error: ") for line in exc.lines)
        assert all(ch.isprintable() for line in exc.lines for ch in line), exc.lines
