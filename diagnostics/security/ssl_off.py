"""security.ssl_off (PostgreSQL, MariaDB/MySQL): the server cannot encrypt client connections.

With TLS off, passwords (md5/native handshakes can be replayed or cracked) and every query
result cross the network in clear text. Warning; the finding names the server setting to turn
on. Whether clients then must use it is pg_hba.conf's ``hostssl`` (PostgreSQL) or
``require_secure_transport`` (MariaDB), shown in the evidence where the server reports it.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.connection import DatabaseError
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.security.securitykit import truthy

POSTGRESQL_SSL = "SELECT current_setting('ssl') AS ssl"

# have_ssl: YES, DISABLED (built with TLS, no certificate configured) or NO (built without).
# require_secure_transport exists from MariaDB 10.5.2 / MySQL 5.7.8 on.
MYSQL_SSL = "SELECT @@GLOBAL.have_ssl AS have_ssl"
MYSQL_REQUIRE_SECURE = "SELECT @@GLOBAL.require_secure_transport AS require_secure_transport"

POSTGRESQL_FIX = ("set `ssl = on` with `ssl_cert_file` and `ssl_key_file` in postgresql.conf (or "
                  "`ALTER SYSTEM SET ssl = on;` once the files are in place), `SELECT pg_reload_conf();`, "
                  "then use hostssl lines in pg_hba.conf for remote clients")
MYSQL_FIX = ("set `ssl_cert`, `ssl_key` (and `ssl_ca`) in the [mariadb] (or [mysqld]) section of the server "
             "config and restart; then `require_secure_transport = ON` once every client uses TLS")


class SslOff(Check):
    id = "security.ssl_off"
    engines = frozenset({"postgresql", "mysql"})
    title = "the server does not offer TLS to clients"
    queries = {
        "postgresql": {"ssl": POSTGRESQL_SSL},
        "mysql": {"ssl": MYSQL_SSL, "require_secure_transport": MYSQL_REQUIRE_SECURE},
    }

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        if ctx.engine == "postgresql":
            value = ctx.query(self, "ssl")[0]["ssl"]
            if not truthy(value):
                yield self.finding(ctx, "warning", "ssl", "ssl is off: connections cannot be encrypted",
                                   POSTGRESQL_FIX, ssl=value)
            return
        have_ssl = ctx.query(self, "ssl")[0]["have_ssl"]
        if str(have_ssl).upper() == "YES":
            return
        evidence = {"have_ssl": have_ssl}
        try:
            evidence["require_secure_transport"] = truthy(ctx.query(self, "require_secure_transport")[0]
                                                          ["require_secure_transport"])
        except DatabaseError:
            pass  # older servers lack the variable; it is evidence only
        built_without = str(have_ssl).upper() == "NO"
        yield self.finding(
            ctx, "warning", "have_ssl",
            "the server was built without TLS" if built_without else "TLS is disabled: no certificate configured",
            ("install a server package built with TLS, then " if built_without else "") + MYSQL_FIX, **evidence)
