"""Small helpers the security checks share: reading driver values, matching allowed lists,
loopback addresses, and turning a permission error into the grant that fixes it."""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Iterable
from typing import Any

from l4agent.dbaccess.connection import DatabaseError
from l4agent.diagnostics.checkkit import truthy  # a flag from any driver (psqlODBC sends '1'/'0')

__all__ = ["is_loopback", "matches_any", "query_with_grant_hint", "truthy"]


def matches_any(name: str, patterns: Iterable[str]) -> bool:
    """True when ``name`` matches one of the shell-style ``patterns``, case-insensitively
    (``"NT SERVICE\\*"`` matches every service SID login)."""
    lowered = name.lower()
    # fnmatchcase on lowered text: fnmatch's own case rule depends on the OS.
    return any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in patterns)


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for anything else, names included."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return address.strip().lower() == "localhost"
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def query_with_grant_hint(ctx, check, name: str, grant: str, **kwargs: Any) -> list[dict[str, Any]]:
    """``ctx.query(check, name)``; a permission error names the grant the monitor login lacks."""
    try:
        return ctx.query(check, name, **kwargs)
    except DatabaseError as exc:
        if exc.kind == "permission":
            raise DatabaseError(f"{exc}; the monitoring login needs: {grant}", "permission") from None
        raise
