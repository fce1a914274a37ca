"""integrity.mixed_engines (MariaDB): non-InnoDB tables in an InnoDB catalog.

MyISAM and Aria tables take no part in transactions (a rollback leaves their rows), lock whole
tables, and need repair after a crash; a consistent backup (mariadb-dump --single-transaction,
mariabackup) cannot cover them without locking. One finding per catalog, listing the tables.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import in_scope
from l4agent.diagnostics.signalkit import read

ENGINES = """
SELECT TABLE_SCHEMA AS catalog, TABLE_NAME AS table_name, ENGINE AS engine
FROM information_schema.TABLES
WHERE TABLE_TYPE = 'BASE TABLE'
  AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
ORDER BY TABLE_SCHEMA, TABLE_NAME
"""

#: engines that are not transactional row stores but belong where they are
EXEMPT = {"innodb", "sequence", "federated", "connect", "spider", "memory"}


class MixedEngines(Check):
    id = "integrity.mixed_engines"
    engines = frozenset({"mysql"})
    title = "Non-InnoDB tables (MyISAM, Aria) in an InnoDB catalog"
    queries = {"mysql": {"engines": ENGINES}}
    defaults = {}
    max_rows = 100000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = [r for r in read(self, ctx, "engines", "SHOW VIEW on the ERP schemas") if in_scope(ctx, r["catalog"])]
        if not rows:
            ctx.not_examined(self.id, "no ERP table visible: the catalogs hold none yet, or the account lacks the grant (GRANT SHOW VIEW ON *.*)")
            return
        by_catalog: dict[str, list[dict]] = {}
        for row in rows:
            by_catalog.setdefault(str(row["catalog"]), []).append(row)
        for catalog, tables in by_catalog.items():
            ctx.examined("tables", len(tables), catalog=catalog)
            innodb = sum(1 for t in tables if str(t["engine"]).lower() == "innodb")
            others = [t for t in tables if str(t["engine"] or "").lower() not in EXEMPT]
            if not innodb or not others:
                continue
            engines = sorted({str(t["engine"]) for t in others})
            yield self.finding(
                ctx, "warning", catalog,
                f"{len(others)} of {len(tables)} tables use {', '.join(engines)} beside {innodb} InnoDB tables",
                "ALTER TABLE ... ENGINE=InnoDB for each (a rebuild: plan a window), so transactions, crash recovery "
                "and consistent backups cover the whole catalog",
                tables=[f"{t['table_name']} ({t['engine']})" for t in others], innodb_tables=innodb,
                other_tables=int(number(len(others))),
            )
