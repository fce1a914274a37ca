"""A planted database password never appears in anything the agent prints, logs, serves or
stores: ``collect``, ``diagnose``, ``serve`` (its /metrics, status page, /records and its log
at debug level), ``records list|show``, ``report``, the state files, the process's command line.

Two targets log in with planted passwords full of ODBC-special characters (``;``, ``}``,
``=``): one login works, the other is refused — so error paths (login failed, a record opened
for the outage) are covered as well as the happy path. The passwords are registered with the
leak check too, which fails the run if they turn up in any captured test output.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import time
import uuid

import pytest

from tests.e2e.serve_process import ServeProcess, http_get
from tests.reliability.serving import metric, read_records, scrape, wait_for
from tests.support.dbservers import _mysql_native_hash, _scram_sha256_verifier
from tests.support.leakcheck import register_test_secret

pytestmark = pytest.mark.slow


def planted_password() -> str:
    """A random password with the characters that break naive DSN building and redaction."""
    return register_test_secret(f"Pl4nted;pw}}={{x{secrets.token_urlsafe(12)}}}")


class Targets(dict):
    """The planted logins; its repr hides the passwords (pytest prints fixture values on failure)."""

    def __repr__(self) -> str:
        return f"<planted logins for role {self['role']}>"


@pytest.fixture
def targets(pg_server, mariadb_server):
    """A PostgreSQL login that works with a planted password, and a MariaDB login refused with one."""
    good, wrong, role = planted_password(), planted_password(), f"l4secret_{uuid.uuid4().hex[:8]}"
    pg_server.execute_admin([f"CREATE ROLE {role} LOGIN PASSWORD '{_scram_sha256_verifier(good)}'",
                             f"GRANT pg_monitor TO {role}", f"GRANT CONNECT ON DATABASE postgres TO {role}"])
    real = planted_password()  # the MariaDB account's real password: the agent is given `wrong`
    for host in ("127.0.0.1", "localhost"):
        mariadb_server.execute_admin(f"CREATE USER '{role}'@'{host}' IDENTIFIED BY PASSWORD '{_mysql_native_hash(real)}'")
    yield Targets(role=role, good=good, wrong=wrong,
                  pg_dsn=pg_server.agent_dsn("postgres").replace(f"UID={pg_server.monitor_user}", f"UID={role}"),
                  maria_dsn=mariadb_server.agent_dsn().replace(f"UID={mariadb_server.monitor_user}", f"UID={role}"))
    pg_server.execute_admin([f"DROP OWNED BY {role}", f"DROP ROLE {role}"])
    for host in ("127.0.0.1", "localhost"):
        mariadb_server.execute_admin(f"DROP USER '{role}'@'{host}'")


def test_planted_passwords_appear_nowhere(targets, write_config, tmp_path, run_cli):
    state = tmp_path / "state"
    config = write_config(f"""
        [agent]
        interval = "1s"
        state_dir = "{state}"

        [[databases]]
        name = "works"
        engine = "postgresql"
        dsn = "{targets['pg_dsn']}"
        password_env = "L4T_SECRET_WORKS"
        query_timeout = "5s"

        [[databases]]
        name = "refused"
        engine = "mysql"
        dsn = "{targets['maria_dsn']}"
        password_env = "L4T_SECRET_REFUSED"
        login_timeout = "3s"

        [diagnostics.capacity]
        enabled = false  # its two seconds of disk sampling say nothing about secrets

        [[thresholds]]
        name = "database-down"  # the built-in rule, without its 2 minutes' patience
        for = "0s"
        """)
    env = Targets(L4T_SECRET_WORKS=targets["good"], L4T_SECRET_REFUSED=targets["wrong"], role=targets["role"])
    seen: dict[str, str] = {}  # where -> text

    def run(*args: str) -> str:
        done = run_cli(*args, "-c", config, env=env, timeout=180)
        seen[" ".join(args)] = done.stdout + done.stderr
        assert done.returncode in (0, 3), (args, done.returncode)
        return done.stdout

    collected = json.loads(run("collect", "--format", "json", "-vv"))
    for fmt in ("table", "prom"):
        run("collect", "--format", fmt, "-vv")
    up = {s["labels"]["database"]: s["value"] for s in collected["samples"] if s["name"] == "l4agent_database_up"}
    assert up == {"works": 1.0, "refused": 0.0}  # the planted password logs in; the wrong one does not
    refused = next(e["error"] for e in collected["errors"] if e["target"] == "refused")
    assert "login failed for user" in refused, refused
    run("diagnose", "--format", "json", "--log-level", "debug")
    run("diagnose", "--format", "markdown", "-v")

    serve = ServeProcess(config, str(tmp_path / "serve.log"), env={**env, "L4_LOG": "debug"})
    try:
        serve.wait_healthy()
        with open(f"/proc/{serve.process.pid}/cmdline", "rb") as handle:
            seen["serve command line"] = handle.read().decode(errors="replace")
        wait_for("the record for the refused login", lambda: read_records(str(state / "records.sqlite")),
                 serve=serve)
        for path in ("/metrics", "/", "/records", "/findings.json", "/healthz"):
            status, body = http_get(serve.url + path)
            seen[f"GET {path}"] = body
            assert status in (200, 404), (path, status)
        assert metric(scrape(serve), "l4agent_database_up", database="works", engine="postgresql") == 1
        time.sleep(1.5)
    finally:
        serve.stop()
    seen["serve log"] = open(serve.log_path, encoding="utf-8", errors="replace").read()
    assert "login failed for user" in seen["serve log"]

    run("records", "list", "--format", "json")
    record_id = str(read_records(str(state / "records.sqlite"))[0]["id"])
    run("records", "show", record_id, "-vv")
    for fmt in ("html", "json"):
        run("report", "--format", fmt, "-vv")

    # Files the agent (and the ODBC drivers it loads) wrote: the state dir, driver trace logs.
    for path in [*glob.glob(str(state / "*")), *glob.glob("/tmp/psqlodbc*.log"), *glob.glob("/tmp/mylog_*.log")]:
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                seen[path] = handle.read().decode("latin-1")

    for secret in (targets["good"], targets["wrong"]):
        for where, text in seen.items():
            assert secret not in text, f"a planted password appears in {where}"
            # nor its DSN-escaped form (a '}' doubled inside PWD={...})
            assert secret.replace("}", "}}") not in text, f"a planted password appears in {where}"
    assert any("***" in text or "login failed" in text for text in seen.values())
