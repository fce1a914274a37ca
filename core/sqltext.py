"""SQL statements inside the words people read: a recommendation ends with the exact statement to
run ("create the index (...): CREATE INDEX CONCURRENTLY ix_orders_customer_id ON public.orders
(customer_id);"). Output formats show that statement whole, in a code block, with no escaping
inside it, so it pastes straight into psql, mysql or sqlcmd."""

from __future__ import annotations

import re

from l4agent.core.text import printable

#: statements a recommendation may end with (the first word of the statement)
_KEYWORDS = ("CREATE", "ALTER", "DROP", "GRANT", "REVOKE", "ANALYZE", "VACUUM", "REINDEX", "UPDATE", "DELETE",
             "INSERT", "SET", "EXEC", "EXECUTE", "DBCC", "OPTIMIZE", "CHECKPOINT", "BACKUP", "RESTORE", "SELECT",
             "CLUSTER", "USE", "KILL", "TRUNCATE")
_STATEMENT = re.compile(r"(?:^|:\s+)((?:" + "|".join(_KEYWORDS) + r")\b[^\n]*;)\s*$")


def split_statement(text: str | None, markup_safe: bool = False) -> tuple[str, str | None]:
    """``(prose, statement)``: a text ending with ``": <SQL statement>;"`` split in two (the prose
    keeps no trailing colon); ``(text, None)`` when it ends with no statement.

    ``markup_safe``: for Markdown, a statement holding ``<``, ``>`` or a control character (a
    hostile object name) is not split off, so it stays in the escaped text, never raw."""
    value = str(text or "").rstrip()
    match = _STATEMENT.search(value)
    if not match or (markup_safe and not _markup_free(match.group(1))):
        return value, None
    prose = value[: match.start()].rstrip().rstrip(":").rstrip()
    return prose, match.group(1)


def _markup_free(statement: str) -> bool:
    return not any(ch in "<>" or not (ch.isprintable() or ch == " ") for ch in statement)


def fenced(statement: str, language: str = "sql", indent: str = "") -> list[str]:
    """A Markdown fenced code block holding ``statement`` verbatim (a fence longer than any run of
    backticks inside it)."""
    body = printable(statement, multiline=True)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{indent}{fence}{language}", *(f"{indent}{line}" for line in body.splitlines()), f"{indent}{fence}"]
