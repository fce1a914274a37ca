"""Throwaway PostgreSQL and MariaDB servers for tests, reached through pyodbc.

Each server lives in its own temporary directory (data, unix socket, log), listens on
127.0.0.1 only, on a free TCP port, and is started from the Debian-packaged binaries.
When the tests run as root, the server runs as its Debian service account (`postgres`,
`mysql`): PostgreSQL refuses to run as root, and MariaDB should not.

Passwords are random per run. They are never sent to the server as SQL text (accounts are
created from pre-computed password hashes), so they cannot turn up in pg_stat_statements,
performance_schema or server logs: a test that greps output for them proves the agent's
own behaviour, not the fixture's.

Plain classes, no pytest: `tests/support/db_fixtures.py` wraps them in fixtures.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import glob
import hashlib
import hmac
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pyodbc

__all__ = [
    "BinaryNotFound",
    "DbServer",
    "MariaDbServer",
    "PostgresServer",
    "ServerError",
    "free_port",
    "new_password",
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_PR_SET_PDEATHSIG = 1


class ServerError(RuntimeError):
    """A test database server could not be set up, started or stopped."""


class BinaryNotFound(ServerError):
    """A server binary is not installed; the message names the Debian package to install."""

    def __init__(self, what: str, package: str):
        super().__init__(
            f"{what} not found: install the Debian package `{package}` (apt-get install {package})"
        )
        self.package = package


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that is free right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def new_password() -> str:
    """Return a random password: 32 URL-safe characters (192 bits), no ODBC-special characters.

    Registered with the leak check: the run fails if it ever appears in what the tests printed."""
    from tests.support.leakcheck import register_test_secret

    return register_test_secret(secrets.token_urlsafe(24))


def _odbc_value(value: str) -> str:
    """Quote an ODBC connection-string value with braces when it needs them."""
    if any(ch in value for ch in ";{}=") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


def _log_tail(path: Path, lines: int = 40) -> str:
    """Return the last `lines` lines of a log file, or a note that it is missing."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _die_with_parent(sig: signal.Signals):
    """Return a preexec_fn that makes the child receive `sig` when the test process dies.

    This keeps a killed pytest run (SIGKILL, no teardown) from leaving servers behind.
    It runs after the child switched user, so the kernel does not clear it again.
    """
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return preexec



