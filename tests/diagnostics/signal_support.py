"""Helpers of the issue-19 check tests: coverage of a run, and revoking a grant for one test."""

from __future__ import annotations

import contextlib

from l4agent.diagnostics.runner import DiagnoseResult


def not_examined(result: DiagnoseResult) -> list[tuple[str | None, str, str]]:
    """(catalog, what, why) of every not-examined item of the run."""
    return [(c.catalog, item["what"], item["why"]) for c in result.coverage for item in c.not_examined]


def examined(result: DiagnoseResult) -> dict[tuple[str | None, str], int]:
    return {(c.catalog, kind): count for c in result.coverage for kind, count in c.examined.items()}


@contextlib.contextmanager
def mariadb_grant(server, privileges: str):
    """Give the MariaDB monitor account ``privileges`` ON *.* for the block, then take them back."""
    accounts = [f"'{server.monitor_user}'@'{host}'" for host in ("127.0.0.1", "localhost")]
    server.execute_admin([f"GRANT {privileges} ON *.* TO {a}" for a in accounts])
    try:
        yield
    finally:
        server.execute_admin([f"REVOKE {privileges} ON *.* FROM {a}" for a in accounts])


@contextlib.contextmanager
def mariadb_revoked(server, privileges: str):
    """Take ``privileges`` ON *.* from the MariaDB monitor account for the block, then give them back."""
    accounts = [f"'{server.monitor_user}'@'{host}'" for host in ("127.0.0.1", "localhost")]
    server.execute_admin([f"REVOKE {privileges} ON *.* FROM {a}" for a in accounts])
    try:
        yield
    finally:
        server.execute_admin([f"GRANT {privileges} ON *.* TO {a}" for a in accounts])
