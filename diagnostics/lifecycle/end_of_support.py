"""lifecycle.end_of_support: the running versions against the vendors' published support ends.

Before anything else a bug report's version is checked, and an old one gets a recommendation to
upgrade. This check reads what runs — the host OS (``/etc/os-release``), each database engine's
own version, and for each app server with a ``process``: its JVM (the ``release`` file of the
java executable's home) and Tomcat (``ServerInfo.properties`` in ``catalina.jar`` under the
process's ``catalina.home``) — and grades each against ``support_dates.json`` (dated, every row
with its source): critical past the end, warning within 180 days, info with the date otherwise.
``l4agent_version_support_days_left{component}`` exports the days left (negative past the end).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from l4agent.core.samples import gauge
from l4agent.diagnostics.base import HOST, Check, CheckContext, Finding
from l4agent.diagnostics.lifecycle import versions
from l4agent.diagnostics.lifecycle.versions import Support

SUPPORT_DAYS_LEFT = gauge("l4agent_version_support_days_left",
                          "Days until the running version's vendor support ends (negative past the end), "
                          "by component (os, <engine>:<target>, java:<appserver>, tomcat:<appserver>).")

POSTGRESQL_VERSION = "SELECT current_setting('server_version_num') AS version_num, version() AS version_text"
MYSQL_VERSION = "SELECT VERSION() AS version_text"
MSSQL_VERSION = """
SELECT CONVERT(nvarchar(128), SERVERPROPERTY('ProductVersion')) AS product_version,
       CONVERT(int, SERVERPROPERTY('EngineEdition')) AS engine_edition,
       @@VERSION AS version_text
