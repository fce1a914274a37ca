"""HOST arguments and the TOML inventory (agent/remote/hosts.py)."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from l4agent.agent.remote.hosts import Address, load_inventory, parse_address
from l4agent.core.config import ConfigError


@pytest.mark.parametrize("text, expected", [
    ("db1", Address("db1", 22, None)),
    ("l4@db1", Address("db1", 22, "l4")),
    ("l4@db1:2222", Address("db1", 2222, "l4")),
    ("127.0.0.1:2201", Address("127.0.0.1", 2201, None)),
    ("[::1]:2222", Address("::1", 2222, None)),
    ("admin@[fe80::1%eth0]", Address("fe80::1%eth0", 22, "admin")),
    ("::1", Address("::1", 22, None)),
    ("dom\\user@win1", Address("win1", 22, "dom\\user")),
    ("first.last@corp@db1:22", Address("db1", 22, "first.last@corp")),
])
def test_parse_address(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text, fragment", [
    ("", "empty host"),
    ("db1:0", "port must be"),
    ("db1:70000", "port must be"),
    ("db1:ssh", "port must be"),
    ("-oProxyCommand=x", "invalid host name"),
    ("l4@", "invalid host name"),
    ("a b", "invalid host name"),
    ("l4 x@db1", "invalid user name"),
    ("-l@db1", "invalid user name"),
    ("[::1", "expected [user@][ipv6]:port"),
])
def test_parse_address_rejects(text, fragment):
    with pytest.raises(ValueError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        parse_address(text)


def test_address_round_trips_and_known_hosts_name():
    assert str(Address("db1", 22, "l4")) == "l4@db1"
    assert str(Address("::1", 2222, None)) == "[::1]:2222"
    assert Address("db1", 22).known_hosts_name == "db1"
    assert Address("127.0.0.1", 2201).known_hosts_name == "[127.0.0.1]:2201"


@given(st.text(max_size=80))
def test_parse_address_only_raises_value_error(text):
    try:
        address = parse_address(text)
    except ValueError as exc:
        assert str(exc)
        return
    assert 1 <= address.port <= 65535
    assert address.host and not address.host.startswith("-")
    assert not any(ch.isspace() for ch in address.host)


def _inventory(tmp_path, text: str) -> str:
    path = tmp_path / "fleet.toml"
    path.write_text(textwrap.dedent(text))
    path.chmod(0o600)
    return str(path)


def test_inventory_hosts_defaults_and_databases(tmp_path):
    path = _inventory(tmp_path, """
        [defaults]
        user = "l4"
        identity = "keys/l4_ed25519"
        jump = "ops@bastion:2200"
        config = "/etc/l4agent/erp.toml"

        [[hosts]]
        name = "erp-db1"
        host = "db1.customer.example"
        port = 2222

        [[hosts.databases]]
        name = "erp"
        engine = "postgresql"
        dsn = "DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=5432;DATABASE=erp;UID=l4monitor"
        password_env = "ERP_DB1_PASSWORD"
        databases = ["erp", "erp_archive"]

        [[hosts]]
        host = "root@db2:2201"
        identity = "/keys/other"
        jump = ""
        """)
    first, second = load_inventory(path)
    assert first.name == "erp-db1"
    assert first.address == Address("db1.customer.example", 2222, "l4")
    assert first.identity == str(tmp_path / "keys/l4_ed25519")
    assert first.jump == Address("bastion", 2200, "ops")
    assert first.config == "/etc/l4agent/erp.toml"
    (db,) = first.databases
    assert (db.name, db.engine, db.password_env, db.databases) == ("erp", "postgresql", "ERP_DB1_PASSWORD",
                                                                    ("erp", "erp_archive"))
    assert second.name == "root@db2:2201"
    assert second.address == Address("db2", 2201, "root")
    assert second.identity == "/keys/other"
    assert second.jump is None  # jump = "" switches the default off


def test_command_line_overrides_defaults_not_hosts(tmp_path):
    path = _inventory(tmp_path, """
        [defaults]
        identity = "/keys/default"
        jump = "bastion1"
        [[hosts]]
        host = "a"
        [[hosts]]
        host = "b"
        identity = "/keys/own"
        jump = "bastion2"
        """)
    a, b = load_inventory(path, identity="/keys/cli", jump=parse_address("cli-bastion"))
    assert (a.identity, a.jump.host) == ("/keys/cli", "cli-bastion")
    assert (b.identity, b.jump.host) == ("/keys/own", "bastion2")


def test_inventory_reports_every_problem(tmp_path):
    path = _inventory(tmp_path, """
        [defaults]
        port = 0
        colour = "blue"

        [[hosts]]
        name = "dup"
        host = "db1:22x"

        [[hosts]]
        name = "dup"
        host = "l4@db2:2201"
        user = "other"
        port = 2202

        [[hosts.databases]]
        name = "erp"
        engine = "oracle"
        dsn = "DRIVER=x;PWD=secret"

        [[hosts]]
        jump = "bad host"
        """)
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    text = "\n".join(caught.value.lines)
    for fragment in (
        "defaults.port: 0 is out of range",
        "defaults.colour: unknown key",
        "hosts[0].host: 'db1:22x': port must be",
        "hosts[1].user: differs from the user in host",
        "hosts[1].port: differs from the port in host",
        "hosts[1].databases[0].engine: 'oracle' is not one of",
        "hosts[1].databases[0].dsn: contains a password",
        "hosts[2].host: is required",
        "hosts[2].jump: 'bad host': invalid host name",
        "hosts[1].name: duplicate name 'dup'",
    ):
        assert fragment in text, text
    assert "secret" not in text
    assert all(line.startswith(f"config error: {path}: ") for line in caught.value.lines)


@pytest.mark.parametrize("text, fragment", [
    ("", "hosts: no [[hosts]] entries"),
    ("[[hosts]\n", "(toml)"),
    ("hosts = 3", "expected an array of tables"),
])
def test_inventory_file_level_errors(tmp_path, text, fragment):
    with pytest.raises(ConfigError) as caught:
        load_inventory(_inventory(tmp_path, text))
    assert fragment in "\n".join(caught.value.lines)


def test_missing_inventory(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_inventory(str(tmp_path / "nope.toml"))
