"""Self-tests of the throwaway database servers in tests/support (real servers, no mocks)."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid

import pyodbc
import pytest

from tests.support.dbservers import DbServer, MariaDbServer, PostgresServer


def agent_connect(server: DbServer, database: str | None = None) -> pyodbc.Connection:
    """Connect the way l4agent does: its DSN (no password) plus PWD from the environment/file."""
    return pyodbc.connect(
        f"{server.agent_dsn(database)};PWD={server.monitor_password}", autocommit=True, timeout=5
    )


def query(conn: pyodbc.Connection, sql: str, *params) -> list[pyodbc.Row]:
    return conn.cursor().execute(sql, *params).fetchall()


def tuples(rows) -> list[tuple]:
    """pyodbc.Row never equals a tuple: convert for comparisons."""
    return [tuple(row) for row in rows]


def port_open(server: DbServer) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((server.host, server.port), timeout=1):
        return True
    return False


# -- PostgreSQL ------------------------------------------------------------------------------


def test_pg_agent_dsn_has_monitor_user_and_no_password(pg_server: PostgresServer):
    dsn = pg_server.agent_dsn("appdb")
    assert (
        dsn
        == f"DRIVER={{PostgreSQL Unicode}};SERVER=127.0.0.1;PORT={pg_server.port};DATABASE=appdb;UID=l4monitor"
    )
    assert "PWD" not in dsn.upper() and pg_server.monitor_password not in dsn
    assert pg_server.engine == "postgresql"


def test_pg_monitor_reads_activity_but_cannot_write(pg_server: PostgresServer, pg_db: str):
    marker = f"marker_{uuid.uuid4().hex[:8]}"
    with contextlib.closing(pg_server.admin_connect(pg_db)) as admin:
        query(admin, f"SELECT '{marker}'")  # stays idle, its last query visible in pg_stat_activity
        with contextlib.closing(agent_connect(pg_server, pg_db)) as monitor:
            rows = query(
                monitor, "SELECT current_user, rolsuper::int FROM pg_roles WHERE rolname = current_user"
            )
            assert tuples(rows) == [("l4monitor", 0)]
            roles = query(
                monitor,
                "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                "WHERE m.member = current_user::regrole",
            )
            assert [r.rolname for r in roles] == ["pg_monitor"]
            activity = query(monitor, "SELECT usename, query FROM pg_stat_activity WHERE datname = ?", pg_db)
            assert any(row.usename == "postgres" and marker in row.query for row in activity)
            for statement in ("CREATE TABLE l4_probe (id int)", "CREATE SCHEMA l4_probe"):
                with pytest.raises(pyodbc.Error, match="permission denied"):
                    query(monitor, statement)


def test_pg_monitor_reads_pg_stat_statements_in_new_database(pg_server: PostgresServer, pg_db: str):
    marker = f"marker_{uuid.uuid4().hex[:8]}"
    pg_server.execute_admin(
        [f"CREATE TABLE {marker} (id int PRIMARY KEY)", f"SELECT count(*) FROM {marker} WHERE id > 7"], pg_db
    )
    with contextlib.closing(agent_connect(pg_server, pg_db)) as monitor:
        assert query(monitor, "SELECT extname FROM pg_extension WHERE extname = 'pg_stat_statements'")
        rows = query(
            monitor,
            "SELECT s.query, s.calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
            "WHERE d.datname = ? AND s.query LIKE ?",
            pg_db,
            f"SELECT count(*) FROM {marker}%",
        )
        assert rows and rows[0].calls >= 1  # text visible: pg_read_all_stats via pg_monitor
        settings = dict(
            query(
                monitor,
                "SELECT name, setting FROM pg_settings WHERE name IN (?, ?, ?, ?)",
                "track_io_timing",
                "pg_stat_statements.track",
                "listen_addresses",
                "fsync",
            )
        )
    assert settings == {
        "track_io_timing": "on",
        "pg_stat_statements.track": "all",
        "listen_addresses": "127.0.0.1",
        "fsync": "off",
    }


def test_pg_booleans_arrive_as_strings_unless_boolsaschar_is_off(pg_server: PostgresServer):
    """psqlODBC quirk: BoolsAsChar=1 is the driver default, so an agent DSN gets '1'/'0'."""
    with contextlib.closing(agent_connect(pg_server)) as monitor:
        assert tuples(query(monitor, "SELECT true, false")) == [("1", "0")]
    with contextlib.closing(pg_server.monitor_connect()) as monitor:  # test side: BoolsAsChar=0
        assert tuples(query(monitor, "SELECT true, false")) == [(True, False)]


def test_pg_requires_scram_password_over_tcp(pg_server: PostgresServer):
    with pytest.raises(pyodbc.Error, match="password authentication failed"):
        pg_server.connect(user=pg_server.monitor_user, password="wrong-password")
    rows = pg_server.execute_admin("SELECT rolname, rolpassword FROM pg_authid WHERE rolcanlogin ORDER BY 1")
    assert [r.rolname for r in rows] == ["l4monitor", "postgres"]
    assert all(r.rolpassword.startswith("SCRAM-SHA-256$") for r in rows)
    rules = pg_server.execute_admin(
        "SELECT type, address, auth_method FROM pg_hba_file_rules ORDER BY line_number"
    )
    assert tuples(rules) == [("local", None, "scram-sha-256"), ("host", "127.0.0.1", "scram-sha-256")]


def test_pg_stop_really_stops_and_start_brings_it_back(pg_server: PostgresServer, pg_db: str):
    port = pg_server.port
    try:
        pg_server.stop()
        assert not pg_server.running and not port_open(pg_server)
        with pytest.raises(pyodbc.Error):
            agent_connect(pg_server).close()
    finally:
        pg_server.start()
    assert pg_server.port == port
    with contextlib.closing(agent_connect(pg_server, pg_db)) as monitor:  # data survived
        assert tuples(query(monitor, "SELECT current_database()")) == [(pg_db,)]


# -- MariaDB ---------------------------------------------------------------------------------


def test_mariadb_agent_dsn_has_monitor_user_and_no_password(mariadb_server: MariaDbServer):
    assert (
        mariadb_server.agent_dsn()
        == f"DRIVER={{MariaDB Unicode}};SERVER=127.0.0.1;PORT={mariadb_server.port};UID=l4monitor"
    )
    dsn = mariadb_server.agent_dsn("performance_schema")
    assert dsn.endswith(";DATABASE=performance_schema;UID=l4monitor") and "PWD" not in dsn.upper()
    assert mariadb_server.engine == "mysql"


def test_mariadb_monitor_reads_performance_schema_but_cannot_write(
    mariadb_server: MariaDbServer, mariadb_db: str
):
    marker = f"marker_{uuid.uuid4().hex[:8]}"
    # text protocol: ODBC's prepared statements get no digest (see MariaDbServer.execute_text)
    assert (
        mariadb_server.execute_text(
            f"CREATE TABLE {marker} (id INT PRIMARY KEY); SELECT COUNT(*) FROM {marker} WHERE id > 7;",
            mariadb_db,
        )
        == "0\n"
    )
    with contextlib.closing(mariadb_server.admin_connect(mariadb_db)) as admin:
        query(admin, "SELECT 1")  # another user's session, visible only with PROCESS
        with contextlib.closing(agent_connect(mariadb_server)) as monitor:
            grants = sorted(row[0] for row in query(monitor, "SHOW GRANTS"))
            assert grants == [
                "GRANT PROCESS, SLAVE MONITOR ON *.* TO `l4monitor`@`127.0.0.1` IDENTIFIED BY PASSWORD '*"
                + grants[0].split("'*")[1],
                "GRANT SELECT ON `mysql`.`innodb_table_stats` TO `l4monitor`@`127.0.0.1`",
                "GRANT SELECT ON `performance_schema`.* TO `l4monitor`@`127.0.0.1`",
            ]
            users = {row.user for row in query(monitor, "SELECT user FROM information_schema.processlist")}
            assert {"root", "l4monitor"} <= users
            digests = query(
                monitor,
                "SELECT digest_text, count_star FROM performance_schema.events_statements_summary_by_digest "
                "WHERE schema_name = ? AND digest_text LIKE ?",
                mariadb_db,
                f"SELECT COUNT ( * ) FROM `{marker}`%",
            )
            assert digests and digests[0].count_star >= 1
            assert query(monitor, "SELECT COUNT(*) FROM performance_schema.threads")[0][0] > 0
            for statement in (f"CREATE TABLE {mariadb_db}.l4_probe (id INT)", "CREATE DATABASE l4_probe"):
                with pytest.raises(pyodbc.Error, match="denied"):
                    query(monitor, statement)
            with pytest.raises(pyodbc.Error, match="denied"):
                query(monitor, f"SELECT * FROM {mariadb_db}.{marker}")


def test_mariadb_requires_password_over_tcp(mariadb_server: MariaDbServer):
    with pytest.raises(pyodbc.Error, match="Access denied"):
        mariadb_server.connect(user="l4monitor", password="wrong-password")
    with pytest.raises(pyodbc.Error, match="Access denied"):
        mariadb_server.connect(user="root", password="")
    accounts = mariadb_server.execute_admin(
        "SELECT user, host FROM mysql.user WHERE user IN ('', 'l4monitor') ORDER BY 2"
    )
    assert tuples(accounts) == [("l4monitor", "127.0.0.1"), ("l4monitor", "localhost")]


def test_mariadb_stop_really_stops_and_start_brings_it_back(mariadb_server: MariaDbServer, mariadb_db: str):
    port = mariadb_server.port
    try:
        mariadb_server.stop()
        assert not mariadb_server.running and not port_open(mariadb_server)
        with pytest.raises(pyodbc.Error):
            agent_connect(mariadb_server).close()
    finally:
        mariadb_server.start()
    assert mariadb_server.port == port
    rows = mariadb_server.execute_admin(
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?", params=[mariadb_db]
    )
    assert tuples(rows) == [(mariadb_db,)]


# -- both ------------------------------------------------------------------------------------


@pytest.fixture(params=["pg_server", "mariadb_server"])
def server(request) -> DbServer:
    return request.getfixturevalue(request.param)


def test_passwords_never_reach_server_logs_or_statement_stats(server: DbServer):
    secrets_ = (server.admin_password, server.monitor_password)
    assert len(set(secrets_)) == 2 and all(len(s) >= 32 for s in secrets_)
    if server.engine == "postgresql":
        texts = [r.query for r in server.execute_admin("SELECT query FROM pg_stat_statements")]
    else:
        texts = [
            r[0] or ""
            for r in server.execute_admin(
                "SELECT sql_text FROM performance_schema.events_statements_history_long "
                "UNION ALL SELECT digest_text FROM performance_schema.events_statements_summary_by_digest"
            )
        ]
    texts.append(server.log_file.read_text(errors="replace"))
    for text in texts:
        assert not any(s in text for s in secrets_)


@pytest.mark.parametrize("cls", [PostgresServer, MariaDbServer])
def test_close_leaves_no_process_and_no_files(cls: type[DbServer]):
    server = cls()
    server.start()
    pid, base_dir = server.pid, server.base_dir
    assert pid and base_dir.is_dir()
    server.close()
    server.close()  # idempotent
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not base_dir.exists() and not port_open(server)
