"""What a diagnostics run examined, and what it did not and why: the ``coverage`` of a result.

A finding is a promise, and so is its absence: "nothing to report" is only true for what was
looked at. Every check says what it examined through its context (``ctx.examined("tables",
1840, catalog="erp")``) and what it could not (``ctx.not_examined("perf.top_query", "pg_stat_statements
is not installed", catalog="erp")``), or raises :class:`NotExamined` when it could not look at
all. The runner keeps one :class:`Coverage` per target and catalog; ``diagnose --format json``
prints them as ``coverage`` and a run with anything not examined exits 3.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


class NotExamined(Exception):
    """A check could not look (missing grant, catalog offline, feature off, too little history).

    ``why`` is fit to print (names the grant or setting, no secret); ``catalog`` is the catalog it
    could not read, None for the whole target."""

    def __init__(self, why: str, catalog: str | None = None):
        super().__init__(why)
        self.why = why
        self.catalog = catalog


@dataclass
class Coverage:
    """One target (and catalog, None for the target as a whole) of one run."""

    target: str
    catalog: str | None = None
    #: kind -> how many were examined ("tables", "statements", "backups", "accounts", ...)
    examined: dict[str, int] = field(default_factory=dict)
    #: [{"what": check id or thing, "why": reason}]
    not_examined: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "catalog": self.catalog, "examined": dict(self.examined),
                "not_examined": [dict(item) for item in self.not_examined]}


class CoverageLog:
    """The coverage entries of one run, shared by every check context (thread-safe)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str | None], Coverage] = {}
        self._errors: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def entry(self, target: str, catalog: str | None = None) -> Coverage:
        with self._lock:
            return self._entry(target, catalog)

    def _entry(self, target: str, catalog: str | None) -> Coverage:
        key = (target, catalog)
        if key not in self._entries:
            self._entries[key] = Coverage(target, catalog)
        return self._entries[key]

    def examined(self, target: str, kind: str, count: int, catalog: str | None = None) -> None:
        """``count`` things of ``kind`` were looked at; several checks reading the same tables
        count them once (the largest figure is kept)."""
        with self._lock:
            entry = self._entry(target, catalog)
            entry.examined[kind] = max(entry.examined.get(kind, 0), int(count))

    def count(self, target: str, kind: str, count: int, catalog: str | None = None) -> None:
        """Add ``count`` to ``kind`` (things each examined once, such as the checks that ran)."""
        with self._lock:
            entry = self._entry(target, catalog)
            entry.examined[kind] = entry.examined.get(kind, 0) + int(count)

    def not_examined(self, target: str, what: str, why: str, catalog: str | None = None) -> None:
        with self._lock:
            entry = self._entry(target, catalog)
            item = {"what": what, "why": why}
            if item not in entry.not_examined:
                entry.not_examined.append(item)

    def error(self, target: str, what: str, why: str, catalog: str | None = None) -> None:
        """One error entry for a fault several checks share (a catalog that cannot be read):
        recorded once however many checks meet it."""
        item = {"check": what, "target": target, "catalog": catalog, "error": why}
        with self._lock:
            if item not in self._errors:
                self._errors.append(item)

    def errors(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(item) for item in self._errors]

    def entries(self) -> list[Coverage]:
        with self._lock:
            return sorted(self._entries.values(), key=lambda c: (c.target, c.catalog or ""))

    def incomplete(self) -> bool:
        """Whether anything was not examined (the run's exit code is then 3)."""
        with self._lock:
            return any(entry.not_examined for entry in self._entries.values())


def _plural(count: int, kind: str) -> str:
    return f"{count} {kind[:-1] if count == 1 and kind.endswith('s') else kind}"


def _checks(whats: list[str]) -> str:
    """The checks sharing one reason: named when few, ``schema.* (8 checks)`` when many of one
    family."""
    families = {what.split(".")[0] for what in whats}
    if len(whats) > 2 and len(families) == 1:
        return f"{families.pop()}.* ({len(whats)} checks)"
    return ", ".join(whats)


def summary_lines(entries: list[Coverage]) -> list[tuple[str, str]]:
    """One (target, text) per target for people: what was examined, summed over its catalogs,
    then what was not and why, checks sharing a reason named together::

        ("erp", "examined 2 catalogs, 37 tables, 18 checks; not examined: workcube_cf1
                 (schema.no_primary_key, schema.wide_table): catalog does not exist")
    """
    by_target: dict[str, list[Coverage]] = {}
    for entry in entries:
        by_target.setdefault(entry.target, []).append(entry)
    lines = []
    for target, items in by_target.items():
        totals: dict[str, int] = {}
        read_catalogs = 0
        reasons: dict[tuple[str | None, str], list[str]] = {}
        for entry in items:
            if entry.catalog is not None and any(k != "checks" for k in entry.examined):
                read_catalogs += 1
            for kind, count in entry.examined.items():
                if kind == "catalogs" and entry.catalog is not None:
                    continue  # counted once per catalog entry above
                totals[kind] = totals.get(kind, 0) + count
            for item in entry.not_examined:
                whats = reasons.setdefault((entry.catalog, item["why"]), [])
                what = item["what"].strip("()")  # "(connect)" reads as "connect" inside the parentheses
                if what not in whats:
                    whats.append(what)
        parts = ([_plural(read_catalogs, "catalogs")] if read_catalogs else [])
        parts += [_plural(count, kind) for kind, count in sorted(totals.items(), key=lambda kv: kv[0] == "checks")]
        text = "examined " + ", ".join(parts) if parts else "nothing examined"
        if reasons:
            text += "; not examined: " + "; ".join(
                f"{catalog + ' ' if catalog else ''}({_checks(whats)}): {why}"
                for (catalog, why), whats in reasons.items())
        lines.append((target, text))
    return lines
