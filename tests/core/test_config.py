"""Config: every rejection is one exact line, all problems at once, exit 2; no file = defaults."""

from __future__ import annotations

import grp
from pathlib import Path

import pytest

from l4agent.agent.configuration import load_config, parse_config
from l4agent.core import config as config_module
from l4agent.core.config import DEFAULT_LISTEN, ConfigError, parse_listen
from l4agent.core.durations import DurationError, format_duration, parse_duration

REPO = Path(__file__).resolve().parents[2]


def problems(text: str, write_config) -> list[str]:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [line.replace(path, "FILE") for line in info.value.lines]


@pytest.mark.parametrize("text, seconds", [("500ms", 0.5), ("15s", 15), ("5m", 300), ("2h", 7200), ("7d", 604800),
                                           ("1.5h", 5400)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["15", "15 sec", "-5s", "", "s", 15])
def test_bad_durations(bad):
    with pytest.raises(DurationError):
        parse_duration(bad)


def test_format_duration():
    assert [format_duration(s) for s in (0.25, 42, 185, 7800, 4 * 86400 + 3 * 3600)] == ["250ms", "42s", "3m 5s",
                                                                                        "2h 10m", "4d 3h"]


def test_no_file_at_default_path_means_defaults(monkeypatch, tmp_path):
    monkeypatch.setattr("l4agent.core.config.DEFAULT_CONFIG_PATH", str(tmp_path / "absent.toml"))
    config = load_config(None)
    assert config.path is None
    assert config.agent.listen == DEFAULT_LISTEN
    assert config.databases == ()


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path / "nope.toml"))
    assert info.value.lines == [f"config error: {tmp_path / 'nope.toml'}: (file): no such file"]


def test_full_contract_example_loads(write_config, tmp_path):
    pw = tmp_path / "erp.pw"
    pw.write_text("secret\n")
    pw.chmod(0o600)
    config = load_config(write_config(f"""
        [agent]
        listen = "127.0.0.1:9847"
        interval = "15s"
        diagnostics_interval = "1h"
        state_dir = "{tmp_path}"
        environment = "production"

        [[databases]]
        name = "erp"
        engine = "mssql"
        dsn = "DRIVER={{ODBC Driver 18 for SQL Server}};SERVER=db1;DATABASE=workcube_cf;UID=l4;Encrypt=yes"
        password_file = "{pw}"
        databases = ["workcube_cf", "workcube_cf_1"]
        backup_dirs = ["/var/backups/erp"]
        rpo = "24h"
        query_timeout = "10s"

        [[appservers]]
        name = "lucee"
        url = "http://127.0.0.1:8888/index.cfm"
        process = "java"

        [[probes]]
        name = "db-port"
        tcp = "db1:1433"
        timeout = "2s"

        [[thresholds]]
        name = "root-disk"
        metric = "l4agent_filesystem_used_ratio"
        labels = {{ mountpoint = "/" }}
        direction = "above"
        warning = 0.80
        critical = 0.90
        for = "5m"
        priority = "P2"

        [records]
        renote_interval = "1h"
        reopen_window = "24h"

        [[sinks]]
        type = "webhook"
        url = "https://tickets.example/api/work"
    """))
    assert config.agent.interval == 15 and config.agent.diagnostics_interval == 3600
    erp = config.databases[0]
    assert (erp.name, erp.engine, erp.rpo, erp.databases) == ("erp", "mssql", 86400, ("workcube_cf", "workcube_cf_1"))
    assert erp.password() == "secret"
    assert config.probes[0].tcp_host == "db1" and config.probes[0].tcp_port == 1433
    rule = config.thresholds[0]
    assert (rule.name, rule.labels, rule.warning, rule.critical, rule.for_seconds) == ("root-disk", {"mountpoint": "/"},
                                                                                      0.8, 0.9, 300)
    assert config.records.renote_interval == 3600
    assert config.sinks[0].type == "webhook"


