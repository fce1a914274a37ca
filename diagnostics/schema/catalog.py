"""The schema checks' shared catalog reader: tables, columns, indexes and foreign keys of every
catalog a target diagnoses, read in five set-based statements per catalog (never one query per
table) into plain Python structures, once per diagnose run.

Which catalogs: the target's ``databases = [...]``, else the DSN's own database.
How each engine is reached: PostgreSQL reconnects per catalog (``catalog=``), SQL Server
switches with ``USE``. MariaDB reads InnoDB's own dictionary (``INNODB_SYS_*``, see
:mod:`.innodb_dictionary`: 1.8 s instead of 26 s at 20,000 tables, because information_schema
opens every table) and ``information_schema`` only for the tables InnoDB does not hold; MySQL 8,
or a MariaDB where the dictionary cannot be read (no PROCESS privilege), is read through
``information_schema`` filtered by schema name, as is every MariaDB when
``MYSQL_CATALOG_SOURCE = "information_schema"``.

The dictionary leaves some MariaDB types as placeholders (``decimal(?5b)``: DECIMAL precision,
ENUM values, fractional seconds ...; see :class:`Column` ``exact``). A check that shows or
recommends a type calls :func:`resolve_types` for the tables it reports on first.

The result is cached on the target's open connection, so the eight ``schema.*`` checks of one
run share one read; the next run opens a new connection and reads afresh.

Every statement returns the same column names on every engine (``schema_name``,
``table_name`` ...), so :func:`build_catalog` is engine-neutral apart from SQL Server's column
types, which are assembled from ``sys.columns``' type/max_length/precision/scale.
"""

from __future__ import annotations

import functools
import logging
import operator
import re
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from l4agent.dbaccess.connection import DatabaseError, dsn_value
from l4agent.dbaccess.engines import ENGINES
from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import compose, truthy
from l4agent.diagnostics.schema import innodb_dictionary

log = logging.getLogger(__name__)

#: statements of the catalog read; names are the same on every engine
STATEMENTS = ("tables", "columns", "indexes", "index_columns", "foreign_keys")

#: Upper bound on the rows of one catalog statement (about 200 columns per table at 20,000
#: tables). A catalog beyond it is reported as an error rather than analysed half-read, which
#: would make every index that was not read look missing.
MAX_CATALOG_ROWS = 4_000_000

#: MariaDB/MySQL: "auto" reads InnoDB's dictionary where the server has one (MariaDB) and falls
#: back to information_schema; "information_schema" always reads information_schema (slow on
#: large catalogs; tests use it to run every check on both readers)
MYSQL_CATALOG_SOURCE = "auto"

# -- PostgreSQL: pg_catalog, per catalog over its own connection -------------------------------

# Ordinary and partitioned tables of the application: not system schemas, not partitions (their
# parent is the table people work with), not tables that belong to an extension.
_PG_USER_TABLES = """
    SELECT c.oid, n.nspname AS schema_name, c.relname AS table_name, c.reltuples
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND NOT c.relispartition
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%'
      AND n.nspname NOT LIKE 'pg\\_temp\\_%'
      AND c.oid NOT IN (SELECT d.objid FROM pg_catalog.pg_depend AS d
                        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'e')
"""

