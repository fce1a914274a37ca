"""MariaDB catalog reader that scales: InnoDB's own dictionary instead of information_schema.

``information_schema.COLUMNS/STATISTICS/KEY_COLUMN_USAGE/TABLES`` make MariaDB open every table
of a schema (parse its .frm, and for STATISTICS/KEY_COLUMN_USAGE/TABLES also open it in InnoDB),
0.2 ms a table while the definitions fit ``table_definition_cache`` and about 2 ms beyond it.
InnoDB's dictionary tables (``information_schema.INNODB_SYS_*``) are read from InnoDB's own
system tables without opening anything, in one set-based statement each.

What this module returns is exactly the row sets ``build_catalog(engine="mysql", ...)`` takes
(``tables, columns, indexes, index_columns, foreign_keys`` with the same keys and the same value
conventions as the ``MYSQL`` statements of the catalog module), so the checks see the same
``Catalog``.

How a catalog is read (:func:`read_catalogs`):

1. ``information_schema.TABLES`` asked for names and types only (``table_name, table_type``):
   MariaDB answers that from the directory listing and each .frm's header, without opening a
   table (SKIP_OPEN_TABLE). This is the authoritative list of base tables.
2. The dictionary (SYS_TABLES, SYS_COLUMNS, SYS_INDEXES, SYS_FIELDS, SYS_VIRTUAL, SYS_FOREIGN,
   SYS_FOREIGN_COLS), filtered by the encoded ``catalog/`` name prefix, joined in Python.
   A listed base table that the dictionary knows under its own name is an InnoDB table;
   dictionary entries that are not listed (FTS auxiliary tables, ``#sql`` leftovers,
   partitions ``t#P#p0``) are ignored.
3. Tables the dictionary cannot describe exactly are read through information_schema with
   ``table_schema = ? AND table_name IN (...)``: MariaDB evaluates that condition on the name
   before opening a table, so only the listed tables are opened. These are
     - the non-InnoDB tables (MyISAM, Aria, MEMORY, partitioned tables, ...): all five sets;
     - (``exact_types=True``, the default) InnoDB tables with a column whose SQL type the
       dictionary does not determine (DECIMAL precision/scale, ENUM/SET values, BIT width,
       fractional-second precision 1-6, UUID/INET6/INET4): their ``columns`` only, from
       ``information_schema.COLUMNS``, which needs the .frm only.
   With ``exact_types=False`` those columns get a stable placeholder type from the dictionary
   (equal declarations give equal strings, see :func:`dictionary_type`), and nothing is opened.

The monitor account needs PROCESS (already granted) for ``INNODB_SYS_*``. Row counts come from
``mysql.innodb_table_stats`` (GRANT SELECT ON mysql.innodb_table_stats) and otherwise from
``INNODB_SYS_TABLESTATS`` for the tables InnoDB has loaded; sizes see :func:`read_sizes`.

Takes a pyodbc connection or the project's Connection; the catalog module (:mod:`l4agent.diagnostics.schema.catalog`) calls it for MariaDB.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from l4agent.diagnostics.checkkit import compose

Rows = list[dict[str, Any]]
RowSets = dict[str, Rows]

STATEMENTS = ("tables", "columns", "indexes", "index_columns", "foreign_keys")

#: names per ``table_name IN (...)`` of a fallback statement
IN_CHUNK = 500

# -- InnoDB's type codes (storage/innobase/include/data0type.h) --------------------------------

# main types (MTYPE)
DATA_VARCHAR, DATA_CHAR, DATA_FIXBINARY, DATA_BINARY, DATA_BLOB, DATA_INT = 1, 2, 3, 4, 5, 6
DATA_SYS, DATA_FLOAT, DATA_DOUBLE, DATA_DECIMAL, DATA_VARMYSQL, DATA_MYSQL = 8, 9, 10, 11, 12, 13
DATA_GEOMETRY = 14

# precise type (PRTYPE): low byte = the server's field type, then flags, collation id << 16
DATA_MYSQL_TYPE_MASK = 0xFF
DATA_NOT_NULL = 256
DATA_UNSIGNED = 512
DATA_BINARY_TYPE = 1024
DATA_VIRTUAL = 8192
BINARY_COLLATION = 63

# the server's field types (include/mysql_com.h enum_field_types) as InnoDB keeps them
T_DECIMAL, T_TINY, T_SHORT, T_LONG, T_FLOAT, T_DOUBLE = 0, 1, 2, 3, 4, 5
T_TIMESTAMP, T_LONGLONG, T_INT24, T_DATE, T_TIME, T_DATETIME, T_YEAR = 7, 8, 9, 10, 11, 12, 13
T_NEWDATE, T_VARCHAR, T_BIT, T_TIMESTAMP2, T_DATETIME2, T_TIME2 = 14, 15, 16, 17, 18, 19
T_NEWDECIMAL, T_ENUM, T_SET, T_BLOB, T_VAR_STRING, T_STRING, T_GEOMETRY = 246, 247, 248, 252, 253, 254, 255

_INTEGERS = {  # type code: (name, default display width signed, unsigned)
    T_TINY: ("tinyint", 4, 3),
    T_SHORT: ("smallint", 6, 5),
    T_INT24: ("mediumint", 9, 8),
    T_LONG: ("int", 11, 10),
    T_LONGLONG: ("bigint", 20, 20),
}
# BLOB/TEXT: InnoDB's LEN is the server's pack length (length bytes + 8-byte pointer)
_BLOB_BY_LEN = {9: "tiny", 10: "", 11: "medium", 12: "long"}
# fractional-second precision: bytes beyond the fsp-0 length -> possible precisions
_FSP_BASE = {T_DATETIME: 5, T_DATETIME2: 5, T_TIMESTAMP: 4, T_TIMESTAMP2: 4, T_TIME: 3, T_TIME2: 3}
_TEMPORAL_NAME = {T_DATETIME: "datetime", T_DATETIME2: "datetime", T_TIMESTAMP: "timestamp",
                  T_TIMESTAMP2: "timestamp", T_TIME: "time", T_TIME2: "time"}


@dataclass(frozen=True, slots=True)
class ColumnType:
    """The SQL type of a dictionary column; ``exact`` is False when the dictionary does not hold
    enough to write it as information_schema.COLUMNS.COLUMN_TYPE does."""

    column_type: str
    exact: bool = True
    #: the type without length/precision is certain (``decimal(?5b)`` is a decimal) even where
    #: ``exact`` is False; False for placeholders naming several types (``enum|set(?1b)``)
    base_exact: bool = True


def dictionary_type(mtype: int, prtype: int, length: int, mbmaxlen: Mapping[int, int]) -> ColumnType:
    """information_schema's COLUMN_TYPE for an INNODB_SYS_COLUMNS row.

    ``mbmaxlen`` maps collation id -> bytes per character (from information_schema.COLLATIONS).
    Integer display widths are the defaults (``int(11)``): a declared ``int(5)`` or ZEROFILL is
    kept only in the .frm. Inexact results carry a placeholder naming the storage size, e.g.
    ``decimal(?5b)`` (5 bytes), ``enum|set(?1b)``, ``bit(?1b)``, ``datetime(?3|4)``,
    ``uuid|inet6(?16b)``: equal declarations give equal placeholders, different ones may share
    one, and ``base_type`` of a placeholder is the type family (``decimal``, ``enum|set``).
    """
    code = prtype & DATA_MYSQL_TYPE_MASK
    unsigned = bool(prtype & DATA_UNSIGNED)
    collation = (prtype >> 16) & 0x7FFF
    binary = collation == BINARY_COLLATION or bool(prtype & DATA_BINARY_TYPE and mtype in (DATA_FIXBINARY, DATA_BINARY, DATA_BLOB))

    if code in _INTEGERS and mtype == DATA_INT:
        name, signed_width, unsigned_width = _INTEGERS[code]
        return ColumnType(f"{name}({unsigned_width})" + " unsigned" if unsigned else f"{name}({signed_width})")
    if code == T_FLOAT:
        return ColumnType("float" + (" unsigned" if unsigned else ""))
    if code == T_DOUBLE:
        return ColumnType("double" + (" unsigned" if unsigned else ""))
    if code in (T_NEWDECIMAL, T_DECIMAL):
        return ColumnType(f"decimal(?{length}b)" + (" unsigned" if unsigned else ""), exact=False)
    if code in (T_DATE, T_NEWDATE):
        return ColumnType("date")
    if code == T_YEAR:
        return ColumnType("year(4)")
    if code in _TEMPORAL_NAME:
        name = _TEMPORAL_NAME[code]
        extra = length - _FSP_BASE[code]
        if extra == 0:
            return ColumnType(name)
        if 1 <= extra <= 3:  # 1 byte: fsp 1|2, 2 bytes: 3|4, 3 bytes: 5|6
            return ColumnType(f"{name}(?{2 * extra - 1}|{2 * extra})", exact=False)
        return ColumnType(f"{name}(?{length}b)", exact=False)  # pre-10.1 temporal format
    if code == T_BIT:
        return ColumnType(f"bit(?{length}b)", exact=False)
    if code == T_BLOB and mtype in (DATA_BLOB, DATA_GEOMETRY):
        size = _BLOB_BY_LEN.get(length)
        if mtype == DATA_GEOMETRY:
            return ColumnType("geometry?", exact=False, base_exact=False)
        if size is None:
            return ColumnType(f"blob(?{length}b)", exact=False, base_exact=False)
        return ColumnType(f"{size}{'blob' if binary else 'text'}")
    if code == T_GEOMETRY or mtype == DATA_GEOMETRY:
        return ColumnType("geometry?", exact=False, base_exact=False)
    if code == T_VARCHAR or code == T_VAR_STRING:
        if binary:
            return ColumnType(f"varbinary({length})")
        return ColumnType(f"varchar({length // mbmaxlen.get(collation, 1)})")
    if code == T_STRING:
        if mtype == DATA_INT:  # ENUM and SET are stored as unsigned integers of 1..8 bytes
            return ColumnType(f"enum|set(?{length}b)", exact=False, base_exact=False)
        if binary:
            return ColumnType(f"binary({length})")
        if mtype == DATA_FIXBINARY:  # a type plugin's fixed binary storage: UUID, INET6, INET4
            plugin = {16: "uuid|inet6", 4: "inet4"}.get(length, "fixbinary")
            return ColumnType(f"{plugin}(?{length}b)", exact=False, base_exact=length == 4)
        return ColumnType(f"char({length // mbmaxlen.get(collation, 1)})")
    return ColumnType(f"unknown(?{mtype},{prtype},{length})", exact=False, base_exact=False)


def _is_integer(column: Mapping[str, Any]) -> bool:
    return int(column["mtype"]) == DATA_INT and int(column["prtype"]) & DATA_MYSQL_TYPE_MASK in _INTEGERS


# -- statements -------------------------------------------------------------------------------

# Names only: answered from the directory listing, no file opened (0.016 s at 5,000 tables;
# asking for table_type too reads every .frm header, 0.11 s).
_NAMES = "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"
# Names and types of the named tables (.frm headers of those only).
_TYPES = """
SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = ? AND table_name IN ({names})
"""
# Names and types of every table of a schema (for tests and benchmarks).
_LIST = "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = ?"

_MBMAXLEN = """
SELECT co.id, cs.maxlen
FROM information_schema.collations AS co
JOIN information_schema.character_sets AS cs ON cs.character_set_name = co.character_set_name
"""

# ? = the encoded prefix pattern 'catalog/%' (LIKE-escaped)
_SYS_TABLES = "SELECT table_id, name FROM information_schema.innodb_sys_tables WHERE name LIKE ?"
# The catalog's table ids as a range (filtered exactly in Python): a subquery on
# innodb_sys_tables would make the server fill that table again for each statement.
_IN_TABLES = "table_id BETWEEN ? AND ?"
_SYS_COLUMNS = compose("SELECT table_id, name, pos, mtype, prtype, len FROM information_schema.innodb_sys_columns WHERE {in_tables}", in_tables=_IN_TABLES)
_SYS_VIRTUAL = compose("SELECT table_id, pos, base_pos FROM information_schema.innodb_sys_virtual WHERE {in_tables}", in_tables=_IN_TABLES)
_SYS_INDEXES = compose("SELECT index_id, table_id, name, type FROM information_schema.innodb_sys_indexes WHERE {in_tables}", in_tables=_IN_TABLES)
# Read whole and filtered in Python: nested under two IN (SELECT ...) MariaDB re-reads the
# dictionary per row (1.7 s at 5,000 tables instead of 0.04 s).
_SYS_FIELDS = "SELECT index_id, name, pos FROM information_schema.innodb_sys_fields"
_SYS_FOREIGN = "SELECT id, for_name, ref_name FROM information_schema.innodb_sys_foreign WHERE for_name LIKE ?"
_SYS_FOREIGN_COLS = """
SELECT id, for_col_name, pos FROM information_schema.innodb_sys_foreign_cols
WHERE id IN (SELECT id FROM information_schema.innodb_sys_foreign WHERE for_name LIKE ?)
"""
_TABLE_STATS = "SELECT table_name, n_rows FROM mysql.innodb_table_stats WHERE database_name = ?"
_SYS_TABLESTATS = compose("SELECT table_id, num_rows FROM information_schema.innodb_sys_tablestats WHERE {in_tables}", in_tables=_IN_TABLES)

# information_schema for the named tables only (the catalog module's MYSQL statements, with
# `table_name IN (...)` added; the same columns and conventions)
_IS_TABLES = """
SELECT table_name AS table_id, table_schema AS schema_name, table_name, table_rows AS row_count
FROM information_schema.tables
WHERE table_schema = ? AND table_type = 'BASE TABLE' AND table_name IN ({names})
"""
_IS_COLUMNS = """
SELECT table_name AS table_id, column_name, ordinal_position AS ordinal,
       column_type AS data_type, CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END AS is_nullable