def test_every_problem_at_once_with_exact_lines(write_config):
    lines = problems("""
        [agent]
        listen = "localhost"
        interval = "15 sec"
        environment = "prod"
        colour = "blue"

        [[databases]]
        name = "erp"
        engine = "oracle"
        dsn = "DRIVER={x};SERVER=db1;UID=l4;PWD=hunter2"
        query_timeout = 10

        [[databases]]
        name = "erp"
        engine = "postgresql"
        dsn = "DRIVER={PostgreSQL Unicode};SERVER=db2"

        [[probes]]
        name = "p"
    """, write_config)
    assert lines == [
        "config error: FILE: agent.listen: 'localhost' is not host:port (e.g. \"127.0.0.1:9847\" or \"[::1]:9847\")",
        'config error: FILE: agent.interval: invalid duration \'15 sec\': use a number and one of ms, s, m, h, d, w (e.g. "15s")',
        "config error: FILE: agent.environment: 'prod' is not one of production, qa, beta, development",
        "config error: FILE: agent.colour: unknown key",
        "config error: FILE: databases[0].engine: 'oracle' is not one of mssql, postgresql, mysql",
        "config error: FILE: databases[0].dsn: contains a password; put it in password_env or password_file instead",
        "config error: FILE: databases[0].query_timeout: expected a string, got an integer",
        'config error: FILE: probes[0]: give exactly one of tcp = "host:port" or dns = "name"',
        "config error: FILE: databases[1].name: duplicate name 'erp' (also databases[0])",
    ]
    # the password itself is never echoed back
    assert not any("hunter2" in line for line in lines)


def test_wrong_types_and_unknown_sections(write_config):
    lines = problems("""
        [agent]
        listen = 9847
        [agent.web]
        max_threads = "eight"
        [[probes]]
        name = "dns"
        dns = "localhost"
        timeout = true
        [surprise]
        x = 1
    """, write_config)
    assert lines == [
        "config error: FILE: agent.listen: expected a string, got an integer",
        "config error: FILE: agent.web.max_threads: expected an integer, got a string",
        "config error: FILE: probes[0].timeout: expected a string, got a boolean",
        "config error: FILE: surprise: unknown key",
    ]


def test_toml_syntax_error(write_config):
    lines = problems("[agent\nlisten = 1\n", write_config)
    assert len(lines) == 1 and lines[0].startswith("config error: FILE: (toml): ")


def test_password_file_must_be_private(write_config, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("x")
    pw.chmod(0o644)
    lines = problems(f"""
        [[databases]]
        name = "erp"
        engine = "postgresql"
        dsn = "DRIVER={{PostgreSQL Unicode}};SERVER=db"
        password_file = "{pw}"
    """, write_config)
    group = grp.getgrgid(pw.stat().st_gid).gr_name
    assert lines == [f"config error: FILE: databases[0].password_file: {pw} has mode 0644, group {group}; "
                     "it must be 0600, or 0640 with group l4agent"]


SECRET_FILES = """
    [[databases]]
    name = "erp"
    engine = "postgresql"
    dsn = "DRIVER={{PostgreSQL Unicode}};SERVER=db"
    password_file = "{pw}"
    [[appservers]]
    name = "tc"
    tomcat_status_url = "http://127.0.0.1:1/manager/status?XML=true"
    status_user = "l4status"
    status_password_file = "{pw}"
"""


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_owner_only_secret_files_are_accepted(write_config, tmp_path, mode):
    pw = tmp_path / "pw"
    pw.write_text("x")
    pw.chmod(mode)
    load_config(write_config(SECRET_FILES.format(pw=pw)))  # no ConfigError


@pytest.mark.parametrize("mode", [0o640, 0o440])
def test_group_readable_secret_files_are_accepted_for_the_service_group_only(write_config, tmp_path, monkeypatch,
                                                                            mode):
    """The one rule (issue 21): 0600, or 0640 with group l4agent, as the unit file and the example
    config say. The file's group here is the test's own group, made the service group by name."""
    pw = tmp_path / "pw"
    pw.write_text("x")
    pw.chmod(mode)
    own_group = grp.getgrgid(pw.stat().st_gid).gr_name
    assert own_group != "l4agent"
    refused = problems(SECRET_FILES.format(pw=pw), write_config)
    assert refused == [
        f"config error: FILE: {key}: {pw} has mode {mode:04o}, group {own_group}; it must be 0600, or 0640 with group l4agent"
        for key in ("databases[0].password_file", "appservers[0].status_password_file")]
    monkeypatch.setattr(config_module, "SECRET_FILE_GROUP", own_group)
    load_config(write_config(SECRET_FILES.format(pw=pw)))  # no ConfigError


@pytest.mark.parametrize("mode", [0o660, 0o650, 0o604, 0o641, 0o700 | 0o040 | 0o002])
def test_group_writable_or_other_readable_secret_files_are_refused_even_for_the_service_group(
        write_config, tmp_path, monkeypatch, mode):
    pw = tmp_path / "pw"
    pw.write_text("x")
    pw.chmod(mode)
    monkeypatch.setattr(config_module, "SECRET_FILE_GROUP", grp.getgrgid(pw.stat().st_gid).gr_name)
    [line, _] = problems(SECRET_FILES.format(pw=pw), write_config)
    assert line.startswith(f"config error: FILE: databases[0].password_file: {pw} has mode {mode:04o}")
    assert line.endswith("it must be 0600, or 0640 with group l4agent")


def test_unit_file_and_example_config_state_the_same_rule():
    from l4agent.core.config import SECRET_FILE_RULE

    assert SECRET_FILE_RULE == "0600, or 0640 with group l4agent"
    unit = (REPO / "systemd" / "l4agent.service").read_text()
    example = (REPO / "deploy" / "l4agent.example.toml").read_text()
    assert "mode 0600, or 0640 with group l4agent" in " ".join(unit.replace("#", " ").split())
    assert "mode 0600, or 0640 with group l4agent" in " ".join(example.replace("#", " ").split())


def test_password_keyword_variants_are_refused():
    for dsn in ("SERVER=a;Password=x", "server=a; pwd = {x;y}", "PWD=x;SERVER=a"):
        with pytest.raises(ConfigError) as info:
            parse_config({"databases": [{"name": "a", "engine": "mysql", "dsn": dsn}]}, "F")
        assert "contains a password" in info.value.lines[0]


@pytest.mark.parametrize("text, expected", [("127.0.0.1:9847", ("127.0.0.1", 9847)), ("[::1]:80", ("::1", 80)),
                                            (":9847", ("0.0.0.0", 9847))])
def test_listen_addresses(text, expected):
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "[::1:80", "a:b"])
def test_bad_listen_addresses(text):
    with pytest.raises(ValueError):
        parse_listen(text)


