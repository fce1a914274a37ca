"""The one TOML config file, read into typed objects.

Every problem in a file is reported at once, one line each, as
``config error: FILE: KEY: what is wrong``; the CLI prints them and exits 2.
Each section is read by a :class:`TableReader` that hands out typed values key by key and, when the
section is done, reports every key nobody asked for as unknown. Adding a config key is one
accessor call in the section's reader below.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from l4agent.core.durations import DurationError, parse_duration
from l4agent.core.text import printable

DEFAULT_CONFIG_PATH = "/etc/l4agent/l4agent.toml"
DEFAULT_LISTEN = "127.0.0.1:9847"
# What listen = ":9847" means: every address. Only ever used when a config asks for it.
ALL_ADDRESSES = "0.0.0.0"  # noqa: S104  # nosec B104
ENVIRONMENTS = ("production", "qa", "beta", "development")
ENGINES = ("mssql", "postgresql", "mysql")
SEVERITIES = ("warning", "critical")
PRIORITIES = ("P1", "P2", "P3", "P4")
SINK_TYPES = ("webhook", "smtp", "alertmanager", "command")

# ODBC keywords that carry a password; a DSN holding one is refused (use password_env/_file).
_DSN_SECRET_KEYS = re.compile(r"(?:^|;)\s*(pwd|password)\s*=", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_BCRYPT_HASH = re.compile(r"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$")

#: ``option_problems(check_id_or_family, options)`` -> [(option, message)]
OptionValidator = Callable[[str, dict[str, Any]], list[tuple[str, str]]]
#: (metric, check) of a threshold -> (key, problem) pairs: names the agent does not know
SubjectValidator = Callable[[str | None, str | None], list[tuple[str, str]]]


class ConfigError(Exception):
    """One or more problems in a config file; ``lines`` are ready to print."""

    def __init__(self, path: str, problems: list[tuple[str, str]]):
        self.path = path
        self.problems = problems
        # Keys and values come from the file: a control character in them must not reach the terminal.
        self.lines = [printable(f"config error: {path}: {key}: {message}") for key, message in problems]
        super().__init__("\n".join(self.lines))


# ---------------------------------------------------------------------------------------------
# Typed config objects


@dataclass(frozen=True)
class WebConfig:
    """``[agent.web]``: who may read /metrics and the status page."""

    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    client_ca_file: str | None = None
    basic_auth_users: dict[str, str] = field(default_factory=dict)
    max_threads: int = 8
    request_timeout: float = 10.0


@dataclass(frozen=True)
class AgentConfig:
    """``[agent]``: the daemon itself."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 9847
    interval: float = 15.0
    diagnostics_interval: float = 3600.0
    collector_timeout: float = 10.0
    state_dir: str = "/var/lib/l4agent"
    environment: str = "production"
    hostname: str | None = None
    dashboard_url: str | None = None
    #: systemd units whose state the os collector reports (l4agent_systemd_unit_active{unit})
    units: tuple[str, ...] = ()
    web: WebConfig = field(default_factory=WebConfig)

    @property
    def listen(self) -> str:
        host = f"[{self.listen_host}]" if ":" in self.listen_host else self.listen_host
        return f"{host}:{self.listen_port}"


@dataclass(frozen=True)
class DatabaseConfig:
    """One ``[[databases]]`` target."""

    name: str
    engine: str
    dsn: str
    password_env: str | None = None
    password_file: str | None = None
    databases: tuple[str, ...] = ()
    backup_dirs: tuple[str, ...] = ()
    rpo: float = 86400.0
    log_backup_window: float | None = None
    query_timeout: float = 10.0
    login_timeout: float = 5.0
    data_dirs: tuple[str, ...] = ()

    def password(self) -> str | None:
        """The password from the environment variable or the file; read now, never stored."""
        if self.password_env:
            return os.environ.get(self.password_env)
        if self.password_file:
            with open(self.password_file, encoding="utf-8") as handle:
                return handle.read().strip()
        return None


