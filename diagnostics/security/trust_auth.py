"""security.trust_auth (PostgreSQL): pg_hba.conf lines that let TCP clients in with ``trust``
(no password at all).

A ``trust`` host line for addresses beyond this machine: critical (anyone who reaches the port
logs in as any role, postgres included). For loopback or ``samehost`` only: info (every local
OS user can log in as any role). ``local`` (unix socket) lines are not judged here.

Reading pg_hba_file_rules is for superusers by default; grant the monitoring role
``SELECT ON pg_hba_file_rules`` and ``EXECUTE ON FUNCTION pg_hba_file_rules()``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.security.securitykit import query_with_grant_hint

TRUST_LINES = """
SELECT r.line_number, r.type, array_to_string(r.database, ',') AS database,
       array_to_string(r.user_name, ',') AS user_name, r.address, r.netmask, r.auth_method,
       r.error, current_setting('hba_file') AS hba_file
FROM pg_catalog.pg_hba_file_rules AS r
WHERE r.auth_method = 'trust' AND r.type <> 'local'
ORDER BY r.line_number
"""

GRANT = ("GRANT SELECT ON pg_catalog.pg_hba_file_rules TO <monitor>; "
         "GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO <monitor>;")

_LOOPBACK_NETS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def address_text(address: str | None, netmask: str | None) -> str:
    """The ADDRESS field as pg_hba.conf spells it: ``0.0.0.0/0``, ``samenet``, ``all``."""
    if not address:
        return "all"
    if not netmask:
        return address
    try:
        # The view gives the mask as an address ("255.255.255.0", "ffff:...:ffff"); count its bits.
        prefix = bin(int(ipaddress.ip_address(netmask))).count("1")
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    except ValueError:
        return f"{address} {netmask}"


def local_only(address: str | None, netmask: str | None) -> bool:
    """True when the line matches connections from this machine only (loopback, samehost)."""
    if address == "samehost":
        return True
    try:
        network = ipaddress.ip_network(address_text(address, netmask), strict=False)
    except ValueError:
        return False  # all, samenet, a host name: reaches beyond this machine
    return any(network.version == net.version and network.subnet_of(net) for net in _LOOPBACK_NETS)


class TrustAuth(Check):
    id = "security.trust_auth"
    engines = frozenset({"postgresql"})
    title = "pg_hba.conf host lines with trust (no password)"
    queries = {"postgresql": {"trust_lines": TRUST_LINES}}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        for row in query_with_grant_hint(ctx, self, "trust_lines", GRANT):
            address = address_text(row["address"], row["netmask"])
            line = f"{row['type']} {row['database']} {row['user_name']} {address}"
            where = f"{row['hba_file']}:{row['line_number']}"
            local = local_only(row["address"], row["netmask"])
            summary = (f"pg_hba.conf line {row['line_number']} lets {'local OS users' if local else 'anyone who reaches the port'} "
                       f"log in without a password: `{line} trust`")
            yield self.finding(
                ctx, "info" if local else "critical", where, summary,
                f"in {row['hba_file']} line {row['line_number']}, change the method to scram-sha-256: "
                f"`{line} scram-sha-256`, then `SELECT pg_reload_conf();`",
                line_number=row["line_number"], type=row["type"], database=row["database"],
                user_name=row["user_name"], address=address, auth_method=row["auth_method"],
                **({"error": row["error"]} if row["error"] else {}))
