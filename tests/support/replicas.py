"""Replica pairs on loopback for the issue-19 outage signals (prototype, self-contained).

Built on `tests.support.dbservers` by subclassing only (dbservers.py is not changed):

- `PgPrimary` + `PgStandby`: a PostgreSQL primary (wal_level=logical, archiving to `true`,
  a `replicator` REPLICATION role with a hba `replication` line) and a hot standby made with
  pg_basebackup, streaming through a physical slot (`primary_slot_name`).
- `MariaPrimary` + `MariaReplica`: MariaDB with log_bin/server_id=1 and a replica
  (server_id=2) attached with CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos; START SLAVE.

Fault helpers: `mariadb_stop_io_thread`, `mariadb_break_sql_thread` (duplicate key planted on
the replica), `pg_pause_streaming` (primary_conninfo emptied on the standby: walreceiver stops,
primary stays up), `pg_plant_stale_slot` (slot reserved, consumer gone, WAL generated).

Secrets: the PostgreSQL `replicator` password comes from `new_password()` (leak-checked) and
is only ever written to a 0600 passfile, never into SQL text or primary_conninfo. The MariaDB
replication account `repl`@`127.0.0.1` has no password (REPLICATION SLAVE only, loopback only),
because CHANGE MASTER TO would otherwise carry the password as SQL text.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from tests.support.dbservers import (
    MariaDbServer,
    PostgresServer,
    ServerError,
    _scram_sha256_verifier,
    new_password,
)

__all__ = [
    "MariaPair",
    "MariaPrimary",
    "MariaReplica",
    "PgPair",
    "PgPrimary",
    "PgStandby",
    "mariadb_break_sql_thread",
    "mariadb_repair_sql_thread",
    "mariadb_start_io_thread",
    "mariadb_stop_io_thread",
    "pg_generate_wal",
    "pg_pause_streaming",
    "pg_plant_stale_slot",
    "pg_resume_streaming",
    "grant_mariadb_signals",
    "grant_pg_sequences",
    "replica_status",
    "start_mariadb_pair",
    "start_pg_pair",
    "wait_until",
]


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll `predicate()` until it returns a truthy value (returned); ServerError on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise ServerError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------


class PgPrimary(PostgresServer):
    """PostgreSQL primary that accepts streaming replication from 127.0.0.1.

    Adds: wal_level=logical (physical and logical slots), WAL senders/slots, archive_mode=on
    with archive_command 'true' (a harmless archiver: the "archiving configured" twin),
    autovacuum off and autovacuum_freeze_max_age at its minimum (100000) so a few ten
    thousand burnt XIDs are a meaningful share and nothing vacuums the planted table behind
    the test's back. Role `replicator` (REPLICATION LOGIN) with a random password.
    """

    replication_user = "replicator"

    def __init__(self, port: int | None = None, extra_settings: dict[str, str] | None = None):
        settings = {
            "wal_level": "logical",
            "max_wal_senders": "10",
            "max_replication_slots": "10",
            "wal_keep_size": "0",
            "archive_mode": "on",
            "archive_command": "'true'",
            "autovacuum": "off",
            "autovacuum_freeze_max_age": "100000",
            **(extra_settings or {}),
        }
        super().__init__(port, settings)
        self.replication_password = new_password()

    def _initialize(self) -> None:
        super()._initialize()
        with open(self.data_dir / "pg_hba.conf", "a") as hba:
            hba.write(f"host    replication  {self.replication_user}  127.0.0.1/32  scram-sha-256\n")

    def _bootstrap(self) -> None:
        super()._bootstrap()
        verifier = _scram_sha256_verifier(self.replication_password)
        self.execute_admin(f"CREATE ROLE {self.replication_user} REPLICATION LOGIN PASSWORD '{verifier}'")
        grant_pg_sequences(self)


class PgStandby(PostgresServer):
    """Hot standby of a running `PgPrimary`, cloned with pg_basebackup on first start.

    Streams through physical slot `slot_name` on the primary (created here). Logins are the
    primary's (pg_authid is copied), so admin/monitor passwords are taken from it. The standby
    is read-only: no bootstrap (roles and extensions come from the primary).
    """

    def __init__(self, primary: PgPrimary, slot_name: str = "standby1", port: int | None = None):
        self.primary = primary
        self.slot_name = self._check_identifier(slot_name)
        super().__init__(port, {})
        self.admin_password = primary.admin_password
        self.monitor_password = primary.monitor_password
        self.passfile = self.base_dir / "pgpass"

    def primary_conninfo(self) -> str:
        return (
            f"host={self.primary.host} port={self.primary.port} user={self.primary.replication_user} "
            f"passfile={self.passfile} application_name={self.slot_name}"
        )

    def _initialize(self) -> None:
        primary = self.primary
        if not primary.running:
            raise ServerError("the primary must be running to clone a standby")
        self.passfile.write_text(
            f"{primary.host}:{primary.port}:*:{primary.replication_user}:{primary.replication_password}\n"
        )
        self.passfile.chmod(0o600)
        self._chown(self.passfile)
        exists = primary.execute_admin(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = ?", params=[self.slot_name]
        )[0][0]
        if not exists:
            primary.execute_admin(f"SELECT pg_create_physical_replication_slot('{self.slot_name}', true)")
        self._run_tool(
            [
                str(self.bin_dir / "pg_basebackup"),
                "--dbname", self.primary_conninfo(),
                f"--pgdata={self.data_dir}",
                "--wal-method=stream",
                f"--slot={self.slot_name}",
                "--checkpoint=fast",
                "--no-sync",
                "--no-password",
            ]
        )
        settings = {
            "port": str(self.port),
            "unix_socket_directories": f"'{self.base_dir}'",
            "hot_standby": "on",
            "primary_conninfo": f"'{self.primary_conninfo()}'",
            "primary_slot_name": f"'{self.slot_name}'",
            "archive_mode": "off",  # the "no archiving" case for backup.no_point_in_time
            "wal_receiver_status_interval": "1s",
            "hot_standby_feedback": "off",
        }
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\n# l4agent test standby\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        (self.data_dir / "standby.signal").touch()
        self._chown(self.data_dir / "standby.signal")

    def _bootstrap(self) -> None:
        """Nothing: a standby is read-only and inherits roles and extensions."""

    def create_database(self, name: str) -> str:
        raise ServerError("a standby is read-only: create databases on the primary")

    def drop_database(self, name: str) -> None:
        raise ServerError("a standby is read-only: drop databases on the primary")

    def wal_receiver_status(self) -> str | None:
        """pg_stat_wal_receiver.status ('streaming', 'waiting', ...) or None (no walreceiver)."""
        rows = self.execute_admin("SELECT status FROM pg_stat_wal_receiver")
        return rows[0][0] if rows else None

    def wait_streaming(self, timeout: float = 30.0) -> None:
        wait_until(lambda: self.wal_receiver_status() == "streaming", timeout, what="standby streaming")

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        """Wait until the standby replayed everything the primary had written when called."""
        target = self.primary.execute_admin("SELECT pg_current_wal_lsn()::text")[0][0]
        wait_until(
            lambda: self.execute_admin(
                "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), ?::pg_lsn) >= 0", params=[target]
            )[0][0],
            timeout,
            what="standby replay",
        )


@dataclass
class PgPair:
    primary: PgPrimary
    standby: PgStandby
    startup_seconds: float

    def close(self) -> None:
        try:
            self.standby.close()
        finally:
            self.primary.close()


def start_pg_pair() -> PgPair:
    """Start a primary, clone and start a streaming standby; returns both and the time taken."""
    begin = time.monotonic()
    primary = PgPrimary()
    standby = None
    try:
        primary.start()
        standby = PgStandby(primary)
        standby.start()
        standby.wait_streaming()
    except BaseException:
        if standby is not None:
            standby.close()
        primary.close()
        raise
    return PgPair(primary, standby, time.monotonic() - begin)


def pg_pause_streaming(standby: PgStandby) -> None:
    """Stop the standby's walreceiver while both servers stay up ("not streaming").

    primary_conninfo is reloadable since PostgreSQL 13: ALTER SYSTEM sets it empty (the
    postgresql.auto.conf value wins) and a reload makes the startup process stop the
    walreceiver. pg_stat_wal_receiver then has no row, pg_stat_replication on the primary
    loses the standby's row and its slot turns inactive.
    """
    standby.execute_admin(["ALTER SYSTEM SET primary_conninfo = ''", "SELECT pg_reload_conf()"])
    wait_until(lambda: standby.wal_receiver_status() is None, 30, what="walreceiver gone")


def pg_resume_streaming(standby: PgStandby) -> None:
    """Undo `pg_pause_streaming` and wait for streaming again."""
    standby.execute_admin(["ALTER SYSTEM RESET primary_conninfo", "SELECT pg_reload_conf()"])
    standby.wait_streaming()


def pg_generate_wal(primary: PostgresServer, megabytes: int = 8, database: str = "postgres") -> None:
    """Write roughly `megabytes` of WAL on `primary` (a throwaway table, then a WAL switch)."""
    rows = max(1, megabytes * 1024 * 1024 // 150)
    primary.execute_admin(
        [
            "CREATE TABLE IF NOT EXISTS l4_walgen (id bigint, pad text)",
            f"INSERT INTO l4_walgen SELECT g, repeat('x', 100) FROM generate_series(1, {rows}) g",
            "TRUNCATE l4_walgen",
            "SELECT pg_switch_wal()",
        ],
        database,
    )


def pg_plant_stale_slot(
    primary: PostgresServer, name: str = "stale_slot", logical_database: str | None = None, wal_mb: int = 8
) -> None:
    """A replication slot whose consumer is gone, holding back WAL.

    Physical: pg_create_physical_replication_slot(name, immediately_reserve => true) reserves
    WAL from now on exactly as a slot whose pg_receivewal/standby died does. With
    `logical_database`, a logical slot (test_decoding) in that database instead: it also pins
    catalog_xmin. Then about `wal_mb` MB of WAL are written so the slot retains them.
    """
    if logical_database:
        primary.execute_admin(
            f"SELECT pg_create_logical_replication_slot('{primary._check_identifier(name)}', 'test_decoding')",
            logical_database,
        )
    else:
        primary.execute_admin(f"SELECT pg_create_physical_replication_slot('{primary._check_identifier(name)}', true)")
    pg_generate_wal(primary, wal_mb)


# ---------------------------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------------------------


def grant_pg_sequences(server: PostgresServer) -> None:
    """What docs/signals.md asks of the monitor role for identity usage: SELECT on sequences
    (reads last_value, not nextval, no table data). As default privileges in template1 and
    postgres, so every database created afterwards (and its sequences) carries them."""
    for database in ("template1", "postgres"):
        server.execute_admin([f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {server.monitor_user}",
                              f"ALTER DEFAULT PRIVILEGES GRANT SELECT ON SEQUENCES TO {server.monitor_user}"],
                             database)


def grant_mariadb_signals(server: MariaDbServer) -> None:
    """The MariaDB monitor account's grants for the outage signals (docs/signals.md): SLAVE
    MONITOR (replica state), SHOW VIEW (tables in information_schema: engines, auto_increment
    values) and REFERENCES (their columns' types), neither of which reads any data."""
    for host in ("127.0.0.1", "localhost"):
        server.execute_admin([f"GRANT SLAVE MONITOR, SHOW VIEW, REFERENCES ON *.* TO '{server.monitor_user}'@'{host}'"])


class MariaPrimary(MariaDbServer):
    """MariaDB with the binary log on (ROW format, server_id=1) and a `repl` account."""

    replication_user = "repl"

    def __init__(self, port: int | None = None, extra_options=()):
        super().__init__(
            port,
            ["--log-bin=mariadb-bin", "--server-id=1", "--binlog-format=ROW", *extra_options],
        )

    def _bootstrap(self) -> None:
        super()._bootstrap()
        # Not binlogged: the replica need not replay account changes.
        self.execute_admin(
            [
                "SET SESSION sql_log_bin = 0",
                f"CREATE USER '{self.replication_user}'@'127.0.0.1'",
                f"GRANT REPLICATION SLAVE ON *.* TO '{self.replication_user}'@'127.0.0.1'",
            ]
        )
        grant_mariadb_signals(self)


class MariaReplica(MariaDbServer):
    """MariaDB replica of a `MariaPrimary` (server_id=2, relay log, no binlog of its own).

    `attach()` runs CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos and START SLAVE; the
    replica starts with --skip-slave-start so a restart does not silently reconnect.
    `grant_monitor()` gives l4monitor SLAVE MONITOR, which MariaDB >= 10.5.9 requires for
    SHOW [ALL] SLAVE(S) STATUS (PROCESS is not enough).
    """

    def __init__(self, primary: MariaPrimary, port: int | None = None, extra_options=()):
        self.primary = primary
        super().__init__(
            port,
            ["--server-id=2", "--relay-log=relay-bin", "--skip-slave-start", *extra_options],
        )

    def attach(self) -> None:
        p = self.primary
        self.execute_admin(
            [
                f"CHANGE MASTER TO MASTER_HOST='{p.host}', MASTER_PORT={int(p.port)}, "
                f"MASTER_USER='{p.replication_user}', MASTER_PASSWORD='', "
                "MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos",
                "START SLAVE",
            ]
        )
        self.wait_running()

    def grant_monitor(self) -> None:
        grant_mariadb_signals(self)

    def status(self) -> dict | None:
        return replica_status(self)

    def wait_running(self, timeout: float = 30.0) -> None:
        wait_until(
            lambda: (s := self.status()) and s["Slave_IO_Running"] == "Yes" and s["Slave_SQL_Running"] == "Yes",
            timeout,
            what="replica IO and SQL threads running",
        )

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        """Wait until the replica applied the primary's current GTID position."""
        target = self.primary.execute_admin("SELECT @@gtid_binlog_pos")[0][0]
        wait_until(
            lambda: self.execute_admin("SELECT MASTER_GTID_WAIT(?, 0)", params=[target])[0][0] == 0,
            timeout,
            what=f"replica at GTID {target}",
        )


def replica_status(server: MariaDbServer, monitor: bool = False) -> dict | None:
    """First row of SHOW ALL SLAVES STATUS as {column: value}, or None (not a replica)."""
    conn = server.monitor_connect() if monitor else server.admin_connect()
    with contextlib.closing(conn):
        cur = conn.cursor()
        cur.execute("SHOW ALL SLAVES STATUS")
        row = cur.fetchone()
        if row is None:
            return None
        return {d[0]: v for d, v in zip(cur.description, row, strict=True)}


@dataclass
class MariaPair:
    primary: MariaPrimary
    replica: MariaReplica
    startup_seconds: float

    def close(self) -> None:
        try:
            self.replica.close()
        finally:
            self.primary.close()


def start_mariadb_pair() -> MariaPair:
    """Start primary and replica (in that order; install-db runs for each) and attach."""
    begin = time.monotonic()
    primary = MariaPrimary()
    replica = None
    try:
        primary.start()
        replica = MariaReplica(primary)
        replica.start()
        replica.attach()
        replica.grant_monitor()
    except BaseException:
        if replica is not None:
            replica.close()
        primary.close()
        raise
    return MariaPair(primary, replica, time.monotonic() - begin)


def mariadb_stop_io_thread(replica: MariaReplica) -> None:
    """STOP SLAVE IO_THREAD: Slave_IO_Running=No, Seconds_Behind_Master NULL, row stays."""
    replica.execute_admin("STOP SLAVE IO_THREAD")
    wait_until(lambda: replica.status()["Slave_IO_Running"] == "No", 30, what="IO thread stopped")


def mariadb_start_io_thread(replica: MariaReplica) -> None:
    replica.execute_admin("START SLAVE IO_THREAD")
    replica.wait_running()


def mariadb_break_sql_thread(primary: MariaPrimary, replica: MariaReplica, database: str, table: str = "l4_dup") -> int:
    """Break the SQL thread with error 1062: a row planted on the replica, then the same key
    inserted on the primary. `database` must exist on both (create it on the primary and
    wait_caught_up). Returns the planted key."""
    q = primary._quote
    primary.execute_admin(f"CREATE TABLE {q(database)}.{q(table)} (id int PRIMARY KEY, v varchar(20)) ENGINE=InnoDB")
    replica.wait_caught_up()
    replica.execute_admin(f"INSERT INTO {q(database)}.{q(table)} VALUES (1, 'planted on replica')")
    primary.execute_admin(f"INSERT INTO {q(database)}.{q(table)} VALUES (1, 'from primary')")
    wait_until(lambda: replica.status()["Slave_SQL_Running"] == "No", 30, what="SQL thread stopped by error")
    return 1


def mariadb_repair_sql_thread(replica: MariaReplica, database: str, table: str = "l4_dup") -> None:
    """Remove the planted row and restart the SQL thread (it re-applies the primary's insert)."""
    q = replica._quote
    replica.execute_admin([f"DELETE FROM {q(database)}.{q(table)} WHERE id = 1", "START SLAVE SQL_THREAD"])
    replica.wait_running()
