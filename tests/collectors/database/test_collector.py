"""The database collector against the real PostgreSQL and MariaDB servers, under the monitor
user's least-privilege grants: every metric, blocking and long transactions planted on purpose,
and each fault as ``l4agent_database_up=0`` plus exactly one error entry, with every other
target still reporting and the password nowhere.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
import uuid

import pytest

from l4agent.collectors.database.collector import DatabaseCollector
from l4agent.collectors.runner import CollectionRunner
from l4agent.core.samples import COUNTER, GAUGE
from l4agent.dbaccess.connection import connect
from l4agent.exporters.prometheus import render
from tests.collectors.database.targets import target
from tests.support.dbservers import PostgresServer, _scram_sha256_verifier, new_password
from tests.support.leakcheck import register_test_secret
from tests.support.promtools import promtool_check_metrics

pytestmark = pytest.mark.timeout(90)

EVERY_DATABASE_METRIC = [
    "l4agent_database_up", "l4agent_database_info", "l4agent_database_sessions",
    "l4agent_database_active_sessions", "l4agent_database_blocked_sessions",
    "l4agent_database_longest_transaction_seconds", "l4agent_database_connections",
    "l4agent_database_connections_max", "l4agent_database_size_bytes", "l4agent_database_cache_hit_ratio",
    "l4agent_database_deadlocks_total", "l4agent_database_transactions_total", "l4agent_database_commits_total",
    "l4agent_database_rollbacks_total", "l4agent_backup_age_seconds",
]


def make_collector(db_target, **overrides) -> DatabaseCollector:
    deadline = db_target.login_timeout + db_target.query_timeout + 2.0
    settings = {"target": db_target.name, "database": db_target, "round_deadline": deadline,
                "timeout": deadline + 3.0}
    settings.update(overrides)
    return DatabaseCollector(**settings)


@contextlib.contextmanager
def running(*collectors):
    runner = CollectionRunner(list(collectors), host="test")
    try:
        yield runner
    finally:
        runner.close()


def errors_of(snapshot, name: str) -> list[dict]:
    return [e for e in snapshot.errors if e["target"] == name]


def no_secret(snapshot, *passwords: str, log_text: str = "") -> None:
    text = json.dumps(snapshot.to_dict()) + render(snapshot.samples).decode() + log_text
    for password in passwords:
        assert password not in text


@pytest.fixture(params=["pg", "mariadb"])
def server(request):
    return request.getfixturevalue("pg_server" if request.param == "pg" else "mariadb_server")


# -- the grants the agent runs under (README, "Database grants") ----------------------------------


def test_pg_monitor_is_no_superuser_and_only_in_pg_monitor(pg_server):
    with contextlib.closing(pg_server.monitor_connect()) as monitor:
        cursor = monitor.cursor()
        flags = cursor.execute("SELECT rolsuper::int, rolreplication::int FROM pg_roles "
                               "WHERE rolname = current_user").fetchall()[0]
        assert tuple(flags) == (0, 0)
        roles = cursor.execute("SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                               "WHERE m.member = current_user::regrole").fetchall()
        assert [r[0] for r in roles] == ["pg_monitor"]


def test_mariadb_monitor_holds_process_and_slave_monitor_and_nothing_else_globally(mariadb_server):
    with contextlib.closing(mariadb_server.monitor_connect()) as monitor:
        grants = [row[0] for row in monitor.cursor().execute("SHOW GRANTS").fetchall()]
    global_grants = [g.split(" IDENTIFIED BY")[0] for g in grants if " ON *.* " in g]
    assert global_grants == ["GRANT PROCESS, SLAVE MONITOR ON *.* TO `l4monitor`@`127.0.0.1`"]
    assert "GRANT SELECT ON `performance_schema`.* TO `l4monitor`@`127.0.0.1`" in grants


# -- every metric, plausible values --------------------------------------------------------------


def test_every_metric_from_a_live_server(server, tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    dump = backups / "erp-full.bak"
    dump.write_bytes(b"x" * 10)
    an_hour_ago = time.time() - 3600
    os.utime(dump, (an_hour_ago, an_hour_ago))
    db_target = target(server, backup_dirs=(str(backups),))
    name = db_target.name
    with running(make_collector(db_target)) as runner:
        snapshot = runner.run_once()
    assert snapshot.errors == []
    for metric in EVERY_DATABASE_METRIC:
        assert snapshot.find(metric, database=name), f"{metric} missing"
    engine = server.engine
    assert snapshot.value("l4agent_database_up", database=name, engine=engine) == 1
    [info] = snapshot.find("l4agent_database_info", database=name, engine=engine)
    assert info.value == 1 and info.labels["version"].startswith("15." if engine == "postgresql" else "10.11.")
    states = {s.labels["state"]: s.value for s in snapshot.find("l4agent_database_sessions", database=name)}
    assert set(states) == {"active", "idle", "idle_in_transaction", "other"}
    assert snapshot.value("l4agent_database_connections_max", database=name) == 50
    assert 1 <= snapshot.value("l4agent_database_connections", database=name) <= 50
    assert 0 < snapshot.value("l4agent_database_cache_hit_ratio", database=name) <= 1
    assert snapshot.value("l4agent_database_transactions_total", database=name) >= \
        snapshot.value("l4agent_database_commits_total", database=name) > 0
    system_catalog = "postgres" if engine == "postgresql" else "mysql"
    assert snapshot.value("l4agent_database_size_bytes", database=name, catalog=system_catalog) > 100_000
    assert 3590 <= snapshot.value("l4agent_backup_age_seconds", database=name, type="file") <= 3700
    for sample in snapshot.samples:
        assert sample.spec.kind == (COUNTER if sample.name.endswith("_total") else GAUGE)
    assert promtool_check_metrics(render(snapshot.samples)) == ""


def test_catalog_sizes_follow_the_data(server, request):
    catalog = request.getfixturevalue("pg_db" if server.engine == "postgresql" else "mariadb_db")
    db_target = target(server)
    server.execute_admin(["CREATE TABLE filler (id int PRIMARY KEY, pad varchar(200))"], catalog)
    with running(make_collector(db_target)) as runner:
        before = runner.run_once().value("l4agent_database_size_bytes", database=db_target.name, catalog=catalog)
    fill = ("INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 20000) AS g"
            if server.engine == "postgresql" else
            "INSERT INTO filler SELECT seq, REPEAT('x', 200) FROM seq_1_to_20000")
    server.execute_admin(fill, catalog)
    with running(make_collector(db_target)) as runner:  # a new collector: sizes are re-read every 5 min
        after = runner.run_once().value("l4agent_database_size_bytes", database=db_target.name, catalog=catalog)
    assert before is not None and after >= before + 2_000_000


# -- blocking and long transactions, planted on purpose ------------------------------------------


def test_blocked_session_and_long_transaction(server, request):
    catalog = request.getfixturevalue("pg_db" if server.engine == "postgresql" else "mariadb_db")
    server.execute_admin(["CREATE TABLE stock (id int PRIMARY KEY, qty int)", "INSERT INTO stock VALUES (1, 10)"],
                         catalog)
    db_target = target(server)
    holder = server.admin_connect(catalog, autocommit=False)
    waiter = server.admin_connect(catalog, autocommit=False)
    try:
        holder.cursor().execute("UPDATE stock SET qty = qty - 1 WHERE id = 1")  # holds the row lock
        time.sleep(2.2)  # the holder's transaction is now over 2 s old
        blocked_update = threading.Thread(
            target=lambda: waiter.cursor().execute("UPDATE stock SET qty = qty + 1 WHERE id = 1"), daemon=True)
        blocked_update.start()
        with running(make_collector(db_target)) as runner:
            deadline = time.monotonic() + 10
            while True:
                snapshot = runner.run_once()
                if snapshot.value("l4agent_database_blocked_sessions", database=db_target.name) or \
                        time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        name = db_target.name
        assert snapshot.errors == []
        assert snapshot.value("l4agent_database_blocked_sessions", database=name) == 1
        assert snapshot.value("l4agent_database_sessions", database=name, state="idle_in_transaction") >= 1
        assert snapshot.value("l4agent_database_active_sessions", database=name) >= 1
        assert 2.0 <= snapshot.value("l4agent_database_longest_transaction_seconds", database=name) < 60
    finally:
        holder.rollback()
        blocked_update.join(10)
        waiter.rollback()
        holder.close()
        waiter.close()


def test_quiet_server_has_no_blocked_sessions_or_transactions(server):
    db_target = target(server)
    with running(make_collector(db_target)) as runner:
        snapshot = runner.run_once()
    assert snapshot.value("l4agent_database_blocked_sessions", database=db_target.name) == 0
    assert snapshot.value("l4agent_database_longest_transaction_seconds", database=db_target.name) == 0


# -- faults: up=0 and exactly one error entry; the others unaffected ------------------------------


def other_server(server, request):
    return request.getfixturevalue("mariadb_server" if server.engine == "postgresql" else "pg_server")


def test_stopped_server_is_reported_and_reconnected(server, request, caplog):
    caplog.set_level(logging.DEBUG)
    bystander = target(other_server(server, request), name="bystander")
    db_target = target(server)
    name = db_target.name
    with running(make_collector(db_target), make_collector(bystander)) as runner:
        assert runner.run_once().value("l4agent_database_up", database=name, engine=server.engine) == 1
        server.stop()
        try:
            snapshot = runner.run_once()
        finally:
            server.start()
        assert errors_of(snapshot, name) == [{
            "collector": "database", "target": name,
            "error": f"database {name!r}: cannot reach 127.0.0.1:{server.port}: connection refused"}]
        assert snapshot.value("l4agent_database_up", database=name, engine=server.engine) == 0
        assert snapshot.value("l4agent_collector_success", collector="database", target=name) == 0
        assert [s.name for s in snapshot.samples if s.labels.get("database") == name] == ["l4agent_database_up"]
        assert errors_of(snapshot, "bystander") == []
        assert snapshot.value("l4agent_database_up", database="bystander") == 1
        no_secret(snapshot, server.monitor_password, log_text=caplog.text)

        recovered = runner.run_once()
        assert recovered.errors == []
        assert recovered.value("l4agent_database_up", database=name, engine=server.engine) == 1


def test_wrong_password_is_one_line_and_not_retried_every_round(server, request, monkeypatch):
    wrong_env = "L4_TEST_WRONG_PASSWORD"
    wrong = register_test_secret("wrong-" + new_password())
    monkeypatch.setenv(wrong_env, wrong)
    db_target = target(server, password_env=wrong_env)
    logins = []

    def counting_connect(t):
        logins.append(t.name)
        return connect(t)

    bystander = target(other_server(server, request), name="bystander")
    collector = make_collector(db_target, connector=counting_connect)
    with running(collector, make_collector(bystander)) as runner:
        first, second = runner.run_once(), runner.run_once()
        for snapshot in (first, second):
            assert errors_of(snapshot, db_target.name) == [{
                "collector": "database", "target": db_target.name,
                "error": f"database {db_target.name!r}: login failed for user 'l4monitor' (wrong password or no access)"}]
            assert snapshot.value("l4agent_database_up", database=db_target.name) == 0
            assert snapshot.value("l4agent_database_up", database="bystander") == 1
            no_secret(snapshot, wrong, server.monitor_password)
        assert logins == [db_target.name]  # the second round did not try the same password again

        monkeypatch.setenv(wrong_env, server.monitor_password)  # the operator fixes the secret
        collector.login_retry = 0
        fixed = runner.run_once()
        assert errors_of(fixed, db_target.name) == []
        assert fixed.value("l4agent_database_up", database=db_target.name) == 1


def test_unknown_driver_names_the_package(server, request):
    db_target = target(server, dsn=server.agent_dsn().replace(server.driver, "No Such Driver"))
    bystander = target(other_server(server, request), name="bystander")
    with running(make_collector(db_target), make_collector(bystander)) as runner:
        snapshot = runner.run_once()
    package = "odbc-postgresql" if server.engine == "postgresql" else "odbc-mariadb"
    assert errors_of(snapshot, db_target.name) == [{
        "collector": "database", "target": db_target.name,
        "error": f"database {db_target.name!r}: ODBC driver 'No Such Driver' is not installed; install the Debian "
                 f"package {package} (odbcinst -q -d lists the installed drivers)"}]
    assert snapshot.value("l4agent_database_up", database=db_target.name) == 0
    assert snapshot.value("l4agent_database_up", database="bystander") == 1


class FaultAfter:
    """The real connection, with ``fault()`` run just before its ``n``-th query (n from 1)."""

    def __init__(self, real, n: int, fault):
        self.real, self.n, self.fault, self.queries = real, n, fault, 0

    def query(self, *args, **kwargs):
        self.queries += 1
        if self.queries == self.n:
            self.fault()
        return self.real.query(*args, **kwargs)

    def close(self, wait: float = 5.0) -> None:
        self.real.close(wait)


def test_server_stopping_mid_collection(server):
    db_target = target(server)
    name = db_target.name

    def connect_then_stop(t):
        return FaultAfter(connect(t), 3, server.stop)

    collector = make_collector(db_target, connector=connect_then_stop)
    with running(collector) as runner:
        try:
            snapshot = runner.run_once()
        finally:
            server.start()
        assert snapshot.errors == [{
            "collector": "database", "target": name,
            "error": f"database {name!r}: cannot reach 127.0.0.1:{server.port}: connection refused"}]
        assert snapshot.value("l4agent_database_up", database=name) == 0
        assert snapshot.find("l4agent_database_info", database=name)  # what was read before it stopped
        collector.connector = connect
        assert runner.run_once().value("l4agent_database_up", database=name) == 1


def test_catalog_dropped_mid_collection(pg_server):
    catalog = pg_server.create_database(f"l4t_{uuid.uuid4().hex[:12]}")
    db_target = target(pg_server, database=catalog)

    def connect_then_drop(t):
        return FaultAfter(connect(t), 2, lambda: pg_server.drop_database(catalog))

    with running(make_collector(db_target, connector=connect_then_drop)) as runner:
        snapshot = runner.run_once()
    assert snapshot.errors == [{
        "collector": "database", "target": "pg",
        "error": f"database 'pg': catalog {catalog!r} does not exist or user 'l4monitor' may not open it"}]
    assert snapshot.value("l4agent_database_up", database="pg") == 0


def test_hung_server_is_abandoned_and_reconnected(pg_server):
    db_target = target(pg_server, query_timeout=1.0, login_timeout=1.0)
    collector = make_collector(db_target, round_deadline=2.0)
    with running(collector) as runner:
        assert runner.run_once().value("l4agent_database_up", database="pg") == 1
        backend = collector._db.scalar("SELECT pg_backend_pid()")  # the collector's own session
        os.kill(backend, signal.SIGSTOP)  # frozen: statement_timeout cannot fire, nothing answers
        try:
            started = time.monotonic()
            hung = runner.run_once()
            took = time.monotonic() - started
            still = runner.run_once()
        finally:
            os.kill(backend, signal.SIGCONT)
    assert took < 4.0
    assert hung.errors == [{"collector": "database", "target": "pg",
                            "error": "database 'pg': no answer within 2s (server hung or network down); the "
                                     "connection is dropped and opened anew next round"}]
    assert hung.value("l4agent_database_up", database="pg") == 0
    [error] = still.errors
    assert error["error"].startswith("database 'pg': a query has had no answer for ")
    assert error["error"].endswith("s (server hung or network down); not sending another")
    collector._hung[0].join(10)  # the frozen query returns once the backend runs again
    with running(collector) as runner:
        back = runner.run_once()
    assert back.errors == []
    assert back.value("l4agent_database_up", database="pg") == 1


# -- a query failing on its own: one error entry, the rest still reported ------------------------


def test_pg_step_without_permission_reports_the_rest(pg_server, pg_db, monkeypatch):
    """A role without pg_monitor may not size a catalog it cannot connect to: only the sizes step fails."""
    password = register_test_secret(new_password())
    pg_server.execute_admin([f"CREATE ROLE l4weak LOGIN PASSWORD '{_scram_sha256_verifier(password)}'",
                             f'REVOKE CONNECT ON DATABASE "{pg_db}" FROM PUBLIC'])
    try:
        monkeypatch.setenv("L4_TEST_WEAK_PASSWORD", password)
        dsn = pg_server.agent_dsn().replace("UID=l4monitor", "UID=l4weak")
        db_target = target(pg_server, name="weak", dsn=dsn, password_env="L4_TEST_WEAK_PASSWORD")
        with running(make_collector(db_target)) as runner:
            snapshot = runner.run_once()
    finally:
        pg_server.execute_admin("DROP ROLE l4weak")
    assert snapshot.errors == [{"collector": "database", "target": "weak",
                                "error": f"database 'weak': sizes: permission denied: permission denied for "
                                         f"database {pg_db}"}]
    assert snapshot.value("l4agent_database_up", database="weak") == 1
    assert snapshot.find("l4agent_database_sessions", database="weak")
    assert snapshot.find("l4agent_database_commits_total", database="weak")
    assert not snapshot.find("l4agent_database_size_bytes", database="weak")
    no_secret(snapshot, password)


def test_mariadb_steps_without_process_privilege_report_the_rest(mariadb_server, monkeypatch):
    password = register_test_secret(new_password())
    from tests.support.dbservers import _mysql_native_hash

    mariadb_server.execute_admin(f"CREATE USER 'l4weak'@'127.0.0.1' IDENTIFIED BY PASSWORD "
                                 f"'{_mysql_native_hash(password)}'")
    try:
        monkeypatch.setenv("L4_TEST_WEAK_PASSWORD", password)
        dsn = mariadb_server.agent_dsn().replace("UID=l4monitor", "UID=l4weak")
        db_target = target(mariadb_server, name="weak", dsn=dsn, password_env="L4_TEST_WEAK_PASSWORD")
        with running(make_collector(db_target)) as runner:
            snapshot = runner.run_once()
    finally:
        mariadb_server.execute_admin("DROP USER 'l4weak'@'127.0.0.1'")
    need_process = "permission denied: Access denied; you need (at least one of) the PROCESS privilege(s) for " \
                   "this operation"
    assert snapshot.errors == [
        {"collector": "database", "target": "weak", "error": f"database 'weak': sessions: {need_process}"},
        {"collector": "database", "target": "weak", "error": f"database 'weak': sizes: {need_process}"},
        {"collector": "database", "target": "weak", "error": "database 'weak': replication: permission denied: "
         "Access denied; you need (at least one of) the SUPER, SLAVE MONITOR privilege(s) for this operation"},
    ]
    assert snapshot.value("l4agent_database_up", database="weak") == 1
    assert snapshot.find("l4agent_database_commits_total", database="weak")
    assert snapshot.find("l4agent_database_connections", database="weak")


# -- backup folders ------------------------------------------------------------------------------


def test_backup_folder_faults_are_one_line_each(pg_server, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = tmp_path / "missing"
    db_target = target(pg_server, backup_dirs=(str(empty), str(missing)))
    with running(make_collector(db_target)) as runner:
        snapshot = runner.run_once()
    assert [e["error"] for e in snapshot.errors] == [
        f"database 'pg': backup_dirs: cannot read {missing}: No such file or directory",
    ]
    assert snapshot.value("l4agent_database_up", database="pg") == 1


def test_an_empty_backup_folder_is_no_collector_failure(pg_server, tmp_path, run_cli, write_config, monkeypatch):
    """Issue 15, 10: the database answered and the folder was read; that it is empty is
    backup.dir_stale's finding, not a failed collection (collector_success 1, collect exits 0)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with running(make_collector(target(pg_server, backup_dirs=(str(empty),)))) as runner:
        snapshot = runner.run_once()
    assert snapshot.errors == []
    assert snapshot.value("l4agent_collector_success", collector="database") == 1
    assert not snapshot.find("l4agent_backup_age_seconds", database="pg", type="file")
    path = write_config(f"""\
        [agent]
        state_dir = "{tmp_path / 'state'}"

        [[databases]]
        name = "pg"
        engine = "postgresql"
        dsn = "{pg_server.agent_dsn()}"
        password_env = "L4T_EMPTY_DIR_PW"
        backup_dirs = ["{empty}"]
        """)
    done = run_cli("collect", "-c", path, "--format", "json", env={"L4T_EMPTY_DIR_PW": pg_server.monitor_password})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["errors"] == []


