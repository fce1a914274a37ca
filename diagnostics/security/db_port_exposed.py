"""security.db_port_exposed (host): a database port listening on a non-loopback address that
nobody declared as expected.

Ports watched: ``database_ports`` (1433, 3306, 5432 by default) and the port of every
configured target. Listeners come from /proc/net/tcp and /proc/net/tcp6 (no root needed).
A listener on 0.0.0.0, :: or a host address that is not in ``expected_exposed`` ("0.0.0.0:5432",
"[::]:5432", "*:5432" for any address): warning. Loopback listeners are fine.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from l4agent.collectors.network import listening_sockets
from l4agent.dbaccess.connection import dsn_value
from l4agent.diagnostics.base import HOST, Check, CheckContext, Finding
from l4agent.diagnostics.security.securitykit import is_loopback

PROC_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
DEFAULT_PORTS = {1433: "mssql", 5432: "postgresql", 3306: "mysql"}

FIXES = {
    "postgresql": "`listen_addresses = 'localhost'` in postgresql.conf (restart)",
    "mysql": "`bind-address = 127.0.0.1` in the [mariadb] (or [mysqld]) section of the server config (restart)",
    "mssql": ("disable TCP/IP on the external addresses in SQL Server Configuration Manager (on Linux: "
              "`mssql-conf set network.ipaddress 127.0.0.1`, restart)"),
}


def target_port(engine: str, dsn: str) -> int | None:
    """The TCP port a target's DSN names: PORT=, or SQL Server's SERVER=host,port."""
    port = dsn_value(dsn, "PORT")
    if port is None and engine == "mssql":
        match = re.search(r",\s*(\d+)\s*$", dsn_value(dsn, "SERVER") or "")
        port = match.group(1) if match else None
    return int(port) if port and port.isdigit() else None


def parse_endpoint(text: str) -> tuple[str, int]:
    """``"0.0.0.0:5432"``, ``"[::]:5432"``, ``"*:5432"`` -> (address or "*", port)."""
    match = re.fullmatch(r"\s*(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)):(\d{1,5})\s*", text)
    if not match:
        raise ValueError(f"expected_exposed: {text[:60]!r} is not ADDRESS:PORT (e.g. \"0.0.0.0:5432\", \"*:5432\")")
    address = match.group(1) or match.group(2)
    return (address if address == "*" else str(ipaddress.ip_address(address))), int(match.group(3))


def read_listeners(paths=PROC_TABLES) -> list[tuple[str, int]]:
    listeners: list[tuple[str, int]] = []
    for path in paths:
        try:
            with open(path, encoding="ascii") as handle:
                listeners.extend(listening_sockets(handle.read()))
        except FileNotFoundError:
            continue  # no IPv6 on this host
    return listeners


class DbPortExposed(Check):
    id = "security.db_port_exposed"
    engines = frozenset({HOST})
    title = "a database port listening on a non-loopback address without an expectation"
    defaults = {"database_ports": [1433, 3306, 5432], "expected_exposed": []}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        expected = {parse_endpoint(text) for text in ctx.options["expected_exposed"]}
        engines = {int(port): DEFAULT_PORTS.get(int(port)) for port in ctx.options["database_ports"]}
        targets: dict[int, list[str]] = {}
        for db in ctx.config.databases:
            port = target_port(db.engine, db.dsn)
            if port is not None:
                engines[port] = db.engine
                targets.setdefault(port, []).append(db.name)
        seen = set()
        for address, port in read_listeners():
            if port not in engines or is_loopback(address) or (address, port) in seen:
                continue
            seen.add((address, port))
            if (address, port) in expected or ("*", port) in expected:
                continue
            endpoint = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
            engine = engines[port]
            everywhere = ipaddress.ip_address(address).is_unspecified  # 0.0.0.0 or ::
            what = f"{engine} port" if engine else "database port"
            bind_fix = FIXES.get(engine, "bind the server to 127.0.0.1")
            yield self.finding(
                ctx, "warning", endpoint,
                f"{what} {port} listens on {'every address' if everywhere else address}"
                + (f" (target {', '.join(targets[port])})" if port in targets else ""),
                f"if only this host uses it: {bind_fix}; if other hosts must reach it: allow only them in the "
                f"firewall and add \"{endpoint}\" to expected_exposed under [diagnostics.security]",
                address=address, port=port, engine=engine, targets=targets.get(port, []))
