"""Issue 15, 2 and 3, on real PostgreSQL and MariaDB: each catalog is read in isolation and a
catalog that cannot be read is never "nothing to report".

- a typo in ``databases`` beside a real catalog: the real one's findings still come out, the
  typo is one error and a ``not_examined`` coverage item naming it, and diagnose exits 3;
- a revoked grant (MariaDB: REFERENCES on the schema; PostgreSQL: CONNECT on the database):
  exit 3, and ``why`` names the grant;
- the clean twin: the same catalog readable gives exit 0 and its tables in ``coverage``.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest

from l4agent.agent.configuration import load_config
from l4agent.diagnostics.runner import run_diagnostics
from tests.diagnostics.schema_support import ENGINES, PASSWORD_ENV, SERVER_FIXTURE, config_text, planted

DDL = ["CREATE TABLE order_rows (order_id int NOT NULL, line_no int NOT NULL)",
       "CREATE TABLE companies (id int NOT NULL PRIMARY KEY, title varchar(80))"]


@pytest.fixture(params=ENGINES)
def erp(request, tmp_path):
    server = request.getfixturevalue(SERVER_FIXTURE[request.param])
    with planted(server, DDL, tmp_path) as planted_db:
        yield planted_db


def write(erp, tmp_path, databases) -> str:
    path = tmp_path / f"iso-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(config_text(erp.server, databases, tmp_path / "state"))
    path.chmod(0o600)
    return str(path)


def diagnose(run_cli, erp, path, *args):
    return run_cli("diagnose", "-c", path, "--check", "schema", *args,
                   env={PASSWORD_ENV[erp.engine]: erp.server.monitor_password})


def flagged(report) -> set[tuple[str, str]]:
    """(check, table) pairs; grouped findings (one per catalog) list their tables in evidence."""
    pairs = set()
    for f in report["findings"]:
        tables = f["evidence"].get("tables")
        if isinstance(tables, list) and tables and isinstance(tables[0], dict):
            pairs |= {(f["check"], t["object"]) for t in tables if isinstance(t, dict)}
        else:
            pairs.add((f["check"], f["object"]))
    return pairs


def coverage_of(report, catalog):
    [entry] = [c for c in report["coverage"] if c["catalog"] == catalog]
    return entry


def test_a_readable_catalog_is_examined_and_exits_0(erp, run_cli, tmp_path):
    done = diagnose(run_cli, erp, write(erp, tmp_path, [erp.database]), "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["errors"] == []
    assert coverage_of(report, erp.database)["examined"]["tables"] == 2
    assert coverage_of(report, erp.database)["not_examined"] == []
    assert ("schema.no_primary_key", erp.obj("order_rows")) in flagged(report)


def test_a_typo_beside_a_real_catalog(erp, run_cli, tmp_path):
    typo = erp.database + "_typo"
    done = diagnose(run_cli, erp, write(erp, tmp_path, [erp.database, typo]), "--format", "json")
    assert done.returncode == 3, done.stdout + done.stderr
    report = json.loads(done.stdout)
    # the readable catalog's findings still come out
    assert ("schema.no_primary_key", erp.obj("order_rows")) in flagged(report)
    assert coverage_of(report, erp.database)["examined"]["tables"] == 2
    # the typo: one error, and every schema check names it as not examined
    [error] = [e for e in report["errors"] if e.get("catalog") == typo]
    assert error["check"] == "schema.*" and typo in error["error"]
    assert "does not exist" in error["error"]
    missing = coverage_of(report, typo)["not_examined"]
    assert {item["what"] for item in missing} >= {"schema.no_primary_key", "schema.wide_table"}
    assert all(typo in item["why"] for item in missing)
    assert erp.server.monitor_password not in done.stdout + done.stderr


def test_a_typo_alone_is_never_nothing_to_report(erp, run_cli, tmp_path):
    typo = "workcube_cf1_" + uuid.uuid4().hex[:6]
    done = diagnose(run_cli, erp, write(erp, tmp_path, [typo]))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "nothing to report" not in done.stdout
    [line] = [line for line in done.stdout.splitlines() if line.startswith("coverage erp:")]
    assert "; not examined: " in line and typo in line and "does not exist" in line
    # one line per fault: one error in the table, no log line or stderr echo repeating it
    assert done.stdout.splitlines()[0].endswith("0 finding(s), 1 error(s) in 0.0s")
    assert done.stderr == ""


def revoke(erp) -> None:
    server, database = erp.server, erp.database
    if erp.engine == "mysql":
        for host in ("127.0.0.1", "localhost"):
            server.execute_admin(f"REVOKE REFERENCES ON `{database}`.* FROM '{server.monitor_user}'@'{host}'")
    else:
        server.execute_admin(f'REVOKE CONNECT ON DATABASE "{database}" FROM PUBLIC, {server.monitor_user}')


def test_a_revoked_grant_is_named(erp, run_cli, tmp_path):
    readable = erp.server.create_database(f"l4t_ok_{uuid.uuid4().hex[:8]}")
    try:
        erp.server.execute_admin(["CREATE TABLE lonely (a int)"], readable)
        if erp.engine == "mysql":
            for host in ("127.0.0.1", "localhost"):
                erp.server.execute_admin(f"GRANT REFERENCES ON `{readable}`.* TO '{erp.server.monitor_user}'@'{host}'")
        revoke(erp)
        path = write(erp, tmp_path, [readable, erp.database])
        done = diagnose(run_cli, erp, path, "--format", "json")
        assert done.returncode == 3, done.stdout + done.stderr
        report = json.loads(done.stdout)
        [why] = {item["why"] for item in coverage_of(report, erp.database)["not_examined"]}
        grant = "GRANT REFERENCES ON" if erp.engine == "mysql" else "GRANT CONNECT ON DATABASE"
        assert grant in why and erp.database in why, why
        # the unreadable catalog hides nothing of the readable one
        readable_obj = ".".join([readable, *(["public"] if erp.engine == "postgresql" else []), "lonely"])
        assert ("schema.no_primary_key", readable_obj) in flagged(report)
    finally:
        erp.server.drop_database(readable)


def test_a_small_catalog_diagnose_is_quick(erp, tmp_path):
    """No sampling sleeps: every check on a small catalog finishes well under a second here."""
    config = load_config(write(erp, tmp_path, [erp.database]))
    os.environ[PASSWORD_ENV[erp.engine]] = erp.server.monitor_password
    run_diagnostics(config)  # warm imports
    started = time.monotonic()
    result = run_diagnostics(config)
    took = time.monotonic() - started
    print(f"\nfull diagnose of a 2-table {erp.engine} catalog: {took:.3f}s, "
          f"{len(result.findings)} findings, {len(result.errors)} errors")
    assert took < 5.0