@dataclass(frozen=True)
class AppServerConfig:
    """One ``[[appservers]]`` entry: the ERP's web tier."""

    name: str
    url: str | None = None
    process: str | None = None
    process_user: str | None = None
    process_cmdline: str | None = None
    timeout: float = 10.0
    expected_status: tuple[int, ...] = (200,)
    body_regex: str | None = None
    max_redirects: int = 5
    ca_file: str | None = None
    verify_tls: bool = True
    tomcat_status_url: str | None = None
    status_user: str | None = None
    status_password_env: str | None = None
    status_password_file: str | None = None
    json_status_url: str | None = None
    json_status_fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeConfig:
    """One ``[[probes]]`` entry: a TCP connect or DNS resolution to time."""

    name: str
    tcp_host: str | None = None
    tcp_port: int | None = None
    dns: str | None = None
    timeout: float = 2.0


@dataclass(frozen=True)
class ThresholdConfig:
    """One ``[[thresholds]]`` rule on a metric or on a diagnostic check."""

    name: str
    metric: str | None = None
    check: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    direction: str = "above"
    warning: float | None = None
    critical: float | None = None
    for_seconds: float = 0.0
    priority: str | None = None
    recovery_margin: float | None = None
    summary: str | None = None
    recommendation: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class RecordsConfig:
    """``[records]``: how work records follow a breach."""

    renote_interval: float = 86400.0  # an unchanged open record gets one digest note a day
    reopen_window: float = 86400.0
    value_step: float = 0.05
    retry_initial: float = 1.0
    retry_max: float = 300.0
    sla: dict[str, float] = field(
        default_factory=lambda: {"P1": 4 * 3600.0, "P2": 8 * 3600.0, "P3": 3 * 86400.0, "P4": 10 * 86400.0}
    )


@dataclass(frozen=True)
class SinkConfig:
    """One ``[[sinks]]`` entry; keys beyond ``type`` depend on the type."""

    type: str
    name: str
    url: str | None = None
    token_env: str | None = None
    token_file: str | None = None
    verify_tls: bool = True
    ca_file: str | None = None
    timeout: float = 10.0
    # smtp
    host: str | None = None
    port: int | None = None
    starttls: bool = True
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    mail_from: str | None = None
    mail_to: tuple[str, ...] = ()
    # command
    command: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """The whole file. ``path`` is None when the built-in defaults are in use."""

    path: str | None = None
    agent: AgentConfig = field(default_factory=AgentConfig)
    databases: tuple[DatabaseConfig, ...] = ()
    appservers: tuple[AppServerConfig, ...] = ()
    probes: tuple[ProbeConfig, ...] = ()
    thresholds: tuple[ThresholdConfig, ...] = ()
    records: RecordsConfig = field(default_factory=RecordsConfig)
    sinks: tuple[SinkConfig, ...] = ()
    diagnostics: dict[str, dict[str, Any]] = field(default_factory=dict)

    def database(self, name: str) -> DatabaseConfig | None:
        return next((db for db in self.databases if db.name == name), None)


# ---------------------------------------------------------------------------------------------
# The reader


_MISSING = object()
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "a list", dict: "a table"}


class Problems(list):
    def add(self, key: str, message: str) -> None:
        self.append((key, message))


