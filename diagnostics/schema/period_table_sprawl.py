"""schema.period_table_sprawl: one table per year or month (WRK_VISIT_2012_01, WRK_VISIT_2012_02
..., sales_2023, sales_2024 ...) sharing one structure.

Why it matters: every query across periods is a UNION over n tables, the schema grows each
month, indexes and statistics are n times over, and the application must build table names.

Logic: table names ending in a year (19xx/20xx), optionally followed by a month (01-12, or 1-9
after "_"), at the end of the name or followed by a word (WRK_VISIT_2012_1_MEMBER: the ERP's
per-month families keep a suffix after the period), are grouped by catalog, schema, stem,
suffix and granularity (year or month); within a
group, the tables with the most common column set (names, case-insensitive) form the family.
A family of at least ``min_members`` tables is reported once, with its member count and span;
a lone report_2024 is not a family. Partitions of a partitioned table are not read at all.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from l4agent.diagnostics.base import CheckContext, Finding
from l4agent.diagnostics.schema.catalog import Catalog, SchemaCheck, Table

_PERIOD = re.compile(
    r"^(?P<stem>.*?[A-Za-z].*?)(?P<sep>_?)(?P<year>(?:19|20)\d\d)"
    r"(?:(?P<msep>_?)(?P<month>0[1-9]|1[0-2])|_(?P<month1>[1-9]))?"
    r"(?P<suffix>_[A-Za-z][A-Za-z0-9_]*)?$"
)


@dataclass(frozen=True)
class Member:
    table: Table
    stem: str
    year: int
    month: int | None
    sep: str  # between stem and year
    msep: str  # between year and month
    suffix: str = ""  # after the period: WRK_VISIT_2012_1_MEMBER -> "_MEMBER"

    @property
    def period(self) -> str:
        return f"{self.year}" if self.month is None else f"{self.year}-{self.month:02d}"


def period_member(table: Table) -> Member | None:
    match = _PERIOD.match(table.name)
    if not match:
        return None
    month = match["month"] or match["month1"]
    msep = "_" if match["month1"] else (match["msep"] or "")
    return Member(table, match["stem"], int(match["year"]), int(month) if month else None, match["sep"], msep,
                  match["suffix"] or "")


def families(catalog: Catalog, min_members: int) -> list[tuple[list[Member], list[Member]]]:
    """(family, same-stem tables of another structure) for every family of min_members or more."""
    groups: dict[tuple, list[Member]] = {}
    for table in catalog.tables:
        member = period_member(table)
        if member is not None:
            key = (table.catalog, table.schema, member.stem.lower(), member.month is None, member.suffix.lower())
            groups.setdefault(key, []).append(member)
    found = []
    for members in groups.values():
        if len(members) < min_members:
            continue
        shaped = [(_shape(m.table), m) for m in members]  # once per table: one pass, not three
        shape, count = Counter(s for s, _ in shaped).most_common(1)[0]
        if count < min_members:
            continue
        family = sorted((m for s, m in shaped if s == shape), key=lambda m: (m.year, m.month or 0))
        others = sorted((m for s, m in shaped if s != shape), key=lambda m: m.table.name)
        found.append((family, others))
    return found


def _shape(table: Table) -> frozenset[str]:
    return frozenset(c.name.lower() for c in table.columns)


class PeriodTableSprawl(SchemaCheck):
    id = "schema.period_table_sprawl"
    title = "One table per year/month (WRK_VISIT_2012_01, WRK_VISIT_2012_02 ...)"
    defaults = {"min_members": 3}

    def findings(self, ctx: CheckContext, catalog: Catalog) -> Iterator[Finding]:
        for family, others in families(catalog, ctx.options["min_members"]):
            first, last = family[0], family[-1]
            monthly = first.month is not None
            pattern = f"{first.stem}{first.sep}YYYY" + (f"{first.msep}MM" if monthly else "") + first.suffix
            obj = ".".join(p for p in (first.table.catalog, first.table.schema, pattern) if p)
            rows = [m.table.rows for m in family if m.table.rows is not None]
            yield self.finding(
                ctx, "warning", obj,
                f"{len(family)} {'monthly' if monthly else 'yearly'} tables {first.table.name} .. "
                f"{last.table.name} with one structure ({first.period} .. {last.period})",
                recommendation(catalog, first.table, first.stem.rstrip("_") or first.stem, monthly, len(family)),
                members=len(family), span=f"{first.period}..{last.period}", first=first.table.name,
                last=last.table.name, tables=[m.table.name for m in family], columns=len(first.table.columns),
                rows_total=sum(rows) if rows else None,
                same_stem_other_structure=[m.table.name for m in others])


def recommendation(catalog: Catalog, model: Table, stem: str, monthly: bool, count: int) -> str:
    """Consolidate into one table keyed by a period column, partitioned where the engine can."""
    q = catalog.quote
    schema = model.schema
    one = Table(model.catalog, schema, stem, None)
    whole, template = catalog.sql_name(one), catalog.sql_name(model)
    step = "month" if monthly else "year"
    tail = (f"copy each of the {count} tables' rows in with its period, and replace the per-{step} tables with "
            f"views (or change the application) so it reads one table")
    if catalog.engine == "postgresql":
        return (f"consolidate into one table with a period column, partitioned by it: "
                f"CREATE TABLE {whole} (LIKE {template}, {q('period')} date NOT NULL) "
                f"PARTITION BY RANGE ({q('period')}){catalog.run_in(model)}; add one partition per {step} "
                f"(CREATE TABLE ... PARTITION OF {whole} FOR VALUES FROM ... TO ...), {tail}")
    if catalog.engine == "mssql":
        return (f"consolidate into one table {whole} with the columns of {template} plus a period column "
                f"({q('PERIOD')} date NOT NULL) leading its clustered index (on large data: partition it "
                f"by a partition function on {q('PERIOD')}); {tail}")
    return (f"consolidate into one table with a period column, partitioned by it: CREATE TABLE {whole} LIKE "
            f"{template}; ALTER TABLE {whole} ADD COLUMN {q('period')} DATE NOT NULL, then "
            f"PARTITION BY RANGE COLUMNS({q('period')}) (the period must be part of its primary key); {tail}")