def test_config_check_command(run_cli, write_config):
    good = write_config('[agent]\nlisten = "127.0.0.1:9999"\n')
    result = run_cli("config", "check", "-c", good)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"config ok: {good}")
    bad = write_config('[agent]\ninterval = "soon"\nbogus = 1\n')
    result = run_cli("config", "check", "-c", bad)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f'config error: {bad}: agent.interval: invalid duration \'soon\': use a number and one of ms, s, m, h, d, w (e.g. "15s")',
        f"config error: {bad}: agent.bogus: unknown key",
    ]


def test_world_readable_config_with_secrets_is_refused(write_config):
    text = '[agent.web.basic_auth_users]\nprometheus = "$2b$12$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"\n'
    private = write_config(text, mode=0o640)
    assert load_config(private).agent.web.basic_auth_users
    public = write_config(text, mode=0o644)
    with pytest.raises(ConfigError) as info:
        load_config(public)
    assert info.value.lines == [f"config error: {public}: (file): is readable by others (mode 0644) and holds "
                                "agent.web.basic_auth_users; chmod 0640 (owner root, group l4agent) or move the secret out"]
    token_url = write_config('[[sinks]]\ntype = "webhook"\nurl = "https://bob:hunter2@tickets.example/api"\n', mode=0o644)
    with pytest.raises(ConfigError) as info:
        load_config(token_url)
    assert "holds a password or token" in info.value.lines[0] and "hunter2" not in info.value.lines[0]
    plain = write_config('[agent]\ninterval = "15s"\n', mode=0o644)
    assert load_config(plain).agent.interval == 15


def test_check_options_are_validated(write_config):
    lines = problems("""
        [diagnostics.schema.wide_table]
        min_columns = "many"
        colour = 1
        [diagnostics.perf.unused_index]
        min_stats_age = "a week"
        [diagnostics.nosuch]
        x = 1
    """, write_config)
    assert lines == [
        "config error: FILE: diagnostics.schema.wide_table.min_columns: expected a value like 35",
        "config error: FILE: diagnostics.schema.wide_table.colour: unknown option (known: min_columns, warning_columns)",
        "config error: FILE: diagnostics.perf.unused_index.min_stats_age: invalid duration 'a week': write it like '7d'",
        "config error: FILE: diagnostics.nosuch: no check or check family named 'nosuch'",
    ]
