"""security.xp_cmdshell (SQL Server): xp_cmdshell and the other attack-surface options that are
on in ``sys.configurations``.

A configured value that differs from the one in use (RECONFIGURE pending) counts as on when
either is on. Options in ``allowed_surface_options`` (names as sp_configure spells them) are
accepted as deliberate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from l4agent.diagnostics.base import Check, CheckContext, Finding

SURFACE_OPTIONS = """
SELECT c.name, CAST(c.value AS int) AS value, CAST(c.value_in_use AS int) AS value_in_use
FROM sys.configurations AS c
WHERE c.name IN (N'xp_cmdshell', N'Ole Automation Procedures', N'clr enabled', N'clr strict security',
                 N'Ad Hoc Distributed Queries', N'cross db ownership chaining',
                 N'remote admin connections', N'scan for startup procs')
"""


@dataclass(frozen=True)
class Rule:
    severity: str
    why: str


# What each option being on means; "clr enabled" is judged together with "clr strict security".
RULES = {
    "xp_cmdshell": Rule("critical", "any sysadmin (or a SQL injection running as one) gets an "
                                    "operating-system shell as the SQL Server service account"),
    "Ole Automation Procedures": Rule("warning", "T-SQL can instantiate COM objects (file system, "
                                                 "network) in the server process"),
    "Ad Hoc Distributed Queries": Rule("warning", "OPENROWSET/OPENDATASOURCE can reach any OLE DB "
                                                  "source, other servers included"),
    "cross db ownership chaining": Rule("warning", "objects of one database can reach another's without "
                                                   "a permission check"),
    "scan for startup procs": Rule("info", "stored procedures run automatically at every start; check "
                                           "which (sp_procoption)"),
    "remote admin connections": Rule("info", "the dedicated admin connection answers from other hosts "
                                             "(fine on a cluster, otherwise local is enough)"),
}
# sp_configure shows these only with 'show advanced options' on.
ADVANCED = frozenset({"xp_cmdshell", "Ole Automation Procedures", "Ad Hoc Distributed Queries",
                      "scan for startup procs", "clr strict security"})
CLR_RULE = Rule("warning", "CLR assemblies run without strict security: a SAFE assembly can be "
                           "loaded unsigned and escalate")


def _on(row: dict) -> bool:
    return bool(row["value"]) or bool(row["value_in_use"])


class XpCmdshell(Check):
    id = "security.xp_cmdshell"
    engines = frozenset({"mssql"})
    title = "xp_cmdshell and other surface-area options on (sys.configurations)"
    queries = {"mssql": {"surface_options": SURFACE_OPTIONS}}
    defaults = {"allowed_surface_options": []}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = {row["name"]: row for row in ctx.query(self, "surface_options")}
        allowed = {name.lower() for name in ctx.options["allowed_surface_options"]}
        flagged: list[tuple[str, Rule, str]] = []  # (option, rule, the option to switch)
        for name, rule in RULES.items():
            if name in rows and _on(rows[name]):
                flagged.append((name, rule, name))
        strict = rows.get("clr strict security")
        # Before SQL Server 2017 there is no "clr strict security": CLR on is the exposure itself.
        if "clr enabled" in rows and _on(rows["clr enabled"]) and (strict is None or not _on(strict)):
            flagged.append(("clr enabled", CLR_RULE, "clr strict security" if strict is not None else "clr enabled"))
        for name, rule, switch in flagged:
            if name.lower() in allowed:
                continue
            row = rows[name]
            target_value = 1 if switch == "clr strict security" else 0
            advanced = "EXEC sp_configure 'show advanced options', 1; RECONFIGURE; " if switch in ADVANCED else ""
            pending = row["value"] != row["value_in_use"]
            yield self.finding(
                ctx, rule.severity, name,
                f"'{name}' is on" + (" (configured, RECONFIGURE pending)" if pending else "") + f": {rule.why}",
                f"`{advanced}EXEC sp_configure '{switch}', {target_value}; RECONFIGURE;` "
                "(or add it to allowed_surface_options under [diagnostics.security] if it is needed)",
                value=row["value"], value_in_use=row["value_in_use"],
                **({"clr_strict_security": strict["value_in_use"]} if name == "clr enabled" and strict else {}))