# Rows other than "tables" name their table by table_id (the oid): at 20,000 tables the
# driver spends more time on repeated schema and table names than the server spends reading.
POSTGRESQL = {
    "current_catalog": "SELECT current_database() AS catalog_name",
    "tables": compose("""
WITH user_tables AS ({user_tables})
SELECT t.oid::bigint AS table_id, t.schema_name, t.table_name,
       CASE WHEN t.reltuples < 0 THEN NULL ELSE t.reltuples::bigint END AS row_count
FROM user_tables AS t
""", user_tables=_PG_USER_TABLES),
    "columns": compose("""
WITH user_tables AS ({user_tables})
SELECT t.oid::bigint AS table_id, a.attname AS column_name, a.attnum AS ordinal,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS data_type,
       (NOT a.attnotnull)::int AS is_nullable
FROM user_tables AS t
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = t.oid
WHERE a.attnum > 0 AND NOT a.attisdropped
""", user_tables=_PG_USER_TABLES),
    "indexes": compose("""
WITH user_tables AS ({user_tables})
SELECT t.oid::bigint AS table_id, i.relname AS index_name,
       x.indisprimary::int AS is_primary, x.indisunique::int AS is_unique,
       (x.indexrelid IN (SELECT k.conindid FROM pg_catalog.pg_constraint AS k
                         WHERE k.contype IN ('p', 'u', 'x')))::int AS is_constraint,
       am.amname AS access_method,
       (x.indpred IS NOT NULL)::int AS is_partial,
       pg_catalog.pg_get_expr(x.indpred, x.indrelid) AS predicate
FROM user_tables AS t
JOIN pg_catalog.pg_index AS x ON x.indrelid = t.oid
JOIN pg_catalog.pg_class AS i ON i.oid = x.indexrelid
JOIN pg_catalog.pg_am AS am ON am.oid = i.relam
WHERE x.indisvalid
""", user_tables=_PG_USER_TABLES),
    # One row per index column; column_name is NULL for an expression. indoption bit 1 = DESC;
    # INCLUDE columns come after the indnkeyatts key columns.
    "index_columns": compose("""
WITH user_tables AS ({user_tables})
SELECT t.oid::bigint AS table_id, i.relname AS index_name, k.position,
       a.attname AS column_name,
       (k.position > x.indnkeyatts)::int AS is_included,
       COALESCE(((x.indoption::int2[])[k.position - 1] & 1) = 1, false)::int AS is_descending
FROM user_tables AS t
JOIN pg_catalog.pg_index AS x ON x.indrelid = t.oid
JOIN pg_catalog.pg_class AS i ON i.oid = x.indexrelid
CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
LEFT JOIN pg_catalog.pg_attribute AS a ON a.attrelid = x.indrelid AND a.attnum = k.attnum AND k.attnum > 0
WHERE x.indisvalid
""", user_tables=_PG_USER_TABLES),
    "foreign_keys": compose("""
WITH user_tables AS ({user_tables})
SELECT t.oid::bigint AS table_id, k.conname AS constraint_name, col.position,
       a.attname AS column_name, rn.nspname AS referenced_schema, rc.relname AS referenced_table
FROM user_tables AS t
JOIN pg_catalog.pg_constraint AS k ON k.conrelid = t.oid AND k.contype = 'f'
CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS col(attnum, position)
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = col.attnum
JOIN pg_catalog.pg_class AS rc ON rc.oid = k.confrelid
JOIN pg_catalog.pg_namespace AS rn ON rn.oid = rc.relnamespace
""", user_tables=_PG_USER_TABLES),
}

# -- MariaDB / MySQL: information_schema, filtered by schema (= catalog) -----------------------
# The monitor sees a schema's rows only with some privilege on it; REFERENCES is enough and
# reads no data (README, "Database grants"). Within one schema the table name is its id.

MYSQL = {
    "current_catalog": "SELECT DATABASE() AS catalog_name",
    # A schema the monitor has no privilege on is invisible, exactly like one that does not
    # exist: without this, a typo or a revoked grant would read as an empty, clean catalog.
    "visible": "SELECT COUNT(*) AS visible FROM information_schema.schemata WHERE schema_name = ?",
    "tables": """
SELECT table_name AS table_id, table_schema AS schema_name, table_name, table_rows AS row_count
FROM information_schema.tables
WHERE table_schema = ? AND table_type = 'BASE TABLE'
""",
    # Also the columns of views; build_catalog keeps those of the tables read above.
    "columns": """
SELECT table_name AS table_id, column_name, ordinal_position AS ordinal,
       column_type AS data_type, CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END AS is_nullable
FROM information_schema.columns
WHERE table_schema = ?
""",
    # No partial indexes in MariaDB/MySQL; a UNIQUE index is the unique constraint itself.
    "indexes": """
SELECT DISTINCT table_name AS table_id, index_name,
       CASE WHEN index_name = 'PRIMARY' THEN 1 ELSE 0 END AS is_primary,
       CASE WHEN non_unique = 0 THEN 1 ELSE 0 END AS is_unique,
       CASE WHEN non_unique = 0 THEN 1 ELSE 0 END AS is_constraint,
       index_type AS access_method, 0 AS is_partial
FROM information_schema.statistics
WHERE table_schema = ?
""",
    # column_name is NULL for a MySQL 8 functional key part; sub_part is a prefix length.
    "index_columns": """
SELECT table_name AS table_id, index_name, seq_in_index AS position,
       CASE WHEN sub_part IS NULL THEN column_name
            ELSE CONCAT(column_name, '(', sub_part, ')') END AS column_name,
       0 AS is_included, CASE WHEN collation = 'D' THEN 1 ELSE 0 END AS is_descending
FROM information_schema.statistics
WHERE table_schema = ?
""",
    "foreign_keys": """
SELECT table_name AS table_id, constraint_name, ordinal_position AS position, column_name,
       referenced_table_schema AS referenced_schema, referenced_table_name AS referenced_table
FROM information_schema.key_column_usage
WHERE table_schema = ? AND referenced_table_name IS NOT NULL
""",
}

