"""config.table_cache (MariaDB): table caches smaller than the table count.

With table_definition_cache below the number of tables, every pass over the schema (the ERP's
own metadata reads, backups, this agent's schema checks) re-reads .frm files; with
table_open_cache below the tables in use, hot tables are closed and reopened constantly
(Opened_tables grows). ERP catalogs hold thousands of tables per company and period.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.signalkit import read

MYSQL_CACHES = """
SELECT @@table_definition_cache AS table_definition_cache,
       @@table_open_cache AS table_open_cache,
       (SELECT COUNT(*) FROM information_schema.TABLES
        WHERE TABLE_SCHEMA NOT IN ('information_schema', 'performance_schema')) AS tables,
       (SELECT COUNT(*) FROM information_schema.TABLES
        WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')) AS erp_tables,
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'OPENED_TABLES')
           AS opened_tables,
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME') AS uptime_seconds
"""


class TableCache(Check):
    id = "config.table_cache"
    engines = frozenset({"mysql"})
    title = "table_definition_cache / table_open_cache below the number of tables"
    queries = {"mysql": {"caches": MYSQL_CACHES}}
    defaults = {}
    max_rows = 1

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = read(self, ctx, "caches", "SHOW VIEW on the ERP schemas (the table count)")
        if not rows:
            return
        row = rows[0]
        tables = int(number(row["tables"]))
        if not int(number(row["erp_tables"])):  # no ERP table visible: the count would be meaningless
            ctx.not_examined(self.id, "no ERP table visible: the catalogs hold none yet, or the account lacks the grant (GRANT SHOW VIEW ON *.*)")
            return
        ctx.examined("tables", tables)
        short = {name: int(number(row[name])) for name in ("table_definition_cache", "table_open_cache")
                 if number(row[name]) < tables}
        if not short:
            return
        settings = ", ".join(f"{name} {value:,}" for name, value in short.items())
        yield self.finding(
            ctx, "warning", " / ".join(short),
            f"{settings} below the {tables:,} tables on the server "
            f"(Opened_tables {int(number(row['opened_tables'])):,} in {int(number(row['uptime_seconds']))//3600} h)",
            f"raise {' and '.join(short)} to at least {tables:,} (plus headroom for growth; open_files_limit "
            "must allow table_open_cache); both are dynamic (SET GLOBAL) and belong in the server's config file",
            tables=tables, **{name: int(number(row[name])) for name in ("table_definition_cache", "table_open_cache")},
            opened_tables=int(number(row["opened_tables"])),
        )
