"""config.tmp_on_disk (MariaDB): a large share of internal temporary tables go to disk.

GROUP BY, DISTINCT, UNION and derived tables use in-memory temporary tables up to
min(tmp_table_size, max_heap_table_size); beyond that (or with TEXT/BLOB columns) they are
written to disk, each a file and a slow query. Judged only after enough temporary tables.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.core.units import format_bytes
from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding

MYSQL_TMP = """
SELECT @@tmp_table_size AS tmp_table_size, @@max_heap_table_size AS max_heap_table_size,
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'CREATED_TMP_TABLES')
           AS tmp_tables,
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'CREATED_TMP_DISK_TABLES')
           AS tmp_disk_tables
"""


class TmpOnDisk(Check):
    id = "config.tmp_on_disk"
    engines = frozenset({"mysql"})
    title = "Share of internal temporary tables created on disk"
    queries = {"mysql": {"tmp": MYSQL_TMP}}
    defaults = {"warning_ratio": 0.25, "min_tmp_tables": 1000}
    max_rows = 1

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = ctx.query(self, "tmp")
        if not rows:
            return
        row = rows[0]
        total, disk = number(row["tmp_tables"]), number(row["tmp_disk_tables"])
        if total < ctx.options["min_tmp_tables"]:
            ctx.not_examined(self.id, f"too little data: {int(total)} temporary tables since start-up "
                                      f"(judged from {ctx.options['min_tmp_tables']})")
            return
        ctx.examined("temporary tables", int(total))
        ratio = disk / total
        if ratio < ctx.options["warning_ratio"]:
            return
        limit = min(number(row["tmp_table_size"]), number(row["max_heap_table_size"]))
        yield self.finding(
            ctx, "warning", "tmp_table_size",
            f"{ratio:.0%} of {int(total):,} internal temporary tables went to disk "
            f"(in-memory limit {format_bytes(limit)})",
            "find the statements (perf.top_query, performance_schema sum_created_tmp_disk_tables); raise "
            "tmp_table_size and max_heap_table_size together if they are small, and avoid TEXT/BLOB columns in "
            "GROUP BY/DISTINCT results",
            tmp_tables=int(total), tmp_disk_tables=int(disk), ratio=round(ratio, 4),
            tmp_table_size=int(number(row["tmp_table_size"])), max_heap_table_size=int(number(row["max_heap_table_size"])),
        )