# -- SQL Server: sys.* catalog views of the catalog switched to with USE -----------------------
# The monitor login needs VIEW DEFINITION in the database (or VIEW ANY DEFINITION) to see
# tables it does not own. table_id is sys.tables.object_id.

MSSQL = {
    "current_catalog": "SELECT DB_NAME() AS catalog_name",
    "tables": """
SELECT t.object_id AS table_id, s.name AS schema_name, t.name AS table_name, p.row_count
FROM sys.tables AS t
JOIN sys.schemas AS s ON s.schema_id = t.schema_id
LEFT JOIN (SELECT object_id, SUM(rows) AS row_count
           FROM sys.partitions
           WHERE index_id IN (0, 1)
           GROUP BY object_id) AS p ON p.object_id = t.object_id
WHERE t.is_ms_shipped = 0
""",
    # type_name/max_length (bytes, -1 = max)/precision/scale become data_type in Python.
    "columns": """
SELECT c.object_id AS table_id, c.name AS column_name, c.column_id AS ordinal,
       ty.name AS type_name, c.max_length, c.precision, c.scale, c.is_nullable
FROM sys.columns AS c
JOIN sys.tables AS t ON t.object_id = c.object_id
JOIN sys.types AS ty ON ty.user_type_id = c.user_type_id
WHERE t.is_ms_shipped = 0
""",
    # type 0 is the heap itself, not an index; disabled and hypothetical indexes do no work.
    "indexes": """
SELECT i.object_id AS table_id, i.name AS index_name,
       i.is_primary_key AS is_primary, i.is_unique,
       CAST(CASE WHEN i.is_primary_key = 1 OR i.is_unique_constraint = 1 THEN 1 ELSE 0 END AS bit) AS is_constraint,
       i.type_desc AS access_method, i.has_filter AS is_partial
FROM sys.indexes AS i
JOIN sys.tables AS t ON t.object_id = i.object_id
WHERE t.is_ms_shipped = 0 AND i.type > 0 AND i.is_disabled = 0 AND i.is_hypothetical = 0
""",
    # key_ordinal is 0 for INCLUDE columns (and for columnstore columns, which have no order).
    "index_columns": """
SELECT i.object_id AS table_id, i.name AS index_name, ic.key_ordinal AS position,
       c.name AS column_name, ic.is_included_column AS is_included, ic.is_descending_key AS is_descending
FROM sys.indexes AS i
JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
JOIN sys.tables AS t ON t.object_id = i.object_id
WHERE t.is_ms_shipped = 0 AND i.type > 0 AND i.is_disabled = 0 AND i.is_hypothetical = 0
""",
    "foreign_keys": """
SELECT fk.parent_object_id AS table_id, fk.name AS constraint_name,
       fkc.constraint_column_id AS position, c.name AS column_name,
       rs.name AS referenced_schema, rt.name AS referenced_table
FROM sys.foreign_keys AS fk
JOIN sys.foreign_key_columns AS fkc ON fkc.constraint_object_id = fk.object_id
JOIN sys.tables AS t ON t.object_id = fk.parent_object_id
JOIN sys.columns AS c ON c.object_id = fkc.parent_object_id AND c.column_id = fkc.parent_column_id
JOIN sys.tables AS rt ON rt.object_id = fk.referenced_object_id
JOIN sys.schemas AS rs ON rs.schema_id = rt.schema_id
WHERE t.is_ms_shipped = 0
""",
}

QUERIES: Mapping[str, Mapping[str, str]] = {"postgresql": POSTGRESQL, "mysql": MYSQL, "mssql": MSSQL}

#: access methods whose index can serve a search on its leading columns (left prefix)
BTREE_METHODS = frozenset({"btree", "BTREE", "CLUSTERED", "NONCLUSTERED"})


# -- the structures ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Column:
    name: str
    data_type: str  # as the engine writes it: "character varying(50)", "nvarchar(100)", "int(11)"
    nullable: bool
    ordinal: int
    #: False when data_type is the MariaDB dictionary's estimate: a placeholder such as
    #: "decimal(?5b)", or an integer whose display width the dictionary does not keep
    exact: bool = True
    #: the type without length/precision (base_type) is certain even if ``exact`` is False;
    #: False for placeholders naming several types ("enum|set(?1b)")
    base_exact: bool = True