class Throwaway:
    """What every throwaway server here shares: ``close()`` stops it and deletes its directory
    (``base_dir``), once; it is a context manager. Subclasses set ``_closed = False``,
    ``base_dir`` and ``_proc`` (the server process), and implement ``start()`` and ``stop()``."""

    base_dir: Path
    _closed: bool
    _proc: subprocess.Popen | None

    @property
    def running(self) -> bool:
        """True while the server process we started is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the running server (postmaster, mariadbd, the JVM), else None."""
        return self._proc.pid if self.running else None

    def start(self):
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Stop the server and delete its temporary directory; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class DbServer(Throwaway):
    """A throwaway database server on 127.0.0.1; subclasses fill in the engine specifics.

    Lifecycle: `start()` initialises the data directory on first use, launches the server
    and waits until the admin login works; `stop()` shuts it down for real (the port stops
    answering); `start()` again brings it back on the same port with the same data;
    `close()` stops it and deletes the temporary directory. Also usable as a context manager.
    """

    engine: str  # l4agent engine name: "postgresql" or "mysql"
    driver: str  # unixODBC driver name from /etc/odbcinst.ini
    package: str  # Debian package providing the server binaries
    service_user: str  # system account the server runs as when the tests run as root
    admin_user: str  # superuser, for tests that plant defects
    default_database: str | None  # DATABASE= when none is given; None leaves it out
    stop_signal: signal.Signals = signal.SIGTERM  # clean, fast shutdown
    odbc_options: str = ""  # extra ODBC keys for test-side connections ("K=V;K=V")

    host = "127.0.0.1"
    monitor_user = "l4monitor"
    startup_timeout = 60.0  # seconds until the server must accept the admin login
    stop_timeout = 30.0  # seconds a clean shutdown may take before SIGKILL
    login_timeout = 5  # seconds, ODBC login timeout per connection attempt

    def __init__(self, port: int | None = None):
        """Prepare (not start) a server; `port` defaults to a free one."""
        self._locate_binaries()
        self._account = self._service_account()
        self.port = port or free_port(self.host)
        self.admin_password = new_password()
        self.monitor_password = new_password()
        self._proc: subprocess.Popen | None = None
        self._initialized = False  # data directory exists
        self._bootstrapped = False  # extensions and accounts exist
        self._closed = False
        self.base_dir = Path(tempfile.mkdtemp(prefix=f"l4agent-{self.engine}-"))
        atexit.register(self.close)  # last resort if the owner never calls close()
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "server.log"
        self._chown(self.base_dir)

    # -- engine specifics --------------------------------------------------------------------

    def _locate_binaries(self) -> None:
        """Find the server binaries or raise BinaryNotFound."""
        raise NotImplementedError

    def _initialize(self) -> None:
        """Create the data directory and its configuration (server not running)."""
        raise NotImplementedError

    def _server_command(self) -> list[str]:
        """The argv that runs the server in the foreground."""
        raise NotImplementedError

    def _bootstrap(self) -> None:
        """First-start setup that needs a running server (extensions, accounts)."""

    def _quote(self, name: str) -> str:
        """Quote a validated identifier for this engine's SQL."""
        raise NotImplementedError

    def create_database(self, name: str) -> str:
        """Create database `name` (letters, digits, underscore) and return the name."""
        raise NotImplementedError

    def drop_database(self, name: str) -> None:
        """Drop database `name` if it exists, even while sessions are connected to it."""
        raise NotImplementedError

    # -- connections -------------------------------------------------------------------------

    def _dsn(self, database: str | None, user: str) -> str:
        database = database or self.default_database
        parts = [f"DRIVER={{{self.driver}}}", f"SERVER={self.host}", f"PORT={self.port}"]
        if database:
            parts.append(f"DATABASE={_odbc_value(database)}")
        parts.append(f"UID={_odbc_value(user)}")
        return ";".join(parts)

    def agent_dsn(self, database: str | None = None) -> str:
        """DSN for l4agent's config: DRIVER/SERVER/PORT/DATABASE/UID of the monitor user.

        It holds no password: the agent takes that from `password_env`/`password_file`
        (use `monitor_password`).
        """
        return self._dsn(database, self.monitor_user)

    def odbc_connection_string(
        self, database: str | None = None, user: str | None = None, password: str | None = None
    ) -> str:
        """Full ODBC connection string including PWD, for test-side use only.

        `user` defaults to the admin; the password of the admin and monitor users is
        filled in automatically, any other user needs `password`.
        """
        user = user or self.admin_user
        if password is None:
            known = {self.admin_user: self.admin_password, self.monitor_user: self.monitor_password}
            if user not in known:
                raise ValueError(f"no password known for user {user!r}")
            password = known[user]
        text = f"{self._dsn(database, user)};PWD={_odbc_value(password)}"
        return f"{text};{self.odbc_options}" if self.odbc_options else text

    def connect(
        self,
        database: str | None = None,
        user: str | None = None,
        password: str | None = None,
        autocommit: bool = True,
    ) -> pyodbc.Connection:
        """Open a pyodbc connection over TCP (see `odbc_connection_string` for defaults)."""
        return pyodbc.connect(
            self.odbc_connection_string(database, user, password),
            autocommit=autocommit,
            timeout=self.login_timeout,
        )

    def admin_connect(self, database: str | None = None, autocommit: bool = True) -> pyodbc.Connection:
        """Open a connection as the superuser."""
        return self.connect(database, self.admin_user, self.admin_password, autocommit)

    def monitor_connect(self, database: str | None = None, autocommit: bool = True) -> pyodbc.Connection:
        """Open a connection as the least-privilege monitoring user."""
        return self.connect(database, self.monitor_user, self.monitor_password, autocommit)

    def execute_admin(
        self, sql: str | Sequence[str], database: str | None = None, params: Sequence = ()
    ) -> list[pyodbc.Row] | None:
        """Run one statement or a list of them as the superuser, in autocommit mode.

        `params` binds `?` markers (single statement only). Returns the rows of the last
        statement if it produced a result set, else None.
        """
        statements = [sql] if isinstance(sql, str) else list(sql)
        if params and len(statements) != 1:
            raise ValueError("params need exactly one statement")
        with contextlib.closing(self.admin_connect(database)) as conn:
            cursor = conn.cursor()
            rows = None
            for statement in statements:
                cursor.execute(statement, *params)
                rows = cursor.fetchall() if cursor.description else None
            return rows

    def _check_identifier(self, name: str) -> str:
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"not a plain identifier: {name!r}")
        return name

    # -- processes ---------------------------------------------------------------------------

    def _service_account(self) -> pwd.struct_passwd | None:
        """The account to run as when we are root, else None (run as ourselves)."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(self.service_user)
        except KeyError:
            raise ServerError(
                f"running as root needs the system user {self.service_user!r} (package {self.package})"
            ) from None

    def _chown(self, *paths: Path) -> None:
        """Hand `paths` to the service account (no-op when not root)."""
        if self._account:
            for path in paths:
                os.chown(path, self._account.pw_uid, self._account.pw_gid)

    def _popen_args(self) -> dict:
        """Popen keyword arguments that run a child as the service account in base_dir."""
        args: dict = {
            "cwd": self.base_dir,
            "stdin": subprocess.DEVNULL,
            "env": {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
        }
        if self._account:
            args.update(user=self._account.pw_uid, group=self._account.pw_gid, extra_groups=[])
            args["env"]["HOME"] = str(self.base_dir)
        return args

    def _run_tool(self, argv: list[str], timeout: float = 120.0) -> None:
        """Run a setup tool (initdb, mariadb-install-db) to completion, output to the log."""
        with open(self.log_file, "ab") as log:
            try:
                result = subprocess.run(
                    argv, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, **self._popen_args()
                )
            except subprocess.TimeoutExpired:
                raise ServerError(
                    f"{argv[0]} took longer than {timeout}s; log tail:\n{_log_tail(self.log_file)}"
                ) from None
        if result.returncode != 0:
            raise ServerError(
                f"{argv[0]} failed with exit code {result.returncode}; log tail:\n{_log_tail(self.log_file)}"
            )

    def _touch_log(self) -> None:
        self.log_file.touch(mode=0o640, exist_ok=True)
        self._chown(self.log_file)

    def start(self) -> None:
        """Start the server (initialising it on first use) and wait until it accepts logins.

        A no-op when it is already running. Raises ServerError with the log tail when the
        server exits or does not accept the admin login within `startup_timeout` seconds.
        """
        if self._closed:
            raise ServerError("server was closed")
        if self.running:
            return
        if not self._initialized:
            self._touch_log()
            self._initialize()
            self._initialized = True
        with open(self.log_file, "ab") as log:
            self._proc = subprocess.Popen(
                self._server_command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(signal.SIGKILL),
                **self._popen_args(),
            )
        self._wait_ready()
        if not self._bootstrapped:
            self._bootstrap()
            self._bootstrapped = True

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code, self._proc = self._proc.returncode, None
                raise ServerError(
                    f"{self.engine} server exited with code {code} during startup; "
                    f"log tail ({self.log_file}):\n{_log_tail(self.log_file)}"
                )
            try:
                self.admin_connect().close()
                return
            except pyodbc.Error as exc:
                last_error = exc
                time.sleep(0.05)
        self.stop()
        raise ServerError(
            f"{self.engine} server not ready after {self.startup_timeout}s (last error: {last_error}); "
            f"log tail ({self.log_file}):\n{_log_tail(self.log_file)}"
        )

    def stop(self) -> None:
        """Shut the server down cleanly (SIGKILL after `stop_timeout` seconds) and wait for it."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(self.stop_signal)
        try:
            proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: takes worker processes too
            proc.wait()

    def restart(self) -> None:
        """Stop and start again on the same port with the same data."""
        self.stop()
        self.start()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {self.host}:{self.port} {state} {self.base_dir}>"