def test_backup_folder_is_dated_even_when_the_server_is_down(pg_server, tmp_path):
    (tmp_path / "nightly.dump").write_bytes(b"x")
    port_less = pg_server.agent_dsn().replace(f"PORT={pg_server.port}", "PORT=1")
    db_target = target(pg_server, dsn=port_less, backup_dirs=(str(tmp_path),))
    with running(make_collector(db_target)) as runner:
        snapshot = runner.run_once()
    assert snapshot.value("l4agent_database_up", database="pg") == 0
    assert 0 <= snapshot.value("l4agent_backup_age_seconds", database="pg", type="file") < 60
    assert len(snapshot.errors) == 1


# -- WAL archiving and streaming replication (private servers: both need a restart) -------------


class StandbyServer(PostgresServer):
    """A streaming standby of ``primary``, cloned with pg_basebackup (same roles and passwords)."""

    def __init__(self, primary: PostgresServer):
        self.primary = primary
        super().__init__()
        self.admin_password, self.monitor_password = primary.admin_password, primary.monitor_password
        self._bootstrapped = True  # roles and extensions come with the clone

    def _initialize(self) -> None:
        source = (f"host={self.primary.host} port={self.primary.port} user={self.primary.admin_user} "
                  f"password={self.primary.admin_password}")
        self._run_tool([str(self.bin_dir / "pg_basebackup"), "-D", str(self.data_dir), "-R", "-X", "stream",
                        "--no-sync", "-d", source])
        with open(self.data_dir / "postgresql.conf", "a") as conf:  # later lines win over the primary's
            conf.write(f"port = {self.port}\nunix_socket_directories = '{self.base_dir}'\narchive_mode = off\n")