@dataclass(slots=True)
class Index:
    name: str
    primary: bool
    unique: bool
    #: backs a PRIMARY KEY / UNIQUE constraint (drop the constraint, not the index)
    constraint: bool
    method: str  # btree, hash, gin ... / BTREE, FULLTEXT ... / CLUSTERED, NONCLUSTERED ...
    partial: bool  # WHERE clause (PostgreSQL) / filtered index (SQL Server)
    #: key columns in order; None stands for an expression
    key_columns: tuple[str | None, ...] = ()
    descending: tuple[bool, ...] = ()
    included: frozenset[str] = frozenset()
    #: a partial index's WHERE clause as the engine prints it (PostgreSQL), else None
    predicate: str | None = None

    @property
    def has_expression(self) -> bool:
        return any(c is None for c in self.key_columns)

    @property
    def plain(self) -> bool:
        """A whole-table index on plain columns: the only kind the checks compare."""
        return not self.partial and not self.has_expression and bool(self.key_columns)

    @property
    def btree(self) -> bool:
        return self.method in BTREE_METHODS

    @property
    def keys(self) -> tuple[tuple[str | None, bool], ...]:
        """(column, descending) pairs: two indexes with equal keys order rows the same way."""
        return tuple(zip(self.key_columns, self.descending, strict=True))

    def describe(self) -> str:
        """``ix_a (a, b DESC) INCLUDE (c)`` for evidence."""
        keys = ", ".join(f"{c or '<expr>'}{' DESC' if d else ''}" for c, d in self.keys)
        text = f"{self.name} ({keys})"
        if self.included:
            text += f" INCLUDE ({', '.join(sorted(self.included))})"
        flags = [f for f, on in (("primary key", self.primary), ("unique", self.unique and not self.primary),
                                 ("partial", self.partial)) if on]
        return text + (f" [{', '.join(flags)}]" if flags else "")


@dataclass(frozen=True, slots=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]  # in constraint order
    referenced_schema: str | None
    referenced_table: str


@dataclass(slots=True)
class Table:
    catalog: str
    schema: str | None  # None on MariaDB/MySQL, where the catalog is the schema
    name: str
    rows: int | None  # the engine's estimate
    columns: list[Column] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    #: False when read from MariaDB's InnoDB dictionary, which keeps neither DESC key parts nor
    #: VARCHAR/TEXT prefix lengths: two indexes may read equal that are not (resolve_indexes)
    indexes_exact: bool = True

    @property
    def qualified(self) -> str:
        """catalog.schema.table (catalog.table on MariaDB/MySQL) for a finding's object."""
        return ".".join(p for p in (self.catalog, self.schema, self.name) if p)

    @property
    def primary_key(self) -> Index | None:
        return next((i for i in self.indexes if i.primary), None)


@dataclass
class Catalog:
    """Every table of the catalogs a target diagnoses."""

    engine: str
    catalogs: tuple[str, ...]
    tables: list[Table]
    #: catalogs that could not be read -> why (fit to print); their tables are not in ``tables``
    failed: dict[str, str] = field(default_factory=dict)

    def quote(self, identifier: str) -> str:
        return ENGINES[self.engine].quote(identifier)

    def sql_name(self, table: Table) -> str:
        """The table as written in a statement a person runs: [cat].[schema].[t] on SQL Server
        (three-part names work in ALTER/CREATE/DROP INDEX), "schema"."t" on PostgreSQL (run in
        the table's database), `db`.`t` on MariaDB/MySQL."""
        if self.engine == "postgresql":
            parts = (table.schema, table.name)
        else:
            parts = (table.catalog, table.schema, table.name)
        return ".".join(self.quote(p) for p in parts if p)

    def run_in(self, table: Table) -> str:
        """Appended to a statement: where to run it (a PostgreSQL statement cannot name another
        database; the other engines' statements name it themselves)."""
        return f" (in database {table.catalog})" if self.engine == "postgresql" else ""

    def column_list(self, columns: Sequence[str]) -> str:
        return ", ".join(self.quote(c) for c in columns)


# -- reading ----------------------------------------------------------------------------------

class CatalogError(RuntimeError):
    """The catalog could not be read completely; the message says why and what to change."""