def _scram_sha256_verifier(password: str, iterations: int = 4096) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802/7677, ASCII password)."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


class PostgresServer(DbServer):
    """PostgreSQL (highest version under /usr/lib/postgresql/*/bin) with pg_stat_statements.

    Superuser `postgres`; `l4monitor` holds only pg_monitor and CONNECT. pg_hba.conf asks
    for a scram-sha-256 password on the unix socket and on 127.0.0.1 alike.
    """

    engine = "postgresql"
    driver = "PostgreSQL Unicode"
    package = "postgresql"
    service_user = "postgres"
    admin_user = "postgres"
    default_database = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: roll back sessions, checkpoint, exit
    # Test-side only: booleans as SQL_BIT (Python bool) instead of the driver's '1'/'0'
    # strings, and no psqlodbc_*.log files (Debian's odbcinst.ini sets CommLog=1).
    odbc_options = "BoolsAsChar=0;CommLog=0;Debug=0"

    def __init__(self, port: int | None = None, extra_settings: dict[str, str] | None = None):
        """`extra_settings`: postgresql.conf lines (name -> value as written in the file, e.g.
        {"archive_mode": "on", "archive_command": "'false'"}) added after the defaults."""
        self.extra_settings = dict(extra_settings or {})
        super().__init__(port)

    def _locate_binaries(self) -> None:
        candidates = [
            Path(p).parent
            for p in glob.glob("/usr/lib/postgresql/*/bin/postgres")
            if Path(p).parent.parent.name.isdigit()
        ]
        candidates = [d for d in candidates if (d / "initdb").exists()]
        if not candidates:
            raise BinaryNotFound(
                "PostgreSQL server (/usr/lib/postgresql/*/bin/postgres, initdb)", "postgresql"
            )
        self.bin_dir = max(candidates, key=lambda d: int(d.parent.name))
        self.version = int(self.bin_dir.parent.name)

    def _initialize(self) -> None:
        pwfile = self.base_dir / "initdb.pw"
        pwfile.write_text(self.admin_password + "\n")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        try:
            self._run_tool(
                [
                    str(self.bin_dir / "initdb"),
                    f"--pgdata={self.data_dir}",
                    f"--username={self.admin_user}",
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                    "--no-instructions",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.base_dir}'",
            "max_connections": "50",
            "shared_buffers": "32MB",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "password_encryption": "'scram-sha-256'",
            "shared_preload_libraries": "'pg_stat_statements'",
            "pg_stat_statements.track": "all",
            # planning time is measured (caching.planning_time); a test that wants the
            # PostgreSQL default passes extra_settings={"pg_stat_statements.track_planning": "off"}
            "pg_stat_statements.track_planning": "on",
            "track_io_timing": "on",
            "logging_collector": "off",
            **self.extra_settings,
        }
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\n# l4agent test server\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        (self.data_dir / "pg_hba.conf").write_text(
            "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
            "local   all       all                 scram-sha-256\n"
            "host    all       all   127.0.0.1/32  scram-sha-256\n"
        )

    def _server_command(self) -> list[str]:
        return [str(self.bin_dir / "postgres"), "-D", str(self.data_dir)]

    def _bootstrap(self) -> None:
        verifier = _scram_sha256_verifier(self.monitor_password)
        for database in ("template1", "postgres"):
            self.execute_admin("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", database)
        self.execute_admin(
            [
                f"CREATE ROLE {self.monitor_user} LOGIN PASSWORD '{verifier}'",
                f"GRANT pg_monitor TO {self.monitor_user}",
                f"GRANT CONNECT ON DATABASE postgres TO {self.monitor_user}",
                "SELECT pg_stat_statements_reset()",
            ]
        )

    def _quote(self, name: str) -> str:
        return '"' + self._check_identifier(name) + '"'

    def create_database(self, name: str) -> str:
        """Create database `name` from template1 (so it has pg_stat_statements); grant CONNECT."""
        self.execute_admin(
            [
                f"CREATE DATABASE {self._quote(name)}",
                f"GRANT CONNECT ON DATABASE {self._quote(name)} TO {self.monitor_user}",
            ]
        )
        return name

    def drop_database(self, name: str) -> None:
        self.execute_admin(f"DROP DATABASE IF EXISTS {self._quote(name)} WITH (FORCE)")