"""

#: SERVERPROPERTY('EngineEdition'): Azure SQL Database and Managed Instance are versionless (evergreen)
EVERGREEN_EDITIONS = {5: "Azure SQL Database", 8: "Azure SQL Managed Instance"}

NAMES = {"debian": "Debian", "ubuntu": "Ubuntu", "rhel": "Red Hat Enterprise Linux", "rocky": "Rocky Linux",
         "almalinux": "AlmaLinux", "centos": "CentOS", "windows_server": "Windows Server",
         "sqlserver": "SQL Server", "postgresql": "PostgreSQL", "mariadb": "MariaDB", "tomcat": "Apache Tomcat",
         "java": "Java"}


class EndOfSupport(Check):
    id = "lifecycle.end_of_support"
    engines = frozenset({HOST, "mssql", "postgresql", "mysql"})
    title = "host OS, database engine, Tomcat or JVM past (or near) the end of vendor support"
    queries = {
        "postgresql": {"version": POSTGRESQL_VERSION},
        "mysql": {"version": MYSQL_VERSION},
        "mssql": {"version": MSSQL_VERSION},
    }
    defaults = {
        "warning_days": versions.WARN_DAYS,
        "support_table": "",  # a table of your own (same shape as support_dates.json); empty: the shipped one
    }

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        if ctx.engine == HOST:
            yield from self._host(ctx)
        else:
            yield from self._database(ctx)

    # -- host: OS and app servers ---------------------------------------------------------------

    def _host(self, ctx: CheckContext) -> Iterator[Finding]:
        found = versions.read_os_release()
        if found is None:
            ctx.not_examined(self.id, "the host OS (no /etc/os-release with a known ID and VERSION_ID)")
        else:
            yield self._grade(ctx, "os", *found, where="/etc/os-release")
        for app in ctx.config.appservers:
            yield from self._appserver(ctx, app)

    def _appserver(self, ctx: CheckContext, app) -> Iterator[Finding]:
        if not app.process:
            ctx.not_examined(f"{self.id} ({app.name})", "no `process` configured: the JVM and Tomcat versions "
                                                        "are read from the app server's running process")
            return
        import psutil

        from l4agent.collectors.appserver.process_group import ProcessMatcher, members

        seen_java: set[str] = set()
        seen_tomcat: set[str] = set()
        processes = members(ProcessMatcher(app.process, app.process_user, app.process_cmdline))
        for proc in processes:
            try:
                exe, cmdline = proc.exe(), proc.cmdline()
            except psutil.Error:
                continue
            release = versions.java_release(exe) if exe and "java" in exe.rsplit("/", 1)[-1] else {}
            feature = versions.java_feature(release.get("JAVA_VERSION", ""))
            if feature and feature not in seen_java:
                seen_java.add(feature)
                yield self._grade(ctx, f"java:{app.name}", "java", feature, where=release["JAVA_HOME"],
                                  running=release.get("JAVA_VERSION"), vendor=release.get("IMPLEMENTOR"))
            home = next((m.group(1) for m in map(re.compile(r"^-Dcatalina\.home=(.+)$").match, cmdline) if m), None)
            info = versions.tomcat_server_info(home) if home else None
            series = versions.tomcat_series(info or "")
            if series and series not in seen_tomcat:
                seen_tomcat.add(series)
                number = re.search(r"server\.number\s*=\s*(\S+)", info or "")
                yield self._grade(ctx, f"tomcat:{app.name}", "tomcat", series, where=home,
                                  running=number.group(1) if number else None)
        if not processes:
            ctx.not_examined(f"{self.id} ({app.name})", f"no running process matched process = {app.process!r}")
        ctx.examined("app server processes", len(processes))

    # -- database engines -----------------------------------------------------------------------

    def _database(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = ctx.query(self, "version")
        if not rows:
            ctx.not_examined(self.id, "the server did not report its version")
            return
        row = rows[0]
        label = f"{ctx.engine}:{ctx.target_name}"
        if ctx.engine == "postgresql":
            major = versions.postgresql_major(row["version_num"])
            if major:
                yield self._grade(ctx, label, "postgresql", major, running=row["version_text"])
        elif ctx.engine == "mysql":
            series = versions.mariadb_series(str(row["version_text"]))
            if series is None:
                ctx.not_examined(self.id, f"{row['version_text']} is not MariaDB: l4agent's support table "
                                          "has no MySQL rows")
            else:
                yield self._grade(ctx, label, "mariadb", series, running=row["version_text"])
        else:
            edition = row.get("engine_edition")
            if edition in EVERGREEN_EDITIONS:
                ctx.not_examined(self.id, f"{EVERGREEN_EDITIONS[edition]} is versionless (kept current by Azure)")
                return
            release = versions.sqlserver_release(str(row["product_version"] or ""))
            if release:
                yield self._grade(ctx, label, "sqlserver", release, running=row["product_version"])
            windows = versions.windows_server(str(row["version_text"] or ""))
            if windows:
                yield self._grade(ctx, f"windows_server:{ctx.target_name}", "windows_server", windows,
                                  where="@@VERSION")

    # -- one component --------------------------------------------------------------------------

    def _grade(self, ctx: CheckContext, label: str, component: str, version: str, *, where: str | None = None,
               **evidence) -> Finding:
        table = versions.support_table(ctx.options["support_table"] or str(versions.TABLE))
        support = versions.grade(component, version, table=table, warn_days=int(ctx.options["warning_days"]))
        ctx.examined("components", 1)
        if support.days_left is not None:
            ctx.measure(SUPPORT_DAYS_LEFT(support.days_left, component=label))
        name = NAMES.get(component, component)
        summary = support.sentence().replace(f"{component} {version}", f"{name} {version}", 1)
        return self.finding(ctx, support.severity, label, summary, _advice(support, name),
                            component=component, version=version, end_of_support=support.end,
                            days_left=support.days_left, source=support.source, read_from=where,
                            table_as_of=table["as_of"],
                            **{k: v for k, v in evidence.items() if v is not None})


def _advice(support: Support, name: str) -> str:
    if not support.known:
        return (f"check {name} {support.version}'s support status with the vendor and add it to "
                "l4agent's support table (diagnostics/lifecycle/support_dates.json)")
    target = f"{name} {support.successor}" if support.successor and support.successor != support.version else None
    if support.severity == "critical":
        return (f"plan the upgrade now{' to ' + target if target else ''}: past the end of support there are no "
                f"security fixes (source: {support.source})")
    if support.severity == "warning":
        return f"schedule the upgrade{' to ' + target if target else ''} before {support.end} (source: {support.source})"
    return f"nothing to do yet; supported until {support.end or 'no published date'} (source: {support.source})"