FROM information_schema.columns
WHERE table_schema = ? AND table_name IN ({names})
"""
_IS_INDEXES = """
SELECT DISTINCT table_name AS table_id, index_name,
       CASE WHEN index_name = 'PRIMARY' THEN 1 ELSE 0 END AS is_primary,
       CASE WHEN non_unique = 0 THEN 1 ELSE 0 END AS is_unique,
       CASE WHEN non_unique = 0 THEN 1 ELSE 0 END AS is_constraint,
       index_type AS access_method, 0 AS is_partial
FROM information_schema.statistics
WHERE table_schema = ? AND table_name IN ({names})
"""
_IS_INDEX_COLUMNS = """
SELECT table_name AS table_id, index_name, seq_in_index AS position,
       CASE WHEN sub_part IS NULL THEN column_name
            ELSE CONCAT(column_name, '(', sub_part, ')') END AS column_name,
       0 AS is_included, CASE WHEN collation = 'D' THEN 1 ELSE 0 END AS is_descending
FROM information_schema.statistics
WHERE table_schema = ? AND table_name IN ({names})
"""
_IS_FOREIGN_KEYS = """
SELECT table_name AS table_id, constraint_name, ordinal_position AS position, column_name,
       referenced_table_schema AS referenced_schema, referenced_table_name AS referenced_table