class TableReader:
    """Typed access to one TOML table; ``done()`` reports the keys nobody asked for."""

    def __init__(self, problems: Problems, data: Any, path: str):
        self.problems = problems
        self.path = path
        self.ok = isinstance(data, dict)
        if not self.ok:
            problems.add(path, f"expected a table, got {_type_name(data)}")
            data = {}
        self.data = data
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _get(self, name: str, kind: type | tuple, default: Any, required: bool) -> Any:
        self.seen.add(name)
        if name not in self.data:
            if required:
                self.problems.add(self.key(name), "is required")
            return default
        value = self.data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int in Python; TOML true must not pass for a number.
        if isinstance(value, bool) and bool not in kinds:
            ok = False
        else:
            ok = isinstance(value, kinds)
        if not ok:
            self.problems.add(self.key(name), f"expected {_TYPE_NAMES.get(kinds[0], kinds[0].__name__)}, "
                                              f"got {_type_name(value)}")
            return _MISSING
        return value

    def str(self, name: str, default: str | None = None, required: bool = False,
            choices: tuple[str, ...] | None = None) -> str | None:
        value = self._get(name, str, default, required)
        if value is _MISSING:
            return default
        if value is not None and choices and value not in choices:
            self.problems.add(self.key(name), f"{value!r} is not one of {', '.join(choices)}")
            return default
        return value

    def name(self, name: str, required: bool = True) -> str | None:
        value = self.str(name, required=required)
        if value is not None and not _NAME.match(value):
            self.problems.add(self.key(name), f"{value[:40]!r} is not a valid name "
                                              "(letters, digits, '_', '.', '-'; at most 63)")
        return value

    def bool(self, name: str, default: bool) -> bool:
        value = self._get(name, bool, default, False)
        return default if value is _MISSING else value

    def int(self, name: str, default: int | None = None, minimum: int | None = None,
            maximum: int | None = None) -> int | None:
        value = self._get(name, int, default, False)
        if value is _MISSING:
            return default
        if value is not None and ((minimum is not None and value < minimum)
                                  or (maximum is not None and value > maximum)):
            self.problems.add(self.key(name), f"{value} is out of range [{minimum}, {maximum}]")
            return default
        return value

    def number(self, name: str, default: float | None = None) -> float | None:
        value = self._get(name, (int, float), default, False)
        if value is _MISSING or value is None:
            return default
        if not math.isfinite(value):
            self.problems.add(self.key(name), f"{value} is not a finite number")
            return default
        return float(value)

    def duration(self, name: str, default: float | None, positive: bool = True) -> float | None:
        value = self._get(name, str, _MISSING, False)
        if value is _MISSING:
            return default
        try:
            seconds = parse_duration(value)
        except DurationError as exc:
            self.problems.add(self.key(name), str(exc))
            return default
        if positive and seconds <= 0:
            self.problems.add(self.key(name), "must be greater than zero")
            return default
        return seconds

    def str_list(self, name: str) -> tuple[str, ...]:
        value = self._get(name, list, [], False)
        if value is _MISSING:
            return ()
        bad = [item for item in value if not isinstance(item, str)]
        if bad:
            self.problems.add(self.key(name), f"expected a list of strings, got {_type_name(bad[0])} in it")
            return ()
        return tuple(value)

    def str_map(self, name: str) -> dict[str, str]:
        value = self._get(name, dict, {}, False)
        if value is _MISSING:
            return {}
        for key, item in value.items():
            if not isinstance(item, str):
                self.problems.add(f"{self.key(name)}.{key}", f"expected a string, got {_type_name(item)}")
        return {k: v for k, v in value.items() if isinstance(v, str)}

    def table(self, name: str) -> TableReader:
        self.seen.add(name)
        return TableReader(self.problems, self.data.get(name, {}), self.key(name))

    def array_of_tables(self, name: str) -> list[TableReader]:
        self.seen.add(name)
        value = self.data.get(name, [])
        if not isinstance(value, list):
            self.problems.add(self.key(name), f"expected an array of tables ([[{name}]]), got {_type_name(value)}")
            return []
        return [TableReader(self.problems, item, f"{self.key(name)}[{i}]") for i, item in enumerate(value)]

    def done(self) -> None:
        if not self.ok:
            return
        for name in self.data:
            if name not in self.seen:
                self.problems.add(self.key(name), "unknown key")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    for kind, text in _TYPE_NAMES.items():
        if isinstance(value, kind):
            return text
    return type(value).__name__


def check_unique(problems: Problems, section: str, names: list[str | None]) -> None:
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name is None:
            continue
        if name in seen:
            problems.add(f"{section}[{index}].name", f"duplicate name {name!r} (also {section}[{seen[name]}])")
        else:
            seen[name] = index


