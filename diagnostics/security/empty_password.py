"""security.empty_password (MariaDB/MySQL): accounts that log in with an empty password.

An account whose password-based method (mysql_native_password, ed25519, caching_sha2_password,
...) has an empty authentication string: critical. Not flagged: accounts that authenticate
without a password (unix_socket, gssapi, pam: Debian's root@localhost and mysql@localhost, whose
native alternative holds the unusable string 'invalid'), locked accounts (mariadb.sys), roles,
and anonymous accounts (security.anonymous_user reports those). One finding per user (object
``'root'``), its hosts in evidence: four root accounts with no password are one critical.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.security.mysql_accounts import (
    QUERIES,
    by_user,
    hosts_list,
    read_accounts,
    sql_string,
)


class EmptyPassword(Check):
    id = "security.empty_password"
    engines = frozenset({"mysql"})
    title = "accounts with an empty password"
    queries = QUERIES

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        accounts, _ = read_accounts(ctx, self)
        flagged = [a for a in accounts if a.user and not a.locked and a.empty_password_plugins]
        # One finding per user: its accounts (one per host) share the cause and the fix.
        for user, group in by_user(flagged).items():
            plugins = sorted({p for a in group for p in a.empty_password_plugins})
            fixes = [f"`ALTER USER {a.name} IDENTIFIED BY '<new strong password>';`" for a in group]
            drops = [f"`DROP USER {a.name};`" for a in group]
            if len(group) == 1:
                summary = f"{group[0].name} logs in with an empty password ({', '.join(plugins)})"
            else:
                summary = (f"{sql_string(user)} logs in with an empty password from {len(group)} hosts: "
                           f"{hosts_list(group)} ({', '.join(plugins)})")
            yield self.finding(
                ctx, "critical", sql_string(user), summary,
                f"{' '.join(fixes)} or, if it is unused, {' '.join(drops)}",
                hosts=[a.host for a in group], accounts=[a.name for a in group], plugins=plugins)