@pytest.fixture(scope="module")
def archiving_pg():
    """A primary with WAL archiving on and replication connections allowed."""
    server = PostgresServer()
    try:
        server.start()
        archive = server.base_dir / "archive"
        with open(server.data_dir / "pg_hba.conf", "a") as hba:
            hba.write("host    replication  all   127.0.0.1/32  scram-sha-256\n")
        server.execute_admin([
            "ALTER SYSTEM SET archive_mode = 'on'",
            f"ALTER SYSTEM SET archive_command = 'mkdir -p {archive} && cp %p {archive}/%f'",
        ])
        server.restart()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def standby_pg(archiving_pg):
    standby = StandbyServer(archiving_pg)
    try:
        standby.start()
        deadline = time.monotonic() + 30
        while not archiving_pg.execute_admin("SELECT 1 FROM pg_stat_replication WHERE state = 'streaming' "
                                          "AND replay_lsn IS NOT NULL"):
            assert time.monotonic() < deadline, "the standby never started streaming"
            time.sleep(0.1)
        yield standby
    finally:
        standby.close()


def test_streaming_replication_lag_on_primary_and_standby(archiving_pg, standby_pg):
    archiving_pg.execute_admin(["CREATE TABLE IF NOT EXISTS replicated (id int)", "INSERT INTO replicated VALUES (1)"])
    primary, standby = target(archiving_pg, name="primary"), target(standby_pg, name="standby")
    with running(make_collector(primary), make_collector(standby)) as runner:
        snapshot = runner.run_once()
    assert snapshot.errors == []
    [lag] = snapshot.find("l4agent_database_replication_lag_seconds", database="primary")
    assert lag.labels["replica"] == "walreceiver" and 0 <= lag.value < 30
    assert 0 <= snapshot.value("l4agent_database_replication_lag_bytes", database="primary") < 16 * 2**20
    assert 0 <= snapshot.value("l4agent_database_replication_lag_seconds", database="standby", replica="local") < 30
    assert snapshot.value("l4agent_database_up", database="standby") == 1
    assert snapshot.find("l4agent_database_sessions", database="standby")


