"""security.empty_password (MariaDB/MySQL): accounts that log in with an empty password.

An account whose password-based method (mysql_native_password, ed25519, caching_sha2_password,
...) has an empty authentication string: critical. Not flagged: accounts that authenticate
without a password (unix_socket, gssapi, pam: Debian's root@localhost and mysql@localhost, whose
native alternative holds the unusable string 'invalid'), locked accounts (mariadb.sys), roles,
and anonymous accounts (security.anonymous_user reports those).
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.security.mysql_accounts import QUERIES, read_accounts


class EmptyPassword(Check):
    id = "security.empty_password"
    engines = frozenset({"mysql"})
    title = "accounts with an empty password"
    queries = QUERIES

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        accounts, _ = read_accounts(ctx, self)
        for account in accounts:
            plugins = account.empty_password_plugins
            if not account.user or account.locked or not plugins:
                continue
            yield self.finding(
                ctx, "critical", account.name,
                f"{account.name} logs in with an empty password ({', '.join(plugins)})",
                f"`ALTER USER {account.name} IDENTIFIED BY '<new strong password>';` or, if it is unused, "
                f"`DROP USER {account.name};`", host=account.host, plugins=plugins)
