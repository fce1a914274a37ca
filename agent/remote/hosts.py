"""Which hosts to reach and how: ``[user@]host[:port]`` on the command line, or a TOML inventory.

An inventory lists hosts with their SSH settings and, optionally, the database targets to
diagnose through an SSH port-forward when l4agent is not installed there::

    [defaults]                      # optional: for every host below
    user = "l4"
    identity = "~/.ssh/l4_ed25519"
    jump = "l4@bastion.customer.example"

    [[hosts]]
    name = "erp-db1"                # label in the output (default: the address)
    host = "db1.customer.example"   # [user@]host[:port]
    port = 22                       # optional, also user/identity/jump/config per host

    [[hosts.databases]]             # same keys as [[databases]] in l4agent.toml; SERVER/PORT
    name = "erp"                    # in the dsn as seen from the host
    engine = "postgresql"
    dsn = "DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=5432;DATABASE=erp;UID=l4monitor"
    password_env = "ERP_DB1_PASSWORD"

Precedence: a host's own keys, then the command line (``-i``, ``--jump``), then ``[defaults]``.
Errors use the config file's form: ``config error: FILE: KEY: message`` (exit 2).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass

from l4agent.core.config import (
    ConfigError,
    DatabaseConfig,
    Problems,
    TableReader,
    check_unique,
    read_database,
)

DEFAULT_SSH_PORT = 22
# A host name or an IPv4/IPv6 literal: no whitespace, no control characters, no leading '-'.
_HOST = re.compile(r"^[A-Za-z0-9_.%:-]{1,253}$")
_USER = re.compile(r"^[^\s@:/\\'\"`$;&|<>()\x00-\x1f\x7f-][^\s:/'\"`$;&|<>()\x00-\x1f\x7f]{0,63}$")


@dataclass(frozen=True)
class Address:
    """Where an SSH server listens, and as whom to log in (None: the local user name)."""

    host: str
    port: int = DEFAULT_SSH_PORT
    user: str | None = None

    @property
    def known_hosts_name(self) -> str:
        """The host's name in known_hosts: ``host``, or ``[host]:port`` off port 22 (OpenSSH's rule)."""
        return self.host if self.port == DEFAULT_SSH_PORT else f"[{self.host}]:{self.port}"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port != DEFAULT_SSH_PORT else ""
        return f"{user}{host}{port}"


def parse_address(text: str, default_port: int = DEFAULT_SSH_PORT) -> Address:
    """``[user@]host[:port]`` (IPv6 as ``[::1]:22``) -> Address; ValueError says what is wrong."""
    shown = repr(text[:80])
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty host: expected [user@]host[:port]")
    text = text.strip()
    user, _, hostport = text.rpartition("@")
    if user and not _USER.match(user):
        raise ValueError(f"{shown}: invalid user name {user[:40]!r}")
    if hostport.startswith("["):
        match = re.match(r"^\[([0-9A-Fa-f:.%A-Za-z]+)\](?::(\d{1,5}))?$", hostport)
        if not match:
            raise ValueError(f"{shown}: expected [user@][ipv6]:port")
        host, port_text = match.group(1), match.group(2)
    elif hostport.count(":") == 1:
        host, port_text = hostport.split(":")
    else:  # no port, or a bare IPv6 literal
        host, port_text = hostport, None
    if not host or not _HOST.match(host) or host.startswith("-"):
        raise ValueError(f"{shown}: invalid host name {host[:60]!r}")
    port = default_port
    if port_text is not None:
        if not re.fullmatch(r"[0-9]{1,5}", port_text) or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"{shown}: port must be a number from 1 to 65535")
        port = int(port_text)
    return Address(host=host, port=port, user=user or None)


@dataclass(frozen=True)
class HostSpec:
    """One host to run on. ``name`` labels it in the output and the JSON ``host`` field;
    ``config`` is the l4agent config file on the host (agent mode; None: the host's default);
    ``databases`` are diagnosed through a port-forward in agentless mode."""

    name: str
    address: Address
    identity: str | None = None
    jump: Address | None = None
    config: str | None = None
    databases: tuple[DatabaseConfig, ...] = ()
    #: the host's own status page (``serve`` there), linked from its work records
    status_url: str | None = None


def host_from_argument(text: str, identity: str | None = None, jump: Address | None = None) -> HostSpec:
    """A HOST given on the command line (ValueError when it is not ``[user@]host[:port]``)."""
    address = parse_address(text)
    return HostSpec(name=str(address), address=address, identity=identity, jump=jump)


def load_inventory(path: str, identity: str | None = None, jump: Address | None = None) -> list[HostSpec]:
    """Read an inventory file; ``identity``/``jump`` come from the command line and override
    ``[defaults]`` but not a host's own keys. Raises ConfigError listing every problem."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, [("(file)", "no such file")]) from None
    except OSError as exc:
        raise ConfigError(path, [("(file)", f"cannot read: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [("(file)", f"not UTF-8 text (byte {exc.start})")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [("(toml)", str(exc))]) from None
    base_dir = os.path.dirname(os.path.abspath(path))
    problems = Problems()
    root = TableReader(problems, data, "")
    defaults = _read_defaults(problems, root.table("defaults"), base_dir)
    entries = [_read_host(problems, t, defaults, identity, jump, base_dir) for t in root.array_of_tables("hosts")]
    root.done()
    if not entries and not problems:
        problems.add("hosts", "no [[hosts]] entries")
    check_unique(problems, "hosts", [name for name, _ in entries])
    hosts = [host for _, host in entries]
    if problems:
        raise ConfigError(path, list(problems))
    return [h for h in hosts if h is not None]


@dataclass(frozen=True)
class _Defaults:
    user: str | None = None
    port: int = DEFAULT_SSH_PORT
    identity: str | None = None
    jump: Address | None = None
    config: str | None = None


def _read_defaults(problems: Problems, t: TableReader, base_dir: str) -> _Defaults:
    defaults = _Defaults(
        user=_user(problems, t),
        port=t.int("port", DEFAULT_SSH_PORT, minimum=1, maximum=65535),
        identity=_path(t.str("identity"), base_dir),
        jump=_jump(problems, t),
        config=t.str("config"),
    )
    t.done()
    return defaults


def _read_host(problems: Problems, t: TableReader, defaults: _Defaults, cli_identity: str | None,
               cli_jump: Address | None, base_dir: str) -> tuple[str | None, HostSpec | None]:
    """(the entry's name for the uniqueness check, the host or None when it has errors)."""
    host_text = t.str("host", required=True)
    user = _user(problems, t)
    port = t.int("port", None, minimum=1, maximum=65535)
    identity = _path(t.str("identity"), base_dir)
    has_jump = "jump" in t.data
    jump = _jump(problems, t)
    config = t.str("config")
    status_url = t.str("status_url")
    if status_url and not status_url.startswith(("http://", "https://")):
        problems.add(t.key("status_url"), "must be an http:// or https:// URL")
    name = t.name("name", required=False)
    databases = [read_database(problems, db) for db in t.array_of_tables("databases")]
    check_unique(problems, t.key("databases"), [d.name for d in databases])
    t.done()
    if host_text is None:
        return name, None
    try:
        parsed = parse_address(host_text, default_port=0)  # 0: no port in the text
    except ValueError as exc:
        problems.add(t.key("host"), str(exc))
        return name or host_text, None
    if parsed.user and user and parsed.user != user:
        problems.add(t.key("user"), f"differs from the user in host ({parsed.user!r}); give one")
    if parsed.port and port and parsed.port != port:
        problems.add(t.key("port"), f"differs from the port in host ({parsed.port}); give one")
    address = Address(parsed.host, parsed.port or port or defaults.port, parsed.user or user or defaults.user)
    name = name or str(address)
    return name, HostSpec(
        name=name,
        address=address,
        identity=identity or cli_identity or defaults.identity,
        jump=jump if has_jump else (cli_jump or defaults.jump),
        config=config or defaults.config,
        databases=tuple(databases),
        status_url=status_url,
    )


def _user(problems: Problems, t: TableReader) -> str | None:
    user = t.str("user")
    if user is not None and not _USER.match(user):
        problems.add(t.key("user"), f"invalid user name {user[:40]!r}")
        return None
    return user


def _jump(problems: Problems, t: TableReader) -> Address | None:
    """``jump = "[user@]host[:port]"``; ``jump = ""`` on a host means: no jump host."""
    text = t.str("jump")
    if not text:
        return None
    try:
        return parse_address(text)
    except ValueError as exc:
        problems.add(t.key("jump"), str(exc))
        return None


def _path(value: str | None, base_dir: str) -> str | None:
    """``~`` expanded; a relative path is relative to the inventory file."""
    if not value:
        return None
    value = os.path.expanduser(value)
    return value if os.path.isabs(value) else os.path.join(base_dir, value)
