"""security.anonymous_user (MariaDB/MySQL): accounts with an empty user name.

Anyone can log in as them without knowing a user name, and ``''@'localhost'`` also shadows
named accounts from that host (``'app'@'%'`` then fails from localhost). Any host beyond the
server: critical; local only: warning; locked: info. One finding for all anonymous accounts
(object ``''``, the worst one's severity), every host in evidence.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import SEVERITY_RANK, Check, CheckContext, Finding
from l4agent.diagnostics.security.mysql_accounts import QUERIES, read_accounts, sql_string


class AnonymousUser(Check):
    id = "security.anonymous_user"
    engines = frozenset({"mysql"})
    title = "anonymous accounts (empty user name)"
    queries = QUERIES

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        accounts, server_hostname = read_accounts(ctx, self)
        anonymous = []
        for account in accounts:
            if account.user:
                continue
            if account.locked:
                severity = "info"
            else:
                severity = "warning" if account.local_only(server_hostname) else "critical"
            anonymous.append((SEVERITY_RANK[severity], severity, account))
        if not anonymous:
            return
        # One finding for the anonymous user (object ''), every host in it, the worst first.
        anonymous.sort(key=lambda item: (-item[0], item[2].host))
        severity = anonymous[0][1]
        names = [f"{a.name}{' (locked)' if a.locked else ''}" for _, _, a in anonymous]
        if len(names) == 1:
            summary = f"anonymous account {names[0]}: anyone can log in without a user name"
        else:
            summary = f"{len(names)} anonymous accounts {', '.join(names)}: anyone can log in without a user name"
        yield self.finding(
            ctx, severity, sql_string(""), summary,
            " ".join(f"`DROP USER {a.name};`" for _, _, a in anonymous),
            hosts=[a.host for _, _, a in anonymous], accounts=[a.name for _, _, a in anonymous],
            locked=[a.name for _, _, a in anonymous if a.locked])