def _mysql_native_hash(password: str) -> str:
    """MariaDB's mysql_native_password hash: '*' + upper-hex SHA1(SHA1(password))."""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()  # noqa: S324


class MariaDbServer(DbServer):
    """MariaDB (mariadbd --no-defaults) with performance_schema and statement digests.

    Admin `root`@`127.0.0.1` with a password (root@localhost keeps Debian's unix_socket
    login); `l4monitor`@`127.0.0.1` and @`localhost` hold only PROCESS and SELECT on
    performance_schema.* and mysql.innodb_table_stats. Name resolution is off, so TCP logins match `127.0.0.1` accounts.
    """

    engine = "mysql"
    driver = "MariaDB Unicode"
    package = "mariadb-server"
    service_user = "mysql"
    admin_user = "root"
    default_database = None  # the monitor may not USE any schema but performance_schema
    stop_signal = signal.SIGTERM

    def __init__(self, port: int | None = None, extra_options: Sequence[str] = ()):
        """`extra_options`: mariadbd command-line options added last (they override the
        defaults), e.g. ["--innodb-buffer-pool-size=8M"]."""
        self.extra_options = list(extra_options)
        super().__init__(port)

    def _locate_binaries(self) -> None:
        self.mariadbd = shutil.which("mariadbd", path="/usr/sbin:/usr/bin:/usr/local/sbin")
        self.install_db = shutil.which("mariadb-install-db", path="/usr/bin:/usr/sbin")
        self.client = shutil.which("mariadb", path="/usr/bin")
        if not self.mariadbd or not self.install_db:
            raise BinaryNotFound("MariaDB server (mariadbd, mariadb-install-db)", "mariadb-server")
        if not self.client:
            raise BinaryNotFound("MariaDB command-line client (mariadb)", "mariadb-client")

    def _common_options(self) -> list[str]:
        """Options shared by the bootstrap and the real server (--no-defaults must come first)."""
        return [
            "--no-defaults",
            f"--datadir={self.data_dir}",
            "--innodb-log-file-size=16M",
            "--innodb-buffer-pool-size=64M",
            "--skip-name-resolve",
        ]

    def _initialize(self) -> None:
        admin, monitor = _mysql_native_hash(self.admin_password), _mysql_native_hash(self.monitor_password)
        statements = [
            "FLUSH PRIVILEGES",  # bootstrap runs with --skip-grant-tables; this enables CREATE USER
            f"CREATE USER 'root'@'127.0.0.1' IDENTIFIED BY PASSWORD '{admin}'",
            "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
        ]
        for host in ("127.0.0.1", "localhost"):
            account = f"'{self.monitor_user}'@'{host}'"
            statements += [
                f"CREATE USER {account} IDENTIFIED BY PASSWORD '{monitor}'",
                f"GRANT PROCESS ON *.* TO {account}",
                # replica state (SHOW ALL SLAVES STATUS), MariaDB 10.5.9+: docs/signals.md
                f"GRANT SLAVE MONITOR ON *.* TO {account}",
                f"GRANT SELECT ON performance_schema.* TO {account}",
                # row estimates and sizes without opening tables (README, "Database grants")
                f"GRANT SELECT ON mysql.innodb_table_stats TO {account}",
            ]
        extra = self.base_dir / "bootstrap.sql"
        extra.write_text("".join(f"{s};\n" for s in statements))
        extra.chmod(0o600)
        self._chown(extra)
        self.data_dir.mkdir(mode=0o750)
        self._chown(self.data_dir)
        try:
            self._run_tool(
                [
                    self.install_db,
                    *self._common_options(),
                    "--skip-test-db",
                    f"--extra-file={extra}",
                    # the unix_socket root account maps to this OS user
                    f"--auth-root-socket-user={self.service_user if self._account else pwd.getpwuid(os.geteuid()).pw_name}",
                ]
            )
        finally:
            extra.unlink(missing_ok=True)

    def _server_command(self) -> list[str]:
        return [
            self.mariadbd,
            *self._common_options(),
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.base_dir / 'mysqld.sock'}",
            f"--pid-file={self.base_dir / 'mysqld.pid'}",
            f"--log-error={self.log_file}",
            f"--tmpdir={self.base_dir}",
            "--max-connections=50",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--innodb-flush-log-at-trx-commit=2",
            "--innodb-doublewrite=0",
            "--performance-schema=ON",
            "--performance-schema-consumer-events-statements-current=ON",
            "--performance-schema-consumer-events-statements-history=ON",
            "--performance-schema-consumer-events-statements-history-long=ON",
            "--performance-schema-consumer-statements-digest=ON",
            *self.extra_options,
        ]

    def execute_text(self, sql: str, database: str | None = None, timeout: float = 60.0) -> str:
        """Run SQL as the admin through the `mariadb` client (text protocol); return its output.

        Output is tab-separated, one line per row, without column names. Use this for
        workload that must show up in performance_schema statement digests: Connector/ODBC
        3.1 sends every SQLExecDirect as a server-side prepared statement (COM_STMT_EXECUTE),
        which MariaDB records without SQL text or digest.
        """
        options = self.base_dir / "client.cnf"  # keeps the password off the command line
        if not options.exists():
            options.touch(mode=0o600)
            options.write_text(f"[client]\nuser={self.admin_user}\npassword={self.admin_password}\n")
        argv = [
            self.client,
            f"--defaults-file={options}",
            "--protocol=TCP",
            f"--host={self.host}",
            f"--port={self.port}",
            "--batch",
            "--skip-column-names",
        ]
        if database:
            argv.append(f"--database={self._check_identifier(database)}")
        result = subprocess.run(argv, input=sql, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise ServerError(
                f"mariadb client failed with exit code {result.returncode}: {result.stderr.strip()}"
            )
        return result.stdout

    def _quote(self, name: str) -> str:
        return "`" + self._check_identifier(name) + "`"

    @staticmethod
    def _quote_string(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"

    def create_database(self, name: str) -> str:
        """Create schema `name` (utf8mb4). The monitor user gets no rights on it."""
        self.execute_admin(
            f"CREATE DATABASE {self._quote(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        return name

    def drop_database(self, name: str) -> None:
        """Drop schema `name`, first killing sessions that use it (they would block DROP)."""
        rows = self.execute_admin(
            "SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()",
            params=[name],
        )
        for (session_id,) in rows or []:
            with contextlib.suppress(pyodbc.Error):
                self.execute_admin(f"KILL {int(session_id)}")
        self.execute_admin(f"DROP DATABASE IF EXISTS {self._quote(name)}")
        # MariaDB keeps schema-level grants after DROP DATABASE: revoke them, so a test that
        # granted the monitor something on its database leaves the next test the same monitor.
        holders = self.execute_admin("SELECT User, Host FROM mysql.db WHERE Db = ?", params=[name])
        for user, host in holders or []:
            with contextlib.suppress(pyodbc.Error):
                self.execute_admin(f"REVOKE ALL PRIVILEGES ON {self._quote(name)}.* FROM "
                                   f"{self._quote_string(user)}@{self._quote_string(host)}")
