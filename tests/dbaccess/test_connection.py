"""The connection layer against the real servers: sessions, timeouts and every fault's one line.

The agent logs in as the fixture's least-privilege monitor user. Each fault names the target and
the cause in one line, and the password appears in none of them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import time

import pytest

from l4agent.dbaccess.connection import Connection, DatabaseError, connect
from tests.collectors.database.targets import closed_port, silent_port, target

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["pg", "mariadb"])
def server(request):
    return request.getfixturevalue("pg_server" if request.param == "pg" else "mariadb_server")


def failure(db_target, password: str | None = None) -> DatabaseError:
    with pytest.raises(DatabaseError) as caught:
        connect(db_target).close()
    if password:
        assert password not in str(caught.value)
    return caught.value


def with_port(server, port: int, **overrides):
    return target(server, dsn=server.agent_dsn().replace(f"PORT={server.port}", f"PORT={port}"), **overrides)


# -- a healthy session ---------------------------------------------------------------------------


def test_pg_session_is_read_only_with_timeouts(pg_server):
    db = connect(target(pg_server, query_timeout=7.0))
    try:
        row = db.query("SELECT current_user AS who, current_setting('statement_timeout') AS statement_timeout, "
                       "current_setting('lock_timeout') AS lock_timeout, "
                       "current_setting('transaction_read_only') AS read_only, "
                       "current_setting('application_name') AS application")[0]
        assert row == {"who": "l4monitor", "statement_timeout": "7s", "lock_timeout": "5s", "read_only": "on",
                       "application": "l4agent"}
        with pytest.raises(DatabaseError, match="read-only transaction") as caught:
            db.query("CREATE TEMP TABLE l4_probe (id int)")  # PUBLIC may create temp tables; read-only may not
        assert caught.value.kind == "query"
    finally:
        db.close()


def test_mariadb_session_is_read_only_with_timeouts(mariadb_server):
    db = connect(target(mariadb_server, query_timeout=7.0))
    try:
        row = db.query("SELECT CURRENT_USER() AS who, @@SESSION.max_statement_time AS statement_timeout, "
                       "@@SESSION.innodb_lock_wait_timeout AS lock_timeout, "
                       "@@SESSION.tx_read_only AS read_only")[0]
        assert row == {"who": "l4monitor@127.0.0.1", "statement_timeout": 7.0, "lock_timeout": 5, "read_only": 1}
    finally:
        db.close()


def test_pg_catalog_is_reached_by_its_own_connection(pg_server, pg_db):
    db = connect(target(pg_server))
    try:
        assert db.scalar("SELECT current_database()") == "postgres"
        assert db.scalar("SELECT current_database()", catalog=pg_db) == pg_db
        assert db.scalar("SELECT current_database()") == "postgres"
    finally:
        db.close()


def test_mariadb_catalog_is_reached_by_use(mariadb_server):
    db = connect(target(mariadb_server))
    try:
        assert db.scalar("SELECT DATABASE()") is None
        assert db.scalar("SELECT DATABASE()", catalog="performance_schema") == "performance_schema"
    finally:
        db.close()


def test_pg_driver_writes_no_communication_log(pg_server):
    # Debian's odbcinst.ini sets CommLog=1: without CommLog=0 every agent process would leave a
    # world-readable /tmp/psqlodbc_<program>_<user><pid>.log behind.
    before = set(glob.glob(f"/tmp/psqlodbc_*{os.getpid()}.log"))
    connect(target(pg_server)).close()
    assert set(glob.glob(f"/tmp/psqlodbc_*{os.getpid()}.log")) == before


# -- timeouts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("engine_fixture", "sleep_sql"), [("pg_server", "SELECT pg_sleep(4)"),
                                                          ("mariadb_server", "SELECT SLEEP(4)")])
def test_query_timeout_cancels_the_query_and_the_connection_recovers(request, engine_fixture, sleep_sql):
    server = request.getfixturevalue(engine_fixture)
    name = "pg" if server.engine == "postgresql" else "mariadb"
    db = connect(target(server, query_timeout=1.0))
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseError) as caught:
            db.query(sleep_sql)
        assert time.monotonic() - started < 3.0
        assert caught.value.kind == "timeout"
        assert str(caught.value) == f"database {name!r}: query timed out after 1s"
        assert db.scalar("SELECT 1") == 1  # reconnected transparently
    finally:
        db.close()


def test_pg_lock_wait_gives_up_after_the_lock_timeout(pg_server, pg_db):
    # Test-only grant: the monitor may read this one table, so that it can wait on its lock.
    pg_server.execute_admin(["CREATE TABLE held (id int)", "GRANT SELECT ON held TO l4monitor"], pg_db)
    with contextlib.closing(pg_server.admin_connect(pg_db, autocommit=False)) as admin:
        admin.cursor().execute("LOCK TABLE held IN ACCESS EXCLUSIVE MODE")
        db = Connection(target(pg_server, database=pg_db, query_timeout=5.0), lock_timeout=1.0)
        try:
            started = time.monotonic()
            with pytest.raises(DatabaseError) as caught:
                db.query("SELECT count(*) FROM held")
            assert time.monotonic() - started < 3.0
            assert (caught.value.kind, str(caught.value)) == ("timeout",
                                                              "database 'pg': query gave up waiting for a lock after 1s")
        finally:
            db.close()
        admin.rollback()


# -- faults at login -----------------------------------------------------------------------------


def test_wrong_password(server, monkeypatch):
    db_target = target(server)
    monkeypatch.setenv(db_target.password_env, "not-the-password-" + server.monitor_password[:6])
    error = failure(db_target, server.monitor_password)
    assert (error.kind, str(error)) == ("login_failed",
                                        f"database {db_target.name!r}: login failed for user 'l4monitor' "
                                        "(wrong password or no access)")
    assert "not-the-password" not in str(error)


def test_password_variable_not_set(server, monkeypatch):
    db_target = target(server, password_env="L4_TEST_NOT_SET")
    monkeypatch.delenv("L4_TEST_NOT_SET", raising=False)
    error = failure(db_target)
    assert (error.kind, str(error)) == ("login_failed", f"database {db_target.name!r}: environment variable "
                                                        "L4_TEST_NOT_SET is not set")


def test_password_file(server, tmp_path):
    secret = tmp_path / "monitor.pw"
    secret.write_text(server.monitor_password + "\n")
    secret.chmod(0o600)
    db = connect(target(server, password_env=None, password_file=str(secret)))
    try:
        assert db.scalar("SELECT 1") == 1
    finally:
        db.close()
    secret.unlink()
    error = failure(target(server, password_env=None, password_file=str(secret)))
    assert str(error) == (f"database {'pg' if server.engine == 'postgresql' else 'mariadb'!r}: cannot read "
                          f"password_file {secret}: No such file or directory")


def test_stopped_server_is_connection_refused(server):
    port = closed_port()
    error = failure(with_port(server, port), server.monitor_password)
    name = "pg" if server.engine == "postgresql" else "mariadb"
    assert (error.kind, str(error)) == ("unreachable",
                                        f"database {name!r}: cannot reach 127.0.0.1:{port}: connection refused")


def test_server_that_never_answers_times_out(server):
    with silent_port() as port:
        started = time.monotonic()
        error = failure(with_port(server, port, login_timeout=2.0, query_timeout=1.0), server.monitor_password)
        took = time.monotonic() - started
    name = "pg" if server.engine == "postgresql" else "mariadb"
    assert (error.kind, str(error)) == ("unreachable",
                                        f"database {name!r}: cannot reach 127.0.0.1:{port}: no answer (login timed out)")
    assert took < 4.0


def test_unknown_host(server):
    dsn = server.agent_dsn().replace("SERVER=127.0.0.1", "SERVER=l4agent-no-such-host.invalid")
    error = failure(target(server, dsn=dsn), server.monitor_password)
    name = "pg" if server.engine == "postgresql" else "mariadb"
    assert (error.kind, str(error)) == ("unreachable", f"database {name!r}: cannot reach "
                                                       f"l4agent-no-such-host.invalid:{server.port}: unknown host")


@pytest.mark.parametrize(("engine_fixture", "package"), [("pg_server", "odbc-postgresql"),
                                                        ("mariadb_server", "odbc-mariadb")])
def test_unknown_driver_names_the_debian_package(request, engine_fixture, package):
    server = request.getfixturevalue(engine_fixture)
    driver = f"{server.driver} 99"
    error = failure(target(server, dsn=server.agent_dsn().replace(server.driver, driver)), server.monitor_password)
    name = "pg" if server.engine == "postgresql" else "mariadb"
    assert (error.kind, str(error)) == ("driver_missing",
                                        f"database {name!r}: ODBC driver {driver!r} is not installed; install the "
                                        f"Debian package {package} (odbcinst -q -d lists the installed drivers)")


def test_missing_catalog(server):
    error = failure(target(server, database="l4_no_such_catalog"), server.monitor_password)
    name = "pg" if server.engine == "postgresql" else "mariadb"
    assert (error.kind, str(error)) == ("unreachable", f"database {name!r}: catalog 'l4_no_such_catalog' does not "
                                                       "exist or user 'l4monitor' may not open it")


# -- faults while querying -----------------------------------------------------------------------


def test_pg_permission_denied(pg_server):
    db = connect(target(pg_server))
    try:
        with pytest.raises(DatabaseError) as caught:
            db.query("SELECT rolpassword FROM pg_authid")
        assert (caught.value.kind, str(caught.value)) == ("permission", "database 'pg': permission denied: "
                                                                        "permission denied for table pg_authid")
        assert db.scalar("SELECT 1") == 1  # one failed statement leaves the connection usable
    finally:
        db.close()


def test_mariadb_missing_privilege_is_not_a_login_failure(mariadb_server):
    # The fixture's monitor holds SLAVE MONITOR (docs/signals.md); taken away for this test.
    accounts = [f"'{mariadb_server.monitor_user}'@'{h}'" for h in ("127.0.0.1", "localhost")]
    mariadb_server.execute_admin([f"REVOKE SLAVE MONITOR ON *.* FROM {a}" for a in accounts])
    db = connect(target(mariadb_server))
    try:
        with pytest.raises(DatabaseError) as caught:
            db.query("SHOW ALL SLAVES STATUS")
        assert caught.value.kind == "permission"
        assert str(caught.value) == ("database 'mariadb': permission denied: Access denied; you need (at least one "
                                     "of) the SUPER, SLAVE MONITOR privilege(s) for this operation")
    finally:
        db.close()
        mariadb_server.execute_admin([f"GRANT SLAVE MONITOR ON *.* TO {a}" for a in accounts])


def test_session_killed_mid_use_reconnects_on_next_query(pg_server):
    db = connect(target(pg_server))
    try:
        pid = db.scalar("SELECT pg_backend_pid()")
        pg_server.execute_admin("SELECT pg_terminate_backend(?)", params=[pid])
        with pytest.raises(DatabaseError) as caught:
            db.query("SELECT 1")
        assert (caught.value.kind, str(caught.value)) == (
            "unreachable", f"database 'pg': connection to 127.0.0.1:{pg_server.port} lost (server stopped or "
                           "restarted, or the session was killed)")
        assert db.scalar("SELECT pg_backend_pid()") != pid
    finally:
        db.close()


def test_closed_connection_refuses_queries(pg_server):
    db = connect(target(pg_server))
    db.close()
    with pytest.raises(DatabaseError) as caught:
        db.query("SELECT 1")
    assert (caught.value.kind, str(caught.value)) == ("closed", "database 'pg': connection closed")


def test_quote_follows_each_engine(pg_server, mariadb_server):
    assert Connection(target(pg_server)).quote('we"ird') == '"we""ird"'
    assert Connection(target(mariadb_server)).quote("we`ird") == "`we``ird`"


def test_a_postgresql_dsn_without_database_says_so(pg_server):
    """psqlODBC falls back to a database named like the login; the error says the DSN named none."""
    import os

    from l4agent.agent.configuration import parse_config
    from l4agent.dbaccess.connection import DatabaseError, connect

    os.environ["L4T_PG_NODB_PASSWORD"] = pg_server.monitor_password
    dsn = ";".join(part for part in pg_server.agent_dsn(None).split(";") if not part.upper().startswith("DATABASE="))
    config = parse_config({"databases": [{"name": "pg", "engine": "postgresql", "dsn": dsn,
                                          "password_env": "L4T_PG_NODB_PASSWORD"}]}, "<test>")
    with pytest.raises(DatabaseError) as caught:
        connect(config.databases[0]).close()
    message = str(caught.value)
    assert "'?'" not in message and "the DSN names no DATABASE=" in message, message
    assert f"tried {pg_server.monitor_user!r}" in message and "add DATABASE=<catalog> to the dsn" in message