FROM information_schema.key_column_usage
WHERE table_schema = ? AND referenced_table_name IS NOT NULL AND table_name IN ({names})
"""
_IS_STATEMENTS = {"tables": _IS_TABLES, "columns": _IS_COLUMNS, "indexes": _IS_INDEXES,
                  "index_columns": _IS_INDEX_COLUMNS, "foreign_keys": _IS_FOREIGN_KEYS}


# -- small helpers ----------------------------------------------------------------------------

def _query(conn: Any, sql: str, params: Sequence[Any] = ()) -> Rows:
    """Rows as dicts keyed by lower-case column name, from a pyodbc connection or from anything
    with the project's ``query(sql, params)`` (l4agent.dbaccess.connection.Connection)."""
    if hasattr(conn, "query"):
        return conn.query(sql, tuple(params))
    cursor = conn.cursor()
    try:
        cursor.execute(sql, *params)
        names = [d[0].lower() for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cursor.close()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def encode_name(conn: Any, name: str) -> str:
    """``name`` in InnoDB's file-name encoding (``a-b`` -> ``a@002db``), asked of the server
    (the encoding of non-ASCII letters uses the server's own tables)."""
    if re.fullmatch(r"[A-Za-z0-9_]*", name):
        return name
    value = _query(conn, "SELECT HEX(CONVERT(? USING filename)) AS h", (name,))[0]["h"]
    return bytes.fromhex(value).decode("ascii")


def decode_names(conn: Any, encoded: Iterable[str]) -> dict[str, str]:
    """Encoded name parts -> names, one statement for all that need decoding."""
    result: dict[str, str] = {}
    pending = []
    for name in set(encoded):
        if "@" in name:
            pending.append(name)
        else:
            result[name] = name
    for start in range(0, len(pending), IN_CHUNK):
        chunk = pending[start:start + IN_CHUNK]
        union = " UNION ALL ".join(
            "SELECT ? AS e, CONVERT(CONVERT(BINARY ? USING filename) USING utf8mb4) AS d" for _ in chunk)
        params = [p for name in chunk for p in (name, name)]
        for row in _query(conn, union, params):
            result[row["e"]] = row["d"]
    return result


def _chunks(names: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(names), IN_CHUNK):
        yield names[start:start + IN_CHUNK]


def _base_tables(conn: Any, catalog: str, names: Sequence[str]) -> list[str]:
    """Those of ``names`` that are base tables (not views, sequences)."""
    tables = []
    for chunk in _chunks(names):
        marks = ", ".join("?" * len(chunk))
        tables += [r["table_name"] for r in _query(conn, _TYPES.format(names=marks), (catalog, *chunk))
                   if r["table_type"] == "BASE TABLE"]
    return sorted(tables)


def exact_columns(conn: Any, catalog: str, tables: Sequence[str]) -> Rows:
    """information_schema's ``columns`` rows of ``tables`` only (opens their .frm, nothing else):
    for a check that must show or recommend a type the fast read left as a placeholder."""
    return _read_through_information_schema(conn, catalog, sorted(set(tables)), ("columns",))["columns"]


def exact_indexes(conn: Any, catalog: str, tables: Sequence[str]) -> RowSets:
    """information_schema's ``indexes`` and ``index_columns`` rows of ``tables`` only, with DESC
    key parts and prefix lengths, which the dictionary does not keep."""
    return _read_through_information_schema(conn, catalog, sorted(set(tables)), ("indexes", "index_columns"))


def _read_through_information_schema(conn: Any, catalog: str, names: Sequence[str],
                                     statements: Iterable[str]) -> RowSets:
    rows: RowSets = {s: [] for s in statements}
    for chunk in _chunks(sorted(names)):
        marks = ", ".join("?" * len(chunk))
        for statement in rows:
            rows[statement].extend(_query(conn, _IS_STATEMENTS[statement].format(names=marks), (catalog, *chunk)))
    return rows


# -- the reader -------------------------------------------------------------------------------

@dataclass
class ReadReport:
    """What one catalog's read did (for notes, logs and tests)."""

    innodb_tables: int = 0
    fallback_tables: list[str] = field(default_factory=list)  # read wholly via information_schema
    inexact_tables: list[str] = field(default_factory=list)  # InnoDB, columns via information_schema
    prefix_index_tables: list[str] = field(default_factory=list)  # InnoDB, indexes via information_schema
    inexact_columns: list[tuple[str, str, str]] = field(default_factory=list)  # (table, column, placeholder)
    row_counts: str = ""  # "innodb_table_stats" | "innodb_sys_tablestats"


def collation_maxlen(conn: Any) -> dict[int, int]:
    """Collation id -> bytes per character of its character set."""
    return {int(r["id"]): int(r["maxlen"]) for r in _query(conn, _MBMAXLEN)}


def read_catalogs(conn: Any, catalogs: Sequence[str], exact_types: bool = True,
                  reports: dict[str, ReadReport] | None = None) -> dict[str, RowSets]:
    """``{catalog: {statement: rows}}`` for each of ``catalogs``: the row sets the catalog
    module's ``build_catalog("mysql", catalog, rows)`` takes. A catalog that does not exist
    (or that the account cannot see) gives empty row sets, as information_schema does."""
    mbmaxlen = collation_maxlen(conn)
    shared: dict[str, Rows] = {}  # whole-dictionary reads, once for all catalogs
    result = {}
    for catalog in catalogs:
        report = ReadReport()
        result[catalog] = read_catalog(conn, catalog, exact_types, mbmaxlen, report, shared)
        if reports is not None:
            reports[catalog] = report
    return result


def read_catalog(conn: Any, catalog: str, exact_types: bool = True,
                 mbmaxlen: Mapping[int, int] | None = None, report: ReadReport | None = None,
                 shared: dict[str, Rows] | None = None) -> RowSets:
    """The five row sets of one catalog (see :func:`read_catalogs`)."""
    report = report if report is not None else ReadReport()
    if mbmaxlen is None:
        mbmaxlen = {int(r["id"]): int(r["maxlen"]) for r in _query(conn, _MBMAXLEN)}
    rows: RowSets = {s: [] for s in STATEMENTS}

    listed = {r["table_name"] for r in _query(conn, _NAMES, (catalog,))}  # tables and views
    if not listed:
        return rows

    prefix = encode_name(conn, catalog) + "/"
    pattern = _like_escape(prefix) + "%"
    sys_tables = _query(conn, _SYS_TABLES, (pattern,))
    encoded = {r["name"][len(prefix):]: int(r["table_id"]) for r in sys_tables if r["name"].startswith(prefix)}
    decoded = decode_names(conn, (e for e in encoded if "#" not in e))
    # the dictionary's tables that are listed base tables under their own name are the InnoDB ones
    by_id = {tid: decoded[e] for e, tid in encoded.items() if e in decoded and decoded[e] in listed}
    report.innodb_tables = len(by_id)
    fallback = _base_tables(conn, catalog, sorted(listed - set(by_id.values())))
    report.fallback_tables = fallback

    if by_id:
        inexact, prefixed = _read_dictionary(conn, catalog, pattern, by_id, mbmaxlen, rows, report,
                                             shared if shared is not None else {})
        report.inexact_tables = sorted(inexact)
        report.prefix_index_tables = sorted(prefixed)
        if exact_types:
            for names, statements in ((inexact, ("columns",)), (prefixed, ("indexes", "index_columns"))):
                if not names:
                    continue
                exact = _read_through_information_schema(conn, catalog, sorted(names), statements)
                for statement in statements:
                    rows[statement] = [r for r in rows[statement] if r["table_id"] not in names] + exact[statement]
    if fallback:
        for statement, extra in _read_through_information_schema(conn, catalog, fallback, STATEMENTS).items():
            rows[statement].extend(extra)
    return rows


def _read_dictionary(conn: Any, catalog: str, pattern: str, by_id: Mapping[int, str],
                     mbmaxlen: Mapping[int, int], rows: RowSets, report: ReadReport,
                     shared: dict[str, Rows]) -> tuple[set[str], set[str]]:
    """Fill ``rows`` for the InnoDB tables ``by_id`` (table_id -> name); return the names of the
    tables with a column whose type is not exact, and of those with a B-tree index on a
    TEXT/BLOB column (which always has a prefix length, and the dictionary does not keep it)."""
    ids = (min(by_id), max(by_id))  # the range of the catalog's table ids (see _IN_TABLES)
    # -- tables and row counts
    counts: dict[str, Any] = {}
    try:
        counts = {r["table_name"]: r["n_rows"] for r in _query(conn, _TABLE_STATS, (catalog,))}
        report.row_counts = "innodb_table_stats"
    except Exception:  # noqa: BLE001 - no SELECT on mysql.innodb_table_stats: what InnoDB has loaded
        report.row_counts = "innodb_sys_tablestats"
        counts = {by_id[int(r["table_id"])]: r["num_rows"] for r in _query(conn, _SYS_TABLESTATS, ids)
                  if int(r["table_id"]) in by_id}
    for name in by_id.values():  # innodb_table_stats keeps names decoded (partitions as t#P#p0)
        count = counts.get(name)
        rows["tables"].append({"table_id": name, "schema_name": catalog, "table_name": name,
                               "row_count": None if count is None else int(count), "indexes_exact": 0})

    # -- columns: stored columns are numbered among themselves, virtual ones carry their place
    # in the table ((n-th virtual + 1) << 16 | table position)
    per_table: dict[int, list[dict[str, Any]]] = {}
    for r in _query(conn, _SYS_COLUMNS, ids):
        tid = int(r["table_id"])
        if tid in by_id:
            per_table.setdefault(tid, []).append(r)
    virtual_base: dict[tuple[int, int], list[int]] = {}
    for r in _query(conn, _SYS_VIRTUAL, ids):
        virtual_base.setdefault((int(r["table_id"]), int(r["pos"])), []).append(int(r["base_pos"]))

    indexes = [r for r in _query(conn, _SYS_INDEXES, ids) if int(r["table_id"]) in by_id]
    wanted = {int(r["index_id"]) for r in indexes}
    fields: dict[int, list[tuple[int, str]]] = {}
    if "fields" not in shared:
        shared["fields"] = _query(conn, _SYS_FIELDS)
    for r in shared["fields"]:
        if int(r["index_id"]) in wanted:
            fields.setdefault(int(r["index_id"]), []).append((int(r["pos"]), r["name"]))
    fts_tables = {int(r["table_id"]) for r in indexes if int(r["type"]) & 32}

    inexact: set[str] = set()
    prefixed: set[str] = set()
    blob_columns: dict[int, set[str]] = {}
    hidden: dict[int, set[str]] = {}  # table_id -> hidden column names
    stored_names: dict[int, dict[int, str]] = {}  # table_id -> stored pos -> name
    # (mtype, prtype, len) -> (column type, exact, type_exact, base_exact, nullable): a catalog
    # has few distinct ones and many columns
    types: dict[tuple[int, int, int], tuple[str, bool, int, int, int]] = {}
    out = rows["columns"]
    for tid, columns in per_table.items():
        name = by_id[tid]
        stored, virtual = [], []
        for c in columns:
            (virtual if int(c["prtype"]) & DATA_VIRTUAL else stored).append(c)
        stored.sort(key=lambda c: int(c["pos"]))
        stored_names[tid] = {int(c["pos"]): c["name"] for c in stored}
        blob_columns[tid] = {c["name"] for c in columns if int(c["mtype"]) in (DATA_BLOB, DATA_GEOMETRY)}
        gone = hidden.setdefault(tid, set())
        # InnoDB's hidden columns: DB_ROW_HASH_n (long UNIQUE), and FTS_DOC_ID appended last to
        # a FULLTEXT table that did not declare one (DB_ROW_ID/DB_TRX_ID/DB_ROLL_PTR are never listed)
        for c in virtual:
            if re.fullmatch(r"DB_ROW_HASH_\d+", c["name"]):
                gone.add(c["name"])
        # (a declared FTS_DOC_ID that is also the table's last column is taken for InnoDB's own)
        if tid in fts_tables and stored and stored[-1]["name"] == "FTS_DOC_ID":
            gone.add("FTS_DOC_ID")
        if virtual:
            places: dict[int, dict[str, Any]] = {}
            for c in virtual:
                places[int(c["pos"]) & 0xFFFF] = c
            free = (p for p in range(len(columns)) if p not in places)
            for c in stored:
                places[next(free)] = c
            ordered = [places[place] for place in sorted(places)]
        else:  # the common case: stored columns in their own order
            ordered = stored
        ordinal = 0
        for c in ordered:
            if gone and c["name"] in gone:
                continue
            ordinal += 1
            key = (int(c["mtype"]), int(c["prtype"]), int(c["len"]))
            known = types.get(key)
            if known is None:
                ctype = dictionary_type(*key, mbmaxlen)
                # type_exact: the whole spelling is certain (integer display widths never are:
                # a declared int(5), BOOLEAN's tinyint(1) or ZEROFILL live only in the .frm)
                known = types[key] = (ctype.column_type, ctype.exact, int(ctype.exact and not _is_integer(c)),
                                      int(ctype.base_exact), 0 if key[1] & DATA_NOT_NULL else 1)
            column_type, exact, type_exact, base_exact, nullable = known
            if not exact:
                inexact.add(name)
                report.inexact_columns.append((name, c["name"], column_type))
            out.append({"table_id": name, "column_name": c["name"], "ordinal": ordinal, "data_type": column_type,
                        "is_nullable": nullable, "type_exact": type_exact, "base_exact": base_exact})

    # -- indexes: TYPE bits 1 clustered, 2 unique, 32 FULLTEXT, 64 SPATIAL, 128 on a virtual
    # column; GEN_CLUST_INDEX is the hidden row-id key of a table without a primary key
    for r in indexes:
        tid, iname, itype = int(r["table_id"]), r["name"], int(r["type"])
        table = by_id[tid]
        if iname == "GEN_CLUST_INDEX" and itype & 1 and not itype & 2:
            continue
        if iname == "FTS_DOC_ID_INDEX" and "FTS_DOC_ID" in hidden.get(tid, ()):
            continue
        if iname.startswith(" "):  # an index being created or dropped online
            continue
        key = sorted(fields.get(int(r["index_id"]), []))
        method = "FULLTEXT" if itype & 32 else "SPATIAL" if itype & 64 else "BTREE"
        unique = bool(itype & 2)
        columns = [c for _, c in key]
        if len(key) == 1 and key[0][1] in hidden.get(tid, ()) and key[0][1].startswith("DB_ROW_HASH_"):
            # long UNIQUE: a hash of the base columns, shown by information_schema as a unique
            # HASH index on those columns
            method, unique = "HASH", True
            vcol = next((c for c in per_table[tid] if c["name"] == key[0][1]), None)
            bases = sorted(virtual_base.get((tid, int(vcol["pos"])), [])) if vcol else []
            columns = [stored_names[tid].get(p) for p in bases]
        elif method == "BTREE" and blob_columns.get(tid, set()).intersection(columns):
            prefixed.add(table)
        primary = bool(itype & 1) and unique and iname == "PRIMARY"
        rows["indexes"].append({"table_id": table, "index_name": iname, "is_primary": int(primary),
                                "is_unique": int(unique), "is_constraint": int(unique),
                                "access_method": method, "is_partial": 0})
        for position, column in enumerate(columns, start=1):
            # the dictionary keeps neither prefix lengths nor DESC (see notes.md)
            rows["index_columns"].append({"table_id": table, "index_name": iname, "position": position,
                                          "column_name": column, "is_included": 0, "is_descending": 0})

    # -- foreign keys: ID = 'catalog/name', FOR_NAME/REF_NAME = 'catalog/table' (encoded)
    foreign = _query(conn, _SYS_FOREIGN, (pattern,))
    fk_cols: dict[str, list[tuple[int, str]]] = {}
    for r in _query(conn, _SYS_FOREIGN_COLS, (pattern,)):
        fk_cols.setdefault(r["id"], []).append((int(r["pos"]), r["for_col_name"]))
    parts = set()
    for r in foreign:
        for value in (r["for_name"], r["ref_name"]):
            parts.update(value.split("/", 1))
    names = decode_names(conn, parts)
    listed_innodb = set(by_id.values())
    for r in foreign:
        _, for_table = (names[p] for p in r["for_name"].split("/", 1))
        if for_table not in listed_innodb:
            continue
        ref_schema, ref_table = (names[p] for p in r["ref_name"].split("/", 1))
        constraint = r["id"].split("/", 1)[1]
        for position, (_, column) in enumerate(sorted(fk_cols.get(r["id"], [])), start=1):
            rows["foreign_keys"].append({"table_id": for_table, "constraint_name": constraint,
                                         "position": position, "column_name": column,
                                         "referenced_schema": ref_schema, "referenced_table": ref_table})
    return inexact, prefixed


# -- sizes ------------------------------------------------------------------------------------

_STAT_SIZES = """
SELECT table_name, clustered_index_size + sum_of_other_index_sizes AS pages
FROM mysql.innodb_table_stats WHERE database_name = ?
"""
_IS_SIZE = """
SELECT COALESCE(SUM(data_length + index_length), 0) AS size_bytes
FROM information_schema.tables WHERE table_schema = ? {names}
"""


#: read_sizes' sources
SIZE_FROM_STATS = "mysql.innodb_table_stats"
SIZE_FROM_TABLES = "information_schema.TABLES (no SELECT on mysql.innodb_table_stats: opens every table)"


def read_sizes(conn: Any, catalogs: Sequence[str], sources: dict[str, str] | None = None) -> dict[str, int]:
    """data_length + index_length per catalog, as information_schema.TABLES sums it, without
    opening InnoDB tables.

    InnoDB tables: (clustered_index_size + sum_of_other_index_sizes) × innodb_page_size from
    mysql.innodb_table_stats, the persistent statistics information_schema.TABLES takes these
    figures from (needs SELECT on mysql.innodb_table_stats; partitions are rows ``t#P#p0``).
    Other tables (MyISAM, Aria, ... and InnoDB tables without persistent statistics):
    information_schema.TABLES asked for those tables only.
    Without the grant: the full information_schema.TABLES walk (slow, exact); ``sources`` gets
    each catalog's source (SIZE_FROM_STATS / SIZE_FROM_TABLES).

    (INNODB_SYS_TABLESPACES is no source: it lists only the tablespaces InnoDB has opened since
    start, 151 of 5,001 after a restart.)"""
    page = int(_query(conn, "SELECT @@innodb_page_size AS p")[0]["p"])
    sizes = {}
    for catalog in catalogs:
        try:
            stats = _query(conn, _STAT_SIZES, (catalog,))
        except Exception:  # noqa: BLE001 - no SELECT on mysql.innodb_table_stats
            sizes[catalog] = int(_query(conn, _IS_SIZE.format(names=""), (catalog,))[0]["size_bytes"])
            if sources is not None:
                sources[catalog] = SIZE_FROM_TABLES
            continue
        if sources is not None:
            sources[catalog] = SIZE_FROM_STATS
        total = sum(int(r["pages"]) for r in stats) * page
        covered = {r["table_name"].split("#P#", 1)[0] for r in stats}
        others = [n for n in (r["table_name"] for r in _query(conn, _NAMES, (catalog,))) if n not in covered]
        for chunk in _chunks(sorted(others)):  # views among them add nothing
            marks = ", ".join("?" * len(chunk))
            total += int(_query(conn, _IS_SIZE.format(names=f"AND table_name IN ({marks})"),
                                (catalog, *chunk))[0]["size_bytes"])
        sizes[catalog] = total
    return sizes
