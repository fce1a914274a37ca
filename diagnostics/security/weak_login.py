"""security.weak_login (SQL Server): SQL logins whose password is blank or equal to the login
name (``PWDCOMPARE``), and SQL logins that skip the Windows password policy or expiration.

A guessable password on an enabled login: critical (info when the login is disabled).
CHECK_POLICY off: warning (no complexity rules, no lockout after failed logins).
CHECK_EXPIRATION off alone: info (common and sometimes deliberate for service logins).
One finding per login, listing everything wrong with it.

PWDCOMPARE needs to read ``password_hash``, which only CONTROL SERVER (sysadmin) can; for a
least-privilege monitoring login the hashes are NULL and the guessable-password test is
reported as not done (one info finding), the policy test still runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.engines import quote_mssql
from l4agent.diagnostics.base import SEVERITY_RANK, Check, CheckContext, Finding
from l4agent.diagnostics.security.securitykit import truthy

# '##MS_...##' logins are certificate-mapped internal logins; nobody logs in with a password.
SQL_LOGINS = """
SELECT sl.name, sl.is_disabled, sl.is_policy_checked, sl.is_expiration_checked,
       CAST(CASE WHEN sl.password_hash IS NULL THEN 1 ELSE 0 END AS bit) AS password_hash_hidden,
       CAST(PWDCOMPARE(N'', sl.password_hash) AS bit) AS blank_password,
       CAST(PWDCOMPARE(sl.name, sl.password_hash) AS bit) AS name_as_password
FROM sys.sql_logins AS sl
WHERE sl.name NOT LIKE N'##%##'
ORDER BY sl.name
"""


class WeakLogin(Check):
    id = "security.weak_login"
    engines = frozenset({"mssql"})
    title = "SQL logins with a blank or login-name password, or without password policy/expiration"
    queries = {"mssql": {"sql_logins": SQL_LOGINS}}
    max_rows = 2000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        hidden = []
        for row in ctx.query(self, "sql_logins"):
            name = row["name"]
            if truthy(row["password_hash_hidden"]):
                hidden.append(name)
            finding = self._login_finding(ctx, row)
            if finding is not None:
                yield finding
        if hidden:
            yield self.finding(
                ctx, "info", "sys.sql_logins",
                f"blank and login-name passwords were not tested: {len(hidden)} password hash(es) "
                "are not visible to the monitoring login",
                "run this check once as a sysadmin login (PWDCOMPARE needs CONTROL SERVER to read "
                "password_hash), or accept the gap", logins=hidden)

    def _login_finding(self, ctx: CheckContext, row: dict) -> Finding | None:
        name, login = row["name"], quote_mssql(row["name"])
        disabled = truthy(row["is_disabled"])
        problems: list[tuple[str, str, str]] = []  # (severity, problem, fix)
        for column, what in (("blank_password", "a blank password"), ("name_as_password", "its name as password")):
            if truthy(row[column]):
                problems.append(("info" if disabled else "critical", f"has {what}",
                                 f"`ALTER LOGIN {login} WITH PASSWORD = N'<new strong password>';`"))
        if not disabled and not truthy(row["is_policy_checked"]):
            problems.append(("warning", "has CHECK_POLICY off",
                             f"`ALTER LOGIN {login} WITH CHECK_POLICY = ON;`"))
        if not disabled and not truthy(row["is_expiration_checked"]):
            problems.append(("info", "has CHECK_EXPIRATION off",
                             f"`ALTER LOGIN {login} WITH CHECK_EXPIRATION = ON;` (needs CHECK_POLICY = ON)"))
        if not problems:
            return None
        severity = max((p[0] for p in problems), key=SEVERITY_RANK.__getitem__)
        fixes = list(dict.fromkeys(p[2] for p in problems))  # one password change covers both
        state = "disabled " if disabled else ""
        return self.finding(
            ctx, severity, name, f"{state}SQL login {name} " + " and ".join(p[1] for p in problems),
            "; ".join(fixes),
            is_disabled=disabled, is_policy_checked=truthy(row["is_policy_checked"]),
            is_expiration_checked=truthy(row["is_expiration_checked"]),
            blank_password=truthy(row["blank_password"]), name_as_password=truthy(row["name_as_password"]))
