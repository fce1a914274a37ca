"""security.password_encryption (PostgreSQL): passwords are hashed with md5 instead of
scram-sha-256.

``password_encryption = md5`` (or ``on`` before PostgreSQL 14): warning; every password set
from now on is stored as md5(password || role name), a fast hash that logs in by itself where
pg_hba.conf says md5. Login roles whose stored password is md5: warning each, but only when the
monitoring role may read pg_authid (superuser-only by default; the check does not ask for it).
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.engines import quote_postgresql
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.security.securitykit import truthy

SETTING = """
SELECT current_setting('password_encryption') AS password_encryption,
       has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS can_read_pg_authid
"""

MD5_ROLES = """
SELECT a.rolname
FROM pg_catalog.pg_authid AS a
WHERE a.rolcanlogin AND a.rolpassword LIKE 'md5%'
ORDER BY a.rolname
"""


class PasswordEncryption(Check):
    id = "security.password_encryption"
    engines = frozenset({"postgresql"})
    title = "md5 password hashing instead of scram-sha-256"
    queries = {"postgresql": {"setting": SETTING, "md5_roles": MD5_ROLES}}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        setting = ctx.query(self, "setting")[0]
        method = setting["password_encryption"]
        if method.lower() in ("md5", "on"):
            yield self.finding(
                ctx, "warning", "password_encryption",
                "password_encryption is md5: new passwords are stored as md5 hashes",
                "`ALTER SYSTEM SET password_encryption = 'scram-sha-256'; SELECT pg_reload_conf();` "
                "then set every password again and use scram-sha-256 in pg_hba.conf",
                password_encryption=method)
        if not truthy(setting["can_read_pg_authid"]):
            return
        for row in ctx.query(self, "md5_roles"):
            name = row["rolname"]
            yield self.finding(
                ctx, "warning", name, f"role {name} has an md5-hashed password",
                f"with password_encryption = 'scram-sha-256', set it again: `\\password {quote_postgresql(name)}` "
                f"in psql (or `ALTER ROLE {quote_postgresql(name)} PASSWORD '...';` from a client that hashes it)",
                password_encryption=method)