#: The one rule for password and token files (password_file, status_password_file, token_file):
#: readable by their owner only, or also by the agent's service group (systemd/l4agent.sysusers)
#: and nobody else. The unit file, deploy/l4agent.example.toml and the README state the same.
SECRET_FILE_GROUP = "l4agent"  # noqa: S105 - a group name, not a secret
SECRET_FILE_RULE = f"0600, or 0640 with group {SECRET_FILE_GROUP}"


def secret_file_mode_problem(path: str, status: os.stat_result) -> str | None:
    """What is wrong with a secret file's mode and group under :data:`SECRET_FILE_RULE`, or None."""
    mode = stat.S_IMODE(status.st_mode)
    group = _group_name(status.st_gid)
    group_ok = not mode & (stat.S_IWGRP | stat.S_IXGRP) and (not mode & stat.S_IRGRP or group == SECRET_FILE_GROUP)
    if mode & stat.S_IRWXO or not group_ok:
        shown = f"mode {mode:04o}" + (f", group {group}" if mode & stat.S_IRWXG else "")
        return f"{path} has {shown}; it must be {SECRET_FILE_RULE}"
    return None


def _group_name(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _check_secret_file(problems: Problems, key: str, path: str | None) -> None:
    """A password/token file must exist and follow :data:`SECRET_FILE_RULE`."""
    if not path:
        return
    try:
        status = os.stat(path)
    except OSError as exc:
        problems.add(key, f"cannot read {path}: {exc.strerror}")
        return
    problem = secret_file_mode_problem(path, status)
    if problem:
        problems.add(key, problem)


def parse_listen(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9847"``, ``"[::1]:9847"``, ``":9847"`` (all addresses) -> (host, port)."""
    match = re.match(r"^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]*)):(\d{1,5})$", text.strip())
    if not match:
        raise ValueError(f"{text[:60]!r} is not host:port (e.g. \"127.0.0.1:9847\" or \"[::1]:9847\")")
    host = match.group(1) or match.group(2) or ALL_ADDRESSES
    port = int(match.group(3))
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 1-65535")
    return host, port


def parse_host_port(text: str, default_port: int | None = None) -> tuple[str, int]:
    """``"db1:1433"`` or ``"[fe80::1]:1433"`` -> (host, port)."""
    host, port = parse_listen(text) if ":" in text else (text, default_port)
    if port is None or not host or host == ALL_ADDRESSES:
        raise ValueError(f"{text[:60]!r} is not host:port")
    return host, port


# ---------------------------------------------------------------------------------------------
# Sections


def _read_agent(problems: Problems, root: TableReader) -> AgentConfig:
    t = root.table("agent")
    defaults = AgentConfig()
    host, port = defaults.listen_host, defaults.listen_port
    listen = t.str("listen")
    if listen is not None:
        try:
            host, port = parse_listen(listen)
        except ValueError as exc:
            problems.add(t.key("listen"), str(exc))
    web_t = t.table("web")
    users_t = web_t.table("basic_auth_users")
    users = {}
    for user, hashed in users_t.data.items():
        users_t.seen.add(user)
        if not isinstance(hashed, str) or not _BCRYPT_HASH.match(hashed):
            problems.add(users_t.key(user), "expected a bcrypt hash: $2b$, a cost 04..31, $ and 53 characters "
                                            "(make one with `l4agent hash-password`)")
        else:
            users[user] = hashed
    users_t.done()
    web = WebConfig(
        tls_cert_file=web_t.str("tls_cert_file"),
        tls_key_file=web_t.str("tls_key_file"),
        client_ca_file=web_t.str("client_ca_file"),
        basic_auth_users=users,
        max_threads=web_t.int("max_threads", 8, minimum=1, maximum=256),
        request_timeout=web_t.duration("request_timeout", 10.0),
    )
    if bool(web.tls_cert_file) != bool(web.tls_key_file):
        problems.add(web_t.key("tls_key_file"), "tls_cert_file and tls_key_file go together")
    if web.client_ca_file and not web.tls_cert_file:
        problems.add(web_t.key("client_ca_file"), "mutual TLS needs tls_cert_file and tls_key_file")
    for key in ("tls_cert_file", "tls_key_file", "client_ca_file"):
        file = getattr(web, key)
        if file and not os.path.isfile(file):
            problems.add(web_t.key(key), f"{file}: no such file")
        elif file and not os.access(file, os.R_OK):
            problems.add(web_t.key(key), f"{file}: not readable by this user")
    web_t.done()
    agent = AgentConfig(
        listen_host=host,
        listen_port=port,
        interval=t.duration("interval", defaults.interval),
        diagnostics_interval=t.duration("diagnostics_interval", defaults.diagnostics_interval),
        collector_timeout=t.duration("collector_timeout", defaults.collector_timeout),
        state_dir=t.str("state_dir", defaults.state_dir),
        environment=t.str("environment", defaults.environment, choices=ENVIRONMENTS),
        hostname=t.str("hostname"),
        dashboard_url=t.str("dashboard_url"),
        units=_unit_names(problems, t),
        web=web,
    )
    t.done()
    return agent


_UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.\\@-]{1,256}$")


def _unit_names(problems: Problems, t: TableReader) -> tuple[str, ...]:
    """``[agent] units``: systemd unit names ("tomcat10", "mariadb.service")."""
    units = t.str_list("units")
    for unit in units:
        if not _UNIT_NAME.match(unit) or unit.startswith("-"):
            problems.add(t.key("units"), f"{unit!r} is not a systemd unit name")
            return ()
    return tuple(dict.fromkeys(units))


def read_database(problems: Problems, t: TableReader) -> DatabaseConfig:
    name = t.name("name")
    engine = t.str("engine", required=True, choices=ENGINES)
    dsn = t.str("dsn", required=True) or ""
    if _DSN_SECRET_KEYS.search(dsn):
        problems.add(t.key("dsn"), "contains a password; put it in password_env or password_file instead")
        dsn = ""
    password_env = t.str("password_env")
    password_file = t.str("password_file")
    if password_env and password_file:
        problems.add(t.key("password_file"), "give password_env or password_file, not both")
    _check_secret_file(problems, t.key("password_file"), password_file)
    db = DatabaseConfig(
        name=name or "",
        engine=engine or "",
        dsn=dsn,
        password_env=password_env,
        password_file=password_file,
        databases=t.str_list("databases"),
        backup_dirs=t.str_list("backup_dirs"),
        rpo=t.duration("rpo", 86400.0),
        log_backup_window=t.duration("log_backup_window", None),
        query_timeout=t.duration("query_timeout", 10.0),
        login_timeout=t.duration("login_timeout", 5.0),
        data_dirs=t.str_list("data_dirs"),
    )
    t.done()
    return db


def _read_appserver(problems: Problems, t: TableReader) -> AppServerConfig:
    statuses = t._get("expected_status", list, [200], False)
    if statuses is _MISSING or any(isinstance(s, bool) or not isinstance(s, int) for s in statuses):
        if statuses is not _MISSING:
            problems.add(t.key("expected_status"), "expected a list of HTTP status codes like [200, 302]")
        statuses = [200]
    body_regex = t.str("body_regex")
    if body_regex is not None:
        try:
            re.compile(body_regex)
        except re.error as exc:
            problems.add(t.key("body_regex"), f"invalid regular expression: {exc}")
            body_regex = None
    app = AppServerConfig(
        name=t.name("name") or "",
        url=t.str("url"),
        process=t.str("process"),
        process_user=t.str("process_user"),
        process_cmdline=t.str("process_cmdline"),
        timeout=t.duration("timeout", 10.0),
        expected_status=tuple(statuses),
        body_regex=body_regex,
        max_redirects=t.int("max_redirects", 5, minimum=0, maximum=30),
        ca_file=t.str("ca_file"),
        verify_tls=t.bool("verify_tls", True),
        tomcat_status_url=t.str("tomcat_status_url"),
        status_user=t.str("status_user"),
        status_password_env=t.str("status_password_env"),
        status_password_file=t.str("status_password_file"),
        json_status_url=t.str("json_status_url"),
        json_status_fields=t.str_map("json_status_fields"),
    )
    _check_secret_file(problems, t.key("status_password_file"), app.status_password_file)
    if app.url and not re.match(r"^https?://", app.url):
        problems.add(t.key("url"), "must start with http:// or https://")
    if not (app.url or app.process or app.tomcat_status_url or app.json_status_url):
        problems.add(t.path, "give at least url, process, tomcat_status_url or json_status_url")
    _check_appserver_extras(problems, t, app)
    t.done()
    return app


def _check_appserver_extras(problems: Problems, t: TableReader, app: AppServerConfig) -> None:
    """Status pages, their credentials, the cmdline regex and JSON metric suffixes (issue 7)."""
    for key in ("tomcat_status_url", "json_status_url"):
        value = getattr(app, key)
        if value and not re.match(r"^https?://", value):
            problems.add(t.key(key), "must start with http:// or https://")
    if app.status_user and not (app.status_password_env or app.status_password_file):
        problems.add(t.key("status_user"), "give status_password_env or status_password_file for its password")
    if app.process_cmdline is not None:
        try:
            re.compile(app.process_cmdline)
        except re.error as exc:
            problems.add(t.key("process_cmdline"), f"invalid regular expression: {exc}")
    for suffix in app.json_status_fields:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", suffix):
            problems.add(f"{t.key('json_status_fields')}.{suffix}",
                         "a metric suffix: lower-case letters, digits and _ (like heap_used_bytes)")


def _read_probe(problems: Problems, t: TableReader) -> ProbeConfig:
    name = t.name("name")
    tcp = t.str("tcp")
    dns = t.str("dns")
    host = port = None
    if bool(tcp) == bool(dns):
        problems.add(t.path, "give exactly one of tcp = \"host:port\" or dns = \"name\"")
    if tcp:
        try:
            host, port = parse_host_port(tcp)
        except ValueError as exc:
            problems.add(t.key("tcp"), str(exc))
    probe = ProbeConfig(name=name or "", tcp_host=host, tcp_port=port, dns=dns, timeout=t.duration("timeout", 2.0))
    t.done()
    return probe


def _read_threshold(problems: Problems, t: TableReader, index: int,
                    builtin_rules: Mapping[str, ThresholdConfig],
                    subject_problems: SubjectValidator | None = None) -> ThresholdConfig:
    # A rule named like a built-in overrides only the keys it gives.
    name = t.name("name", required=False)
    base = builtin_rules.get(name or "") or ThresholdConfig(name="")
    own_subject = "metric" in t.data or "check" in t.data
    metric = t.str("metric", None if own_subject else base.metric)
    check = t.str("check", None if own_subject else base.check)
    if bool(metric) == bool(check):
        problems.add(t.path, "give exactly one of metric or check")
    elif own_subject and subject_problems is not None:
        for key, message in subject_problems(metric, check):
            problems.add(t.key(key), message)
    labels = t.str_map("labels") if "labels" in t.data else dict(base.labels)
    if name is None:
        label_text = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        name = f"{metric or check}{{{label_text}}}" if label_text else (metric or check or f"threshold-{index}")
    warning = t.number("warning", base.warning)
    critical = t.number("critical", base.critical)
    direction = t.str("direction", base.direction, choices=("above", "below"))
    if metric and warning is None and critical is None:
        problems.add(t.path, "a metric threshold needs warning or critical (or both)")
    if warning is not None and critical is not None:
        if (direction == "above" and critical < warning) or (direction == "below" and critical > warning):
            problems.add(t.key("critical"), f"is less severe than warning for direction {direction!r}")
    rule = ThresholdConfig(
        name=name,
        metric=metric,
        check=check,
        labels=labels,
        direction=direction,
        warning=warning,
        critical=critical,
        for_seconds=t.duration("for", base.for_seconds, positive=False),
        priority=t.str("priority", base.priority, choices=PRIORITIES),
        recovery_margin=t.number("recovery_margin", base.recovery_margin),
        summary=t.str("summary", base.summary),
        recommendation=t.str("recommendation", base.recommendation),
        enabled=t.bool("enabled", base.enabled),
    )
    t.done()
    return rule


def _read_records(problems: Problems, root: TableReader) -> RecordsConfig:
    t = root.table("records")
    defaults = RecordsConfig()
    sla_t = t.table("sla")
    sla = dict(defaults.sla)
    for priority in PRIORITIES:
        sla[priority] = sla_t.duration(priority, sla[priority])
    sla_t.done()
    records = RecordsConfig(
        renote_interval=t.duration("renote_interval", defaults.renote_interval),
        reopen_window=t.duration("reopen_window", defaults.reopen_window, positive=False),
        value_step=t.number("value_step", defaults.value_step),
        retry_initial=t.duration("retry_initial", defaults.retry_initial),
        retry_max=t.duration("retry_max", defaults.retry_max),
        sla=sla,
    )
    t.done()
    return records


def _read_sink(problems: Problems, t: TableReader, index: int) -> SinkConfig:
    kind = t.str("type", required=True, choices=SINK_TYPES)
    command = t.str_list("command")
    sink = SinkConfig(
        type=kind or "",
        name=t.name("name", required=False) or f"{kind}-{index}",
        url=t.str("url"),
        token_env=t.str("token_env"),
        token_file=t.str("token_file"),
        verify_tls=t.bool("verify_tls", True),
        ca_file=t.str("ca_file"),
        timeout=t.duration("timeout", 10.0),
        host=t.str("host"),
        port=t.int("port", None, minimum=1, maximum=65535),
        starttls=t.bool("starttls", True),
        username=t.str("username"),
        password_env=t.str("password_env"),
        password_file=t.str("password_file"),
        mail_from=t.str("mail_from"),
        mail_to=t.str_list("mail_to"),
        command=command,
    )
    _check_secret_file(problems, t.key("password_file"), sink.password_file)
    _check_secret_file(problems, t.key("token_file"), sink.token_file)
    needs = {"webhook": "url", "alertmanager": "url", "smtp": "host", "command": "command"}
    if kind and not getattr(sink, needs[kind]):
        problems.add(t.key(needs[kind]), f"is required for a {kind} sink")
    if sink.url and not re.match(r"^https?://", sink.url):
        problems.add(t.key("url"), "must start with http:// or https://")
    elif sink.url and (why := _url_problem(sink.url)):
        problems.add(t.key("url"), why)  # never the URL itself: its path may hold a token
    t.done()
    return sink


def _url_problem(url: str) -> str | None:
    """Why ``url`` (http or https) cannot be used, or None."""
    from urllib.parse import urlsplit

    if any(ord(ch) < 0x21 or 0x7f <= ord(ch) <= 0x9f for ch in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL ({str(exc).split(':')[0]})"
    if not parts.hostname:
        return "has no host name"
    if port == 0:
        return "port 0 is not a valid port"
    return None


def _read_diagnostics(problems: Problems, root: TableReader,
                      option_problems: OptionValidator | None) -> dict[str, dict[str, Any]]:
    """``[diagnostics.<check id or family>]`` tables; the checks validate their own options."""
    t = root.table("diagnostics")
    result: dict[str, dict[str, Any]] = {}
    for key, value in t.data.items():
        t.seen.add(key)
        if not isinstance(value, dict):
            problems.add(t.key(key), f"expected a table, got {_type_name(value)}")
            continue
        # TOML reads [diagnostics.perf.top_query] as nested tables; flatten to "perf.top_query".
        for sub, sub_value in value.items():
            if isinstance(sub_value, dict):
                result[f"{key}.{sub}"] = sub_value
        result.setdefault(key, {}).update({k: v for k, v in value.items() if not isinstance(v, dict)})
    for check_id, options in result.items():
        for key, message in option_problems(check_id, options) if option_problems else ():
            problems.add(f"diagnostics.{check_id}.{key}" if key else f"diagnostics.{check_id}", message)
    t.done()
    return result


def parse_config(data: dict[str, Any], path: str, *, builtin_rules: Mapping[str, ThresholdConfig] = MappingProxyType({}),
                 option_problems: OptionValidator | None = None,
                 subject_problems: SubjectValidator | None = None) -> Config:
    """Build a Config from already-parsed TOML; raise ConfigError listing every problem.

    What only the layers above know comes in as arguments, so that reading a config imports no
    check: ``builtin_rules`` (a ``[[thresholds]]`` named like one overrides only the keys it
    gives), ``option_problems(check_id, options)`` for ``[diagnostics.<id>]`` tables and
    ``subject_problems(metric, check)`` for the metric or check a ``[[thresholds]]`` names."""
    problems = Problems()
    root = TableReader(problems, data, "")
    agent = _read_agent(problems, root)
    databases = [read_database(problems, t) for t in root.array_of_tables("databases")]
    appservers = [_read_appserver(problems, t) for t in root.array_of_tables("appservers")]
    probes = [_read_probe(problems, t) for t in root.array_of_tables("probes")]
    thresholds = [_read_threshold(problems, t, i, builtin_rules, subject_problems)
                  for i, t in enumerate(root.array_of_tables("thresholds"))]
    records = _read_records(problems, root)
    sinks = [_read_sink(problems, t, i) for i, t in enumerate(root.array_of_tables("sinks"))]
    diagnostics = _read_diagnostics(problems, root, option_problems)
    root.done()
    check_unique(problems, "databases", [d.name for d in databases])
    check_unique(problems, "appservers", [a.name for a in appservers])
    check_unique(problems, "probes", [p.name for p in probes])
    check_unique(problems, "thresholds", [t.name for t in thresholds])
    check_unique(problems, "sinks", [s.name for s in sinks])
    if problems:
        raise ConfigError(path, list(problems))
    return Config(
        path=path,
        agent=agent,
        databases=tuple(databases),
        appservers=tuple(appservers),
        probes=tuple(probes),
        thresholds=tuple(thresholds),
        records=records,
        sinks=tuple(sinks),
        diagnostics=diagnostics,
    )


#: deepest nesting of tables and arrays a config may have (the real schema needs 4)
MAX_NESTING = 16


def _depth(value: Any, level: int = 0) -> int:
    """How deep ``value`` nests (stops counting just past MAX_NESTING)."""
    if level > MAX_NESTING:
        return level
    if isinstance(value, dict):
        return max((_depth(item, level + 1) for item in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(item, level + 1) for item in value), default=level)
    return level


def load_config(path: str | None = None, **extensions: Any) -> Config:
    """Read ``path`` (default /etc/l4agent/l4agent.toml). No file at the default path: defaults.

    A path given explicitly must exist. ``extensions`` go to :func:`parse_config`.
    """
    explicit = path is not None
    path = path or DEFAULT_CONFIG_PATH
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(path, [("(file)", "no such file")]) from None
        return Config()
    except OSError as exc:
        raise ConfigError(path, [("(file)", f"cannot read: {exc.strerror}")]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [("(file)", f"not UTF-8 text (byte {exc.start})")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [("(toml)", str(exc))]) from None
    except RecursionError:
        raise ConfigError(path, [("(toml)", "arrays or tables nested too deeply")]) from None
    if _depth(data) > MAX_NESTING:
        raise ConfigError(path, [("(toml)", f"arrays or tables nested more than {MAX_NESTING} deep")])
    config = parse_config(data, path, **extensions)
    _refuse_world_readable_secrets(path, raw.decode("utf-8"), config)
    return config


def _refuse_world_readable_secrets(path: str, text: str, config: Config) -> None:
    """A config file that others may read must not hold anything secret: basic-auth hashes (they
    can be cracked offline) or credentials in a URL or key=value pair."""
    from l4agent.core.redact import redact

    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    if not mode & stat.S_IROTH:
        return
    secrets = []
    if config.agent.web.basic_auth_users:
        secrets.append("agent.web.basic_auth_users")
    if redact(text) != text:
        secrets.append("a password or token")
    if secrets:
        raise ConfigError(path, [("(file)", f"is readable by others (mode {mode:04o}) and holds {' and '.join(secrets)}; "
                                            f"chmod 0640 (owner root, group l4agent) or move the secret out")])
