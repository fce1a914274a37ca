"""The account list of a MariaDB or MySQL server, read once per check by
security.anonymous_user, security.root_remote and security.empty_password.

MariaDB 10.4+ keeps accounts in ``mysql.global_priv`` (one JSON document per account, with
alternative methods in ``auth_or``); MySQL 5.7+ in ``mysql.user``. The monitoring login needs
``GRANT SELECT ON mysql.global_priv`` (MariaDB) or ``GRANT SELECT ON mysql.user`` (MySQL).

The documents hold password hashes: they are reduced here to (plugin, has a password string)
pairs and go no further.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from l4agent.diagnostics.security.securitykit import is_loopback, query_with_grant_hint, truthy

SERVER_VERSION = "SELECT VERSION() AS version, @@hostname AS server_hostname"

MARIADB_ACCOUNTS = """
SELECT gp.User AS user_name, gp.Host AS host_name, gp.Priv AS priv
FROM mysql.global_priv AS gp
ORDER BY gp.User, gp.Host
"""

MYSQL_ACCOUNTS = """
SELECT u.User AS user_name, u.Host AS host_name, u.plugin, u.authentication_string = '' AS empty_password,
       u.account_locked
FROM mysql.user AS u
ORDER BY u.User, u.Host
"""

#: the statements, for the queries mapping of each check that reads accounts
QUERIES = {"mysql": {"server_version": SERVER_VERSION, "mariadb_accounts": MARIADB_ACCOUNTS,
                     "mysql_accounts": MYSQL_ACCOUNTS}}
MAX_ACCOUNTS = 5000

# Plugins that authenticate with a password stored in authentication_string: an empty string
# there is an empty password. unix_socket, gssapi, pam... store no password and are not judged.
PASSWORD_PLUGINS = frozenset({"", "mysql_native_password", "mysql_old_password", "ed25519", "parsec",
                              "caching_sha2_password", "sha256_password"})
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class Account:
    user: str
    host: str
    #: the ways to log in: (plugin, True when its password string is empty)
    methods: tuple[tuple[str, bool], ...]
    locked: bool = False
    is_role: bool = False

    @property
    def name(self) -> str:
        """``'user'@'host'`` as CREATE/DROP USER spell it."""
        return f"{sql_string(self.user)}@{sql_string(self.host)}"

    @property
    def empty_password_plugins(self) -> list[str]:
        """Password-based methods of this account that accept an empty password."""
        return [plugin or "mysql_native_password" for plugin, empty in self.methods
                if empty and plugin in PASSWORD_PLUGINS]

    def local_only(self, server_hostname: str | None = None) -> bool:
        """True when the account only matches connections from the database server itself."""
        host = self.host.lower()
        return host in LOCAL_HOSTS or is_loopback(host) or (bool(server_hostname) and host == server_hostname.lower())


def by_user(accounts: list[Account]) -> dict[str, list[Account]]:
    """Accounts grouped by user name, in first-seen order: the accounts of one user (root@%,
    root@10.0.0.%, ...) are one problem, one finding whose object is the user (``'root'``)."""
    users: dict[str, list[Account]] = {}
    for account in accounts:
        users.setdefault(account.user, []).append(account)
    return users


def hosts_list(accounts: list[Account]) -> str:
    """``'%', 'localhost'`` for a summary."""
    return ", ".join(sql_string(a.host) for a in accounts)


def sql_string(text: str) -> str:
    """A MariaDB string literal: quotes and backslashes escaped."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _mariadb_account(row: dict) -> Account:
    priv = json.loads(row["priv"] or "{}")
    first = (priv.get("plugin", ""), priv.get("authentication_string", "") == "")
    # auth_or lists the alternatives; an empty {} entry stands for the top-level plugin.
    alternatives = priv.get("auth_or") or [{}]
    methods = tuple(first if not alt else (alt.get("plugin", ""), alt.get("authentication_string", "") == "")
                    for alt in alternatives)
    return Account(row["user_name"], row["host_name"], methods, locked=bool(priv.get("account_locked")),
                   is_role=bool(priv.get("is_role")))


def _mysql_account(row: dict) -> Account:
    return Account(row["user_name"], row["host_name"], ((row["plugin"] or "", truthy(row["empty_password"])),),
                   locked=truthy(row["account_locked"]))


def read_accounts(ctx, check) -> tuple[list[Account], str | None]:
    """Every account of the server, and the server's own host name."""
    server = ctx.query(check, "server_version")[0]
    if "mariadb" in str(server["version"]).lower():
        rows = query_with_grant_hint(ctx, check, "mariadb_accounts", "GRANT SELECT ON mysql.global_priv TO <monitor>;",
                                     max_rows=MAX_ACCOUNTS)
        accounts = [_mariadb_account(row) for row in rows]
    else:
        rows = query_with_grant_hint(ctx, check, "mysql_accounts", "GRANT SELECT ON mysql.user TO <monitor>;",
                                     max_rows=MAX_ACCOUNTS)
        accounts = [_mysql_account(row) for row in rows]
    return [a for a in accounts if not a.is_role], server["server_hostname"]
