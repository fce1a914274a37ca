"""Database diagnostics through an SSH port-forward (agent/remote/forward.py) against the test
PostgreSQL, reached through the real sshd."""

from __future__ import annotations

import json
import re
import textwrap

import psutil
import pytest

from l4agent.agent.remote.forward import ForwardError, database_address, forwarded, forwarded_target
from l4agent.core.config import DatabaseConfig
from l4agent.dbaccess.connection import connect, dsn_value
from tests.agent.remote.conftest import hosts_json, spec_for
from tests.support.sshservers import closed_port


def _target(engine: str, dsn: str) -> DatabaseConfig:
    return DatabaseConfig(name="erp", engine=engine, dsn=dsn, backup_dirs=("/var/backups",), data_dirs=("/data",))


@pytest.mark.parametrize("engine, dsn, address", [
    ("postgresql", "DRIVER={PostgreSQL Unicode};SERVER=10.0.0.5;PORT=6432;DATABASE=erp", ("10.0.0.5", 6432)),
    ("postgresql", "Driver=x;Servername=db1;Database=erp", ("db1", 5432)),
    ("postgresql", "Driver=x;Database=erp", ("localhost", 5432)),
    ("mysql", "DRIVER={MariaDB Unicode};SERVER=127.0.0.1;PORT=3307", ("127.0.0.1", 3307)),
    ("mssql", "DRIVER={ODBC Driver 18 for SQL Server};SERVER=tcp:sql1,1444;Encrypt=yes", ("sql1", 1444)),
    ("mssql", "DRIVER={ODBC Driver 18 for SQL Server};SERVER=sql1\\ERP,1500", ("sql1", 1500)),
    ("mssql", "DRIVER={ODBC Driver 18 for SQL Server};SERVER=(local)", ("localhost", 1433)),
])
def test_database_address(engine, dsn, address):
    assert database_address(_target(engine, dsn)) == address


@pytest.mark.parametrize("engine, dsn, fragment", [
    ("mssql", "SERVER=sql1\\ERP", "named instance sql1\\ERP: give its TCP port"),
    ("mssql", "SERVER=np:\\\\sql1\\pipe\\sql\\query", "named pipes"),
    ("postgresql", "SERVER=db1;PORT=99999", "is not a TCP port"),
])
def test_database_address_refuses(engine, dsn, fragment):
    with pytest.raises(ForwardError, match=re.escape(fragment)):
        database_address(_target(engine, dsn))


def test_forwarded_dsn_per_engine():
    pg = forwarded_target(_target("postgresql", "Driver=x;Servername=db1;Port=5433;Database=erp;UID=l4"), 40001)
    assert (dsn_value(pg.dsn, "Servername"), dsn_value(pg.dsn, "Port"), dsn_value(pg.dsn, "UID")) == \
        ("127.0.0.1", "40001", "l4")
    assert (pg.backup_dirs, pg.data_dirs) == ((), ())  # folders of the remote host, not of this machine
    my = forwarded_target(_target("mysql", "DRIVER={MariaDB Unicode};SERVER=db1;DATABASE=erp"), 40002)
    assert (dsn_value(my.dsn, "SERVER"), dsn_value(my.dsn, "PORT")) == ("127.0.0.1", "40002")
    ms = forwarded_target(_target("mssql", "DRIVER={ODBC Driver 18 for SQL Server};SERVER=sql1.corp,1433;"
                                           "DATABASE=erp;Encrypt=yes"), 40003)
    assert dsn_value(ms.dsn, "SERVER") == "tcp:127.0.0.1,40003"
    assert dsn_value(ms.dsn, "HostNameInCertificate") == "sql1.corp"  # TLS still checks the real name
    trusting = forwarded_target(_target("mssql", "DRIVER={ODBC Driver 18 for SQL Server};SERVER=sql1;"
                                                 "TrustServerCertificate=yes"), 40004)
    assert dsn_value(trusting.dsn, "HostNameInCertificate") is None


def test_forward_carries_the_connection_through_sshd(connector, ssh_server, pg_server, monkeypatch):
    monkeypatch.setenv("L4_TEST_PG_PW", pg_server.monitor_password)
    target = DatabaseConfig(name="pg", engine="postgresql", dsn=pg_server.agent_dsn("postgres"),
                            password_env="L4_TEST_PG_PW")
    session = connector.open(spec_for(ssh_server))
    try:
        with forwarded(session, [target]) as forwards:
            (local,) = forwards.targets
            assert dsn_value(local.dsn, "PORT") != str(pg_server.port)
            db = connect(local)
            try:
                client_port = db.scalar("SELECT inet_client_port()")
                # PostgreSQL's client is a process of the target's sshd: the bytes went through SSH.
                owners = {c.pid for c in psutil.net_connections("tcp")
                          if c.laddr == ("127.0.0.1", client_port) and c.status == psutil.CONN_ESTABLISHED}
                sshd_pids = {p.pid for p in psutil.Process(ssh_server.pid).children(True)}
                assert owners and owners <= sshd_pids
            finally:
                db.close()
    finally:
        session.close()


