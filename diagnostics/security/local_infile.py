"""security.local_infile (MariaDB/MySQL): ``local_infile`` is on.

The server then accepts LOAD DATA LOCAL INFILE, which lets a malicious or compromised server
(or a SQL injection in the app) read files from the client machine. Warning.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.security.securitykit import truthy

LOCAL_INFILE = "SELECT @@GLOBAL.local_infile AS local_infile"


class LocalInfile(Check):
    id = "security.local_infile"
    engines = frozenset({"mysql"})
    title = "LOAD DATA LOCAL INFILE allowed (local_infile on)"
    queries = {"mysql": {"local_infile": LOCAL_INFILE}}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        value = ctx.query(self, "local_infile")[0]["local_infile"]
        if truthy(value):
            yield self.finding(
                ctx, "warning", "local_infile", "local_infile is on: LOAD DATA LOCAL INFILE is accepted",
                "`SET GLOBAL local_infile = OFF;` and `local_infile = 0` in the [mariadb] (or [mysqld]) "
                "section of the server config so it stays off after a restart", local_infile=truthy(value))
