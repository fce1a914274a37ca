"""schema.repeating_columns: numbered column groups such as PHONE1, PHONE2, PHONE3 or
ADDRESS_1 .. ADDRESS_5 in one table (a repeating group: first normal form broken).

Why it matters: the n+1st value has no place (a schema change each time), searches must OR over
every column, and most of the columns are empty in most rows.

Logic: split each column name at its last run of digits into stem, number and suffix
(ADDRESS_2_LINE -> ADDRESS, 2, _LINE); columns sharing stem and suffix, with at least
``min_group`` different numbers, are one group. The stem must contain a letter, and must not be
a generic machine-made name (``generic_stems``: c0..cN, col1..colN, field_1..N, a single
letter ...): those are the columns of an import or staging table, named by position because
they have no meaning of their own, not a repeating group anyone designed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

from l4agent.diagnostics.base import CheckContext, Finding
from l4agent.diagnostics.schema.catalog import Catalog, Column, SchemaCheck, Table

_NUMBERED = re.compile(r"^(?P<stem>.*?)(?P<number>\d+)(?P<suffix>\D*)$")


#: stems of columns named by position, not meaning (compared lower-case, without _ - or space)
GENERIC_STEMS = ("c", "col", "column", "f", "fld", "field", "attr", "attribute", "var", "unnamed", "expr")


def generic(stem: str, generic_stems: Collection[str]) -> bool:
    """c, col_, Field- ...: a machine-made positional name (any single letter is one too)."""
    bare = re.sub(r"[\W_]+", "", stem).lower()
    return len(bare) <= 1 or bare in {s.lower() for s in generic_stems}


def repeating_groups(table: Table, min_group: int,
                     generic_stems: Collection[str] = GENERIC_STEMS) -> list[list[tuple[int, Column]]]:
    """Groups of numbered columns, each sorted by number, in the order of their first column."""
    groups: dict[tuple[str, str], list[tuple[int, Column]]] = {}
    for column in table.columns:
        match = _NUMBERED.match(column.name)
        if not match or not re.search(r"[A-Za-z]", match["stem"]) or generic(match["stem"], generic_stems):
            continue
        key = (match["stem"].rstrip("_").lower(), match["suffix"].lower())
        groups.setdefault(key, []).append((int(match["number"]), column))
    found = []
    for members in groups.values():
        if len({number for number, _ in members}) >= min_group:
            found.append(sorted(members, key=lambda m: m[0]))
    return sorted(found, key=lambda g: min(c.ordinal for _, c in g))


class RepeatingColumns(SchemaCheck):
    id = "schema.repeating_columns"
    title = "Repeating column groups (PHONE1, PHONE2, PHONE3 ...)"
    defaults = {"min_group": 3, "generic_stems": list(GENERIC_STEMS)}

    def findings(self, ctx: CheckContext, catalog: Catalog) -> Iterator[Finding]:
        for table in catalog.tables:
            groups = repeating_groups(table, ctx.options["min_group"], ctx.options["generic_stems"])
            if not groups:
                continue
            spans, moves, evidence = [], [], []
            for group in groups:
                names = [column.name for _, column in group]
                stem = _NUMBERED.match(names[0])["stem"].rstrip("_") or names[0]
                span = f"{names[0]}..{names[-1]}"
                spans.append(f"{span} ({len(names)} columns)")
                moves.append(f"{span} into a child table {table.name}_{stem} (the {table.name} key, a position, "
                             f"one {stem} per row)")
                evidence.append({"columns": names, "types": sorted({column.data_type for _, column in group})})
            yield self.finding(
                ctx, "info", table.qualified,
                f"repeating column group{'s' if len(groups) > 1 else ''} " + ", ".join(spans),
                "move " + "; and ".join(moves) + f", referencing {table.name}, then drop the numbered columns",
                groups=evidence, rows=table.rows)