def test_unreachable_database_is_one_clear_error(connector, ssh_server):
    port = closed_port()
    target = DatabaseConfig(name="gone", engine="postgresql", dsn=f"Driver=x;SERVER=127.0.0.1;PORT={port}")
    session = connector.open(spec_for(ssh_server))
    try:
        with forwarded(session, [target]) as forwards:
            assert forwards.targets == []
            (error,) = forwards.errors
            assert error["target"] == "gone"
            assert error["error"].startswith(f"database 'gone': cannot reach 127.0.0.1:{port} from 127.0.0.1 "
                                             "through SSH: ")
    finally:
        session.close()


def _inventory(tmp_path, ssh_server, pg_server, databases: list[str], port: int | None = None) -> str:
    dsn = pg_server.agent_dsn("postgres")
    if port:
        dsn = dsn.replace(f"PORT={pg_server.port}", f"PORT={port}")
    path = tmp_path / "inventory.toml"
    path.write_text(textwrap.dedent(f"""
        [[hosts]]
        name = "pg-host"
        host = "{ssh_server.address}"

        [[hosts.databases]]
        name = "erp"
        engine = "postgresql"
        dsn = {json.dumps(dsn)}
        password_env = "L4_TEST_PG_PW"
        databases = {json.dumps(databases)}
        """))
    return str(path)


def test_remote_diagnose_through_the_forward(tmp_path, remote_cli, write_config, ssh_server, pg_server,
                                              rogue_and_tame_roles):
    rogue, tame = rogue_and_tame_roles
    # The local config's check options apply to agentless hosts.
    config = write_config("""
        [diagnostics.security.superusers]
        allowed_superusers = ["postgres"]
        """)
    proc = remote_cli("diagnose", "-c", config, "--inventory", _inventory(tmp_path, ssh_server, pg_server, []),
                      "--check", "security.superusers", "--format", "json",
                      env={"L4_TEST_PG_PW": pg_server.monitor_password})
    (host,) = hosts_json(proc)
    assert proc.returncode == 0, proc.stderr
    assert (host["host"], host["mode"], host["ok"], host["error"]) == ("pg-host", "agentless", True, None)
    result = host["result"]
    assert result["errors"] == []
    assert {"target": "erp", "catalog": None, "examined": {"checks": 1}, "not_examined": []} in result["coverage"]
    flagged = {(f["check"], f["target"], f["object"]) for f in result["findings"]}
    assert flagged == {("security.superusers", "erp", rogue)}  # not the tame twin, not postgres
    assert tame not in proc.stdout
    assert pg_server.monitor_password not in proc.stdout + proc.stderr


def test_remote_diagnose_names_the_real_database_address(tmp_path, remote_cli, ssh_server, pg_server):
    port = closed_port()
    proc = remote_cli("diagnose", "--inventory", _inventory(tmp_path, ssh_server, pg_server, ["postgres"], port),
                      "--format", "json", env={"L4_TEST_PG_PW": pg_server.monitor_password})
    (host,) = hosts_json(proc)
    assert host["ok"] and host["mode"] == "agentless"
    (error,) = host["result"]["errors"]
    assert error["target"] == "erp" and error["check"] is None
    assert f"cannot reach 127.0.0.1:{port} from 127.0.0.1 through SSH" in error["error"]


def test_remote_collect_reads_databases_through_the_forward(tmp_path, remote_cli, ssh_server, pg_server):
    gone = closed_port()
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(textwrap.dedent(f"""
        [[hosts]]
        name = "pg-host"
        host = "{ssh_server.address}"
        [[hosts.databases]]
        name = "erp"
        engine = "postgresql"
        dsn = {json.dumps(pg_server.agent_dsn("postgres"))}
        password_env = "L4_TEST_PG_PW"
        [[hosts.databases]]
        name = "gone"
        engine = "postgresql"
        dsn = "DRIVER={{PostgreSQL Unicode}};SERVER=127.0.0.1;PORT={gone};UID=l4monitor"
        """))
    proc = remote_cli("collect", "--inventory", str(inventory), "--format", "json",
                      env={"L4_TEST_PG_PW": pg_server.monitor_password})
    (host,) = hosts_json(proc)
    assert host["ok"] and host["mode"] == "agentless"
    up = {s["labels"]["database"]: s["value"] for s in host["result"]["samples"] if s["name"] == "l4agent_database_up"}
    assert up == {"erp": 1.0, "gone": 0.0}  # as the local database collector reports them
    assert [(e["collector"], e["target"]) for e in host["result"]["errors"]] == [("database", "gone")]
    assert f"cannot reach 127.0.0.1:{gone} from 127.0.0.1 through SSH" in host["result"]["errors"][0]["error"]
    assert proc.returncode == 3  # like `l4agent collect` with a target it could not read
