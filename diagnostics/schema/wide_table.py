"""schema.wide_table: tables with ``min_columns`` (35) or more columns.

Why it matters: wide rows fit fewer to a page, so every scan and cache holds fewer rows; wide
tables usually mix several things (a repeating group, rarely used detail, 1:1 extensions).

Logic: column count >= ``min_columns`` is info, >= ``warning_columns`` (100) a warning.
Evidence says how many columns are nullable (often optional detail that can move out). One
finding per catalog (object = the catalog), the tables widest first in evidence (grouping.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.base import CheckContext, Finding
from l4agent.diagnostics.checkkit import plural
from l4agent.diagnostics.schema.catalog import Catalog, SchemaCheck
from l4agent.diagnostics.schema.grouping import Member, by_catalog


class WideTable(SchemaCheck):
    id = "schema.wide_table"
    title = "Tables with very many columns"
    defaults = {"min_columns": 35, "warning_columns": 100}

    def findings(self, ctx: CheckContext, catalog: Catalog) -> Iterator[Finding]:
        members = []
        for table in catalog.tables:
            count = len(table.columns)
            if count < ctx.options["min_columns"]:
                continue
            nullable = sum(1 for c in table.columns if c.nullable)
            key = table.primary_key
            keyed_by = f" keyed by {', '.join(c for c in key.key_columns if c)}" if key else ""
            members.append(Member(
                table, "warning" if count >= ctx.options["warning_columns"] else "info", table.qualified,
                f"{table.name} ({count})",
                f"split {table.name}: move column groups that are read or written together (or rarely) into "
                f"1:1 side tables{keyed_by}, and repeating groups (e.g. PHONE1..n) into child rows",
                {"columns": count, "nullable_columns": nullable, "rows": table.rows}))
        # One finding per catalog (grouping.py): the advice is the same for every wide table.
        for group in by_catalog(members):
            group.members.sort(key=lambda m: (-m.evidence["columns"], m.object))
            widest = group.members[0]
            summary = (f"{plural(len(group.members), 'table')} with {ctx.options['min_columns']} or more "
                       f"columns: {group.names()}")
            advice = widest.fix if len(group.members) == 1 else (
                f"{widest.fix}; the same for each table in evidence (tables[].fix), widest first")
            yield self.finding(ctx, group.severity, group.catalog, summary, advice, **group.evidence(),
                               min_columns=ctx.options["min_columns"])
