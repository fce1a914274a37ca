"""`config check` warns about risky but valid settings (exit 0; --strict: exit 2), and `serve`
logs the same warnings once at start."""

from __future__ import annotations

import os

from l4agent.agent.config_warnings import config_warnings
from l4agent.agent.configuration import parse_config

RISKY = """
[agent]
listen = "0.0.0.0:{port}"
[[databases]]
name = "erp"
engine = "postgresql"
dsn = "DRIVER={{PostgreSQL Unicode Nonexistent}};SERVER=127.0.0.1;DATABASE=erp;UID=l4"
password_env = "L4T_SURELY_UNSET_PASSWORD"
[[sinks]]
type = "webhook"
name = "tickets"
url = "http://tickets.example/api/work"
token_env = "L4T_SURELY_UNSET_TOKEN"
"""


def test_each_risky_setting_is_one_warning_line_and_exit_0(run_cli, write_config):
    path = write_config(RISKY.format(port=9847))
    proc = run_cli("config", "check", "-c", str(path))
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("config warning:")]
    keys = [line.split(": ")[2] for line in lines]
    assert keys == ["agent.listen", "sinks[0].url", "sinks[0].token_env", "databases[0].password_env",
                    "databases[0].dsn"], proc.stderr
    assert "neither TLS nor basic auth" in lines[0] and "plain http" in lines[1]
    assert "'PostgreSQL Unicode Nonexistent' is not known to unixODBC" in lines[4]
    assert "config ok" in proc.stdout

    strict = run_cli("config", "check", "--strict", "-c", str(path))
    assert strict.returncode == 2 and strict.stderr == proc.stderr


def test_a_careful_config_has_no_warning(run_cli, write_config):
    path = write_config("""
        [agent]
        listen = "127.0.0.1:9847"
        [[databases]]
        name = "erp"
        engine = "postgresql"
        dsn = "DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;DATABASE=erp;UID=l4"
        password_env = "L4T_SET_PASSWORD"
        """)
    proc = run_cli("config", "check", "--strict", "-c", str(path), env={"L4T_SET_PASSWORD": "x"})
    assert proc.returncode == 0 and "config warning" not in proc.stderr, proc.stderr


def test_basic_auth_or_tls_makes_a_public_listen_fine():
    data = {"agent": {"listen": "0.0.0.0:9847",
                      "web": {"basic_auth_users": {"prometheus": "$2b$12$" + "a" * 53}}}}
    assert config_warnings(parse_config(data, "<test>"), installed_drivers=[]) == []


def test_serve_logs_the_warnings_once_at_start(tmp_path, write_config):
    from tests.e2e.serve_process import ServeProcess

    path = write_config(f"""
        [agent]
        state_dir = "{tmp_path}/state"
        [[sinks]]
        type = "webhook"
        name = "tickets"
        url = "http://127.0.0.1:9/hook"
        token_env = "L4T_SURELY_UNSET_TOKEN"
        """)
    assert "L4T_SURELY_UNSET_TOKEN" not in os.environ
    serve = ServeProcess(path, str(tmp_path / "serve.log"))
    try:
        serve.wait_healthy()
    finally:
        assert serve.stop() == 0
    log = serve.log()
    assert log.count("config warning:") == 2, log
    assert log.count("sinks[0].url: sink 'tickets' sends its bearer token over plain http") == 1