_cache: weakref.WeakKeyDictionary[Any, dict[str, tuple[list[Table], str | None]]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()
_read_locks: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()


def read_catalog(ctx: CheckContext, names: Sequence[str] | None = None) -> Catalog:
    """The catalog(s) ``names`` (default: the target's, see :func:`catalog_names`), each read
    once per open connection (that is, per run) and shared by every check that asks: the
    schema checks and the perf checks that need index definitions."""
    with _cache_lock:
        per_connection = _cache.setdefault(ctx.db, {})
        read_lock = _read_locks.setdefault(ctx.db, threading.Lock())
    with read_lock:
        names = tuple(names) if names is not None else catalog_names(ctx)
        missing = [n for n in dict.fromkeys(names) if n not in per_connection]
        if missing:
            own = dsn_value(ctx.target.dsn, ENGINES[ctx.engine].database_key)
            user = dsn_value(ctx.target.dsn, "UID") or dsn_value(ctx.target.dsn, "USER")
            fresh = _read(ctx.db, ctx.engine, missing, own, user)
            for name in missing:
                per_connection[name] = ([t for t in fresh.tables if t.catalog == name], fresh.failed.get(name))
        unique = list(dict.fromkeys(names))
        failed = {n: per_connection[n][1] for n in unique if per_connection[n][1] is not None}
        return Catalog(ctx.engine, names, [t for n in unique for t in per_connection[n][0]], failed)


def catalog_names(ctx: CheckContext) -> tuple[str, ...]:
    """The target's ``databases``, else the DSN's own database (asked of the server)."""
    if ctx.target.databases:
        return tuple(ctx.target.databases)
    current = ctx.db.scalar(QUERIES[ctx.engine]["current_catalog"])
    if not current:
        raise CatalogError(f"target {ctx.target.name!r} names no database in its dsn: list the catalogs "
                           f"to diagnose under databases = [...]")
    return (str(current),)


def _read(db: Any, engine: str, names: Sequence[str], own: str | None = None, user: str | None = None) -> Catalog:
    """Read ``names``, each in isolation: a catalog that cannot be read is kept in ``failed``
    with the reason and the others are still read. ``own`` is the DSN's database, read over the
    connection already open; ``user`` the monitor's login (named in a missing-grant reason)."""
    if engine == "mysql" and MYSQL_CATALOG_SOURCE == "auto":
        dictionary = _Dictionary.of(db)
        if dictionary is not None:
            return _read_dictionary(db, dictionary, names, user)
    statements = QUERIES[engine]
    tables: list[Table] = []
    failed: dict[str, str] = {}
    for name in names:
        try:
            tables.extend(_read_one(db, engine, statements, name, own, user))
        except (CatalogError, DatabaseError) as exc:
            if isinstance(exc, DatabaseError) and exc.kind == "closed":
                raise  # the connection is gone: the whole target, not this catalog
            failed[name] = _why(engine, name, user, str(exc))
    return Catalog(engine, tuple(names), tables, failed)


def _why(engine: str, name: str, user: str | None, message: str) -> str:
    """The reason a catalog could not be read, naming the grant when one is missing."""
    if engine == "postgresql" and "permission denied for database" in message:
        who = user or "the monitor"
        return (f"catalog {name!r}: {who} may not connect to it (permission denied): "
                f'GRANT CONNECT ON DATABASE "{name}" TO {who}')
    return message


def _read_one(db: Any, engine: str, statements: Mapping[str, str], name: str, own: str | None,
              user: str | None) -> list[Table]:
    # MariaDB filters information_schema by schema name; the others read "their" catalog.
    if engine == "mysql":
        params, where = (name,), None
        if not number(db.scalar(statements["visible"], params)):
            who = f"'{user}'" if user else "the monitor"
            raise CatalogError(f"catalog {name!r} does not exist or {who} has no privilege on it "
                               f"(MariaDB shows a schema only to a user with a grant on it: "
                               f"GRANT REFERENCES ON `{name}`.* TO {who})")
    elif engine == "mssql":
        params, where = (), name  # always an explicit USE: a catalog never leaks in from an earlier read
    else:
        params, where = (), (None if name == own else name)
    rows = {}
    for statement in STATEMENTS:
        result = db.query(statements[statement], params, catalog=where, max_rows=MAX_CATALOG_ROWS)
        if len(result) >= MAX_CATALOG_ROWS:
            raise CatalogError(f"catalog {name}: more than {MAX_CATALOG_ROWS} rows in {statement}; "
                               f"diagnose fewer catalogs per target")
        rows[statement] = result
    return build_catalog(engine, name, rows).tables


@dataclass
class _Dictionary:
    """What every catalog's dictionary read shares: bytes per character of each collation, and
    the whole-dictionary reads (INNODB_SYS_FIELDS)."""

    mbmaxlen: dict[int, int]
    shared: dict[str, Any] = field(default_factory=dict)
    denied: bool = False  # the account lacks PROCESS

    @classmethod
    def of(cls, db: Any) -> _Dictionary | None:
        """None where the server has no InnoDB dictionary tables (MySQL 8 names and codes them
        differently: INNODB_TABLES ...). An account without PROCESS finds out on the first read."""
        try:
            if "mariadb" not in str(db.scalar("SELECT @@version") or "").lower():
                return None
            return cls(innodb_dictionary.collation_maxlen(db))
        except DatabaseError as exc:
            if exc.kind == "closed":
                raise
            log.info("InnoDB dictionary not readable (%s): reading information_schema", exc)
            return None


def _read_dictionary(db: Any, dictionary: _Dictionary, names: Sequence[str], user: str | None) -> Catalog:
    """MariaDB's catalogs from InnoDB's dictionary, each in isolation as :func:`_read` does."""
    statements = QUERIES["mysql"]
    tables: list[Table] = []
    failed: dict[str, str] = {}
    for name in names:
        if dictionary.denied:  # no PROCESS: information_schema, as on MySQL 8
            try:
                tables.extend(_read_one(db, "mysql", statements, name, None, user))
            except (CatalogError, DatabaseError) as exc:
                if isinstance(exc, DatabaseError) and exc.kind == "closed":
                    raise
                failed[name] = _why("mysql", name, user, str(exc))
            continue
        try:
            if not number(db.scalar(statements["visible"], (name,))):
                who = f"'{user}'" if user else "the monitor"
                raise CatalogError(f"catalog {name!r} does not exist or {who} has no privilege on it "
                                   f"(MariaDB shows a schema only to a user with a grant on it: "
                                   f"GRANT REFERENCES ON `{name}`.* TO {who})")
            rows = innodb_dictionary.read_catalog(db, name, exact_types=False, mbmaxlen=dictionary.mbmaxlen,
                                                  shared=dictionary.shared)
            for statement in STATEMENTS:
                if len(rows[statement]) >= MAX_CATALOG_ROWS:
                    raise CatalogError(f"catalog {name}: more than {MAX_CATALOG_ROWS} rows in {statement}; "
                                       f"diagnose fewer catalogs per target")
            tables.extend(build_catalog("mysql", name, rows).tables)
        except (CatalogError, DatabaseError) as exc:
            if isinstance(exc, DatabaseError) and exc.kind == "closed":
                raise
            if isinstance(exc, DatabaseError) and exc.kind == "permission" and "PROCESS" in str(exc).upper():
                log.info("InnoDB dictionary not readable (%s): reading information_schema", exc)
                dictionary.denied = True
                try:
                    tables.extend(_read_one(db, "mysql", statements, name, None, user))
                except (CatalogError, DatabaseError) as again:
                    if isinstance(again, DatabaseError) and again.kind == "closed":
                        raise
                    failed[name] = _why("mysql", name, user, str(again))
                continue
            failed[name] = _why("mysql", name, user, str(exc))
    return Catalog("mysql", tuple(names), tables, failed)


def resolve_types(db: Any, tables: Iterable[Table]) -> None:
    """Replace the placeholder column types of ``tables`` (MariaDB dictionary reads) with
    information_schema's exact ones: opens those tables' .frm only. Before any type is shown
    or recommended."""
    by_catalog: dict[str, dict[str, Table]] = {}
    for table in tables:
        if any(not c.exact for c in table.columns):
            by_catalog.setdefault(table.catalog, {})[table.name] = table
    for catalog, named in by_catalog.items():
        exact: dict[str, list[Column]] = {}
        for row in innodb_dictionary.exact_columns(db, catalog, sorted(named)):
            exact.setdefault(row["table_id"], []).append(
                Column(row["column_name"], str(row["data_type"]), truthy(row["is_nullable"]), int(row["ordinal"])))
        for name, table in named.items():
            if name in exact:  # a table dropped since the read keeps its estimate
                table.columns = sorted(exact[name], key=lambda c: c.ordinal)


def resolve_indexes(db: Any, tables: Iterable[Table]) -> None:
    """Re-read the indexes of ``tables`` (MariaDB dictionary reads) from information_schema,
    with DESC and prefix lengths: before a check reports two indexes as equal or one as the
    prefix of another. Opens those tables only."""
    by_catalog: dict[str, dict[str, Table]] = {}
    for table in tables:
        if not table.indexes_exact:
            by_catalog.setdefault(table.catalog, {})[table.name] = table
    for catalog, named in by_catalog.items():
        rows = innodb_dictionary.exact_indexes(db, catalog, sorted(named))
        fresh = build_catalog("mysql", catalog, {
            "tables": [{"table_id": n, "schema_name": catalog, "table_name": n, "row_count": None} for n in named],
            "columns": [], "foreign_keys": [], **rows})
        for table in fresh.tables:
            named[table.name].indexes = table.indexes
            named[table.name].indexes_exact = True


def build_catalog(engine: str, catalog: str, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> Catalog:
    """Tables of ``catalog`` from the rows of the five statements (columns as in QUERIES)."""
    tables: dict[Any, Table] = {}
    for row in rows["tables"]:
        count = row["row_count"]
        schema = None if engine == "mysql" else row["schema_name"]
        tables[row["table_id"]] = Table(catalog, schema, row["table_name"],
                                        None if count is None else int(number(count)),
                                        indexes_exact=_flag(row.get("indexes_exact", 1)))

    # one pass over the columns (the largest row set), sorted per table afterwards
    get = tables.get
    mssql = engine == "mssql"
    for row in rows["columns"]:
        table = get(row["table_id"])
        if table is not None:  # MariaDB also lists the columns of views
            data_type = mssql_type(row) if mssql else str(row["data_type"])
            table.columns.append(Column(row["column_name"], data_type, _flag(row["is_nullable"]), int(row["ordinal"]),
                                        _flag(row.get("type_exact", 1)), _flag(row.get("base_exact", 1))))
    for table in tables.values():
        table.columns.sort(key=_ORDINAL)

    indexes: dict[tuple[Any, str], Index] = {}
    for row in rows["indexes"]:
        table = tables.get(row["table_id"])
        if table is None or row["index_name"] is None:
            continue
        index = Index(row["index_name"], _flag(row["is_primary"]), _flag(row["is_unique"]),
                      _flag(row["is_constraint"]), str(row["access_method"]), _flag(row["is_partial"]))
        index.predicate = row.get("predicate")
        indexes[(row["table_id"], row["index_name"])] = index
        table.indexes.append(index)
    _attach_index_columns(indexes, rows["index_columns"])

    constraints: dict[tuple[Any, str], list[Mapping[str, Any]]] = {}
    for row in rows["foreign_keys"]:
        constraints.setdefault((row["table_id"], row["constraint_name"]), []).append(row)
    for (table_id, name), members in constraints.items():
        table = tables.get(table_id)
        if table is None:
            continue
        members.sort(key=lambda r: int(r["position"]))
        first = members[0]
        referenced_schema = first["referenced_schema"]
        if engine == "mysql" and referenced_schema == catalog:
            referenced_schema = None
        table.foreign_keys.append(ForeignKey(name, tuple(r["column_name"] for r in members),
                                             referenced_schema, first["referenced_table"]))
    return Catalog(engine, (catalog,), list(tables.values()))


_ORDINAL = operator.attrgetter("ordinal")


def _flag(value: Any) -> bool:
    """_flag(), without its string handling for the common 0/1 and bool values."""
    if value is True or value is False:
        return value
    if type(value) is int:
        return value != 0
    return _flag(value)


def _attach_index_columns(indexes: Mapping[tuple[Any, str], Index], rows: Sequence[Mapping[str, Any]]) -> None:
    members: dict[tuple[Any, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        members.setdefault((row["table_id"], row["index_name"]), []).append(row)
    for key, index in indexes.items():
        columns = members.get(key, [])
        keyed = sorted((r for r in columns if not _flag(r["is_included"]) and int(r["position"]) > 0),
                       key=lambda r: int(r["position"]))
        index.key_columns = tuple(r["column_name"] for r in keyed)
        index.descending = tuple(_flag(r["is_descending"]) for r in keyed)
        # INCLUDE columns, and SQL Server columnstore columns (position 0: no key order)
        index.included = frozenset(r["column_name"] for r in columns
                                   if (_flag(r["is_included"]) or int(r["position"]) <= 0) and r["column_name"])


# SQL Server types whose max_length is in bytes of two-byte characters, or with a length at all
_MSSQL_UNICODE = frozenset({"nchar", "nvarchar"})
_MSSQL_SIZED = frozenset({"char", "varchar", "binary", "varbinary", "nchar", "nvarchar"})
_MSSQL_PRECISE = frozenset({"decimal", "numeric"})
_MSSQL_SCALED = frozenset({"datetime2", "datetimeoffset", "time"})


def mssql_type(row: Mapping[str, Any]) -> str:
    """A sys.columns row's type as T-SQL writes it: nvarchar(50), varchar(max), decimal(18,2)."""
    name = str(row["type_name"])
    if name in _MSSQL_SIZED:
        length = int(row["max_length"])
        if length == -1:
            return f"{name}(max)"
        return f"{name}({length // 2 if name in _MSSQL_UNICODE else length})"
    if name in _MSSQL_PRECISE:
        return f"{name}({int(row['precision'])},{int(row['scale'])})"
    if name in _MSSQL_SCALED:
        return f"{name}({int(row['scale'])})"
    return name


@functools.lru_cache(maxsize=8192)  # a catalog has few distinct type spellings, many columns
def base_type(data_type: str) -> str:
    """The type without length/precision: "character varying(50)" -> "character varying",
    "int(11) unsigned" -> "int unsigned", "nvarchar(max)" -> "nvarchar"."""
    return " ".join(re.sub(r"\([^)]*\)", " ", data_type).lower().split())


# -- the base of every schema check, and the statements the checks recommend -------------------

class SchemaCheck(Check):
    """A normalization check: analyses the shared catalog read in ``findings(ctx, catalog)``."""

    engines = frozenset({"mssql", "postgresql", "mysql"})
    queries = QUERIES  # the catalog read every schema check shares
    catalog_statements = frozenset(STATEMENTS) | {"current_catalog"}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        catalog = read_catalog(ctx)
        for name in catalog.catalogs:
            if name in catalog.failed:
                ctx.not_examined(self.id, catalog.failed[name], catalog=name)
                ctx.error(catalog.failed[name], catalog=name, what="schema.*")
            else:
                ctx.examined("tables", sum(1 for t in catalog.tables if t.catalog == name), catalog=name)
        if catalog.failed and len(catalog.failed) == len(catalog.catalogs):
            return  # nothing was read: the errors above say why, no finding can be true
        yield from self.findings(ctx, catalog)

    def findings(self, ctx: CheckContext, catalog: Catalog) -> Iterator[Finding]:
        raise NotImplementedError


class IndexCheck(SchemaCheck):
    """A check comparing the indexes of each table (``table_findings``). Tables whose indexes
    were read from MariaDB's dictionary (no DESC, no prefix lengths) and that have a finding are
    re-read exactly, in one batch, before anything is reported."""

    def findings(self, ctx: CheckContext, catalog: Catalog) -> Iterator[Finding]:
        suspects = [t for t in catalog.tables if not t.indexes_exact and self.suspect(ctx, catalog, t)]
        if suspects:
            resolve_indexes(ctx.db, suspects)
        for table in catalog.tables:
            yield from self.table_findings(ctx, catalog, table)

    def suspect(self, ctx: CheckContext, catalog: Catalog, table: Table) -> bool:
        """Could the exact indexes of ``table`` give a finding? Yes if the coarse ones do (the
        dictionary only makes different indexes look equal, never equal ones different)."""
        return next(self.table_findings(ctx, catalog, table), None) is not None

    def table_findings(self, ctx: CheckContext, catalog: Catalog, table: Table) -> Iterator[Finding]:
        raise NotImplementedError


_NAME_LIMIT = {"postgresql": 63, "mysql": 64, "mssql": 128}


def new_index_name(catalog: Catalog, table: Table, columns: Sequence[str]) -> str:
    """ix_<table>_<columns>, within the engine's identifier length, not taken on the table."""
    limit = _NAME_LIMIT[catalog.engine]
    name = "_".join(["ix", table.name, *[re.sub(r"\W", "", c) for c in columns]])[:limit]
    taken = {i.name.lower() for i in table.indexes}
    suffix = 2
    while name.lower() in taken:
        name = f"{name[:limit - 4]}_{suffix}"
        suffix += 1
    return name


def create_index_sql(catalog: Catalog, table: Table, columns: Sequence[str]) -> str:
    """The CREATE INDEX statement for ``columns`` of ``table``, identifiers quoted."""
    name = catalog.quote(new_index_name(catalog, table, columns))
    target = f"{catalog.sql_name(table)} ({catalog.column_list(columns)})"
    if catalog.engine == "postgresql":
        return f"CREATE INDEX CONCURRENTLY {name} ON {target};"
    if catalog.engine == "mssql":
        return f"CREATE NONCLUSTERED INDEX {name} ON {target};"
    return f"CREATE INDEX {name} ON {target};"


def drop_index_sql(catalog: Catalog, table: Table, index: Index) -> str:
    """The statement that removes ``index``: DROP INDEX, or DROP CONSTRAINT when it backs a
    UNIQUE constraint (the engine refuses to drop such an index directly)."""
    name = catalog.quote(index.name)
    if catalog.engine == "mysql":
        return f"ALTER TABLE {catalog.sql_name(table)} DROP INDEX {name};"
    if index.constraint:
        return f"ALTER TABLE {catalog.sql_name(table)} DROP CONSTRAINT {name};"
    if catalog.engine == "postgresql":
        return f"DROP INDEX CONCURRENTLY {catalog.quote(table.schema or 'public')}.{name};"
    return f"DROP INDEX {name} ON {catalog.sql_name(table)};"
