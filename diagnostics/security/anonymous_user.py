"""security.anonymous_user (MariaDB/MySQL): accounts with an empty user name.

Anyone can log in as them without knowing a user name, and ``''@'localhost'`` also shadows
named accounts from that host (``'app'@'%'`` then fails from localhost). Any host beyond the
server: critical; local only: warning; locked: info.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.security.mysql_accounts import QUERIES, read_accounts


class AnonymousUser(Check):
    id = "security.anonymous_user"
    engines = frozenset({"mysql"})
    title = "anonymous accounts (empty user name)"
    queries = QUERIES

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        accounts, server_hostname = read_accounts(ctx, self)
        for account in accounts:
            if account.user:
                continue
            if account.locked:
                severity = "info"
            else:
                severity = "warning" if account.local_only(server_hostname) else "critical"
            yield self.finding(
                ctx, severity, account.name,
                f"anonymous account {account.name}{' (locked)' if account.locked else ''}: anyone can log in "
                "without a user name",
                f"`DROP USER {account.name};`", host=account.host, locked=account.locked)