def test_server_without_replication_reports_no_lag(pg_server):
    with running(make_collector(target(pg_server))) as runner:
        snapshot = runner.run_once()
    assert not snapshot.find("l4agent_database_replication_lag_seconds")


def test_wal_archive_age_and_failures(archiving_pg):
    server = archiving_pg
    server.execute_admin(["CREATE TABLE IF NOT EXISTS wal_filler (id int)", "INSERT INTO wal_filler VALUES (1)",
                          "SELECT pg_switch_wal()"])
    deadline = time.monotonic() + 20
    while server.execute_admin("SELECT archived_count FROM pg_stat_archiver")[0][0] == 0:
        assert time.monotonic() < deadline, "the WAL segment was never archived"
        time.sleep(0.2)
    db_target = target(server)
    with running(make_collector(db_target)) as runner:
        snapshot = runner.run_once()
    assert snapshot.errors == []
    assert 0 <= snapshot.value("l4agent_backup_age_seconds", database="pg", catalog="*", type="wal_archive") < 30
    assert snapshot.value("l4agent_backup_archive_failures_total", database="pg") == 0

    server.execute_admin(["ALTER SYSTEM SET archive_command = 'false'", "SELECT pg_reload_conf()"])
    try:
        server.execute_admin(["INSERT INTO wal_filler VALUES (2)", "SELECT pg_switch_wal()"])
        deadline = time.monotonic() + 20
        while server.execute_admin("SELECT failed_count FROM pg_stat_archiver")[0][0] == 0:
            assert time.monotonic() < deadline, "the failing archive_command never ran"
            time.sleep(0.2)
        with running(make_collector(db_target)) as runner:
            failing = runner.run_once()
        assert failing.value("l4agent_backup_archive_failures_total", database="pg") >= 1
    finally:
        server.execute_admin(["ALTER SYSTEM RESET archive_command", "SELECT pg_reload_conf()"])


def test_server_without_archiving_reports_no_archive_age(pg_server):
    db_target = target(pg_server)
    with running(make_collector(db_target)) as runner:
        snapshot = runner.run_once()
    assert not snapshot.find("l4agent_backup_age_seconds", database="pg", type="wal_archive")
    assert snapshot.value("l4agent_backup_archive_failures_total", database="pg") == 0
