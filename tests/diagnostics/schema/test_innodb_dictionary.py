"""The InnoDB-dictionary catalog reader against information_schema on a real MariaDB: every
row set equal (as multisets) to what the information_schema statements return, a test per
column type, the known gaps pinned down, sizes equal to information_schema.TABLES'."""

from __future__ import annotations

import uuid

import pytest

from l4agent.diagnostics.schema import innodb_dictionary as R

#: keys the dictionary rows carry beyond information_schema's (certainty flags)
EXTRA_KEYS = {"type_exact", "base_exact", "indexes_exact"}

# (declaration, exact from the dictionary alone? True / False = flagged inexact / None = known gap)
TYPES = [
    ("TINYINT", True), ("TINYINT UNSIGNED", True), ("SMALLINT", True), ("SMALLINT UNSIGNED", True),
    ("MEDIUMINT", True), ("MEDIUMINT UNSIGNED", True), ("INT", True), ("INT UNSIGNED", True),
    ("BIGINT", True), ("BIGINT UNSIGNED", True),
    # known gaps: a declared display width or ZEROFILL lives only in the .frm (read as the default)
    ("BOOLEAN", None), ("INT(5)", None), ("INT ZEROFILL", None),
    ("FLOAT", True), ("DOUBLE", True),
    ("DECIMAL(10,2)", False), ("DECIMAL(15,4) UNSIGNED", False),
    ("CHAR(5)", True), ("CHAR(5) CHARACTER SET latin1", True), ("CHAR(10) CHARACTER SET utf8mb3", True),
    ("VARCHAR(20)", True), ("VARCHAR(300) CHARACTER SET latin1", True), ("VARCHAR(50) CHARACTER SET ucs2", True),
    ("BINARY(16)", True), ("VARBINARY(30)", True),
    ("TINYTEXT", True), ("TEXT", True), ("MEDIUMTEXT", True), ("LONGTEXT", True), ("JSON", True),
    ("TINYBLOB", True), ("BLOB", True), ("MEDIUMBLOB", True), ("LONGBLOB", True),
    ("DATE", True), ("DATETIME", True), ("DATETIME(3)", False), ("DATETIME(6)", False),
    ("TIMESTAMP NULL", True), ("TIMESTAMP(6) NULL", False), ("TIME", True), ("TIME(2)", False), ("YEAR", True),
    ("BIT(1)", False), ("BIT(12)", False),
    ("ENUM('a','b')", False), ("SET('x','y','z')", False),
    ("UUID", False), ("INET6", False),
]


@pytest.fixture
def server(mariadb_server):
    return mariadb_server


@pytest.fixture
def db(server):
    name = f"l4t_{uuid.uuid4().hex[:10]}"
    server.execute_admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    yield name
    server.execute_admin(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def conn(server):
    c = server.admin_connect()
    yield c
    c.close()


def reference(conn, catalog):
    """The catalog module's five statements, through information_schema, for every table."""
    names = sorted(r["table_name"] for r in R._query(conn, R._LIST, (catalog,)) if r["table_type"] == "BASE TABLE")
    if not names:
        return {s: [] for s in R.STATEMENTS}
    return R._read_through_information_schema(conn, catalog, names, R.STATEMENTS)


def norm(rows):
    return sorted(tuple(sorted((k, None if v is None else str(v)) for k, v in r.items() if k not in EXTRA_KEYS))
                  for r in rows)


def assert_same(conn, catalog, statements=R.STATEMENTS, exact_types=True):
    mine = R.read_catalogs(conn, [catalog], exact_types=exact_types)[catalog]
    ref = reference(conn, catalog)
    for s in statements:
        assert norm(mine[s]) == norm(ref[s]), s
    return mine


@pytest.mark.parametrize(("declaration", "exact"), TYPES, ids=[t for t, _ in TYPES])
def test_column_type(server, db, conn, declaration, exact):
    server.execute_admin([f"CREATE TABLE t (id INT PRIMARY KEY, c {declaration}, n {declaration} NOT NULL)"], database=db)
    reports = {}
    fast = R.read_catalogs(conn, [db], exact_types=False, reports=reports)[db]["columns"]
    ref = {r["column_name"]: r for r in reference(conn, db)["columns"]}
    got = {r["column_name"]: r for r in fast}
    for name in ("c", "n"):
        assert got[name]["is_nullable"] == ref[name]["is_nullable"]
        assert got[name]["ordinal"] == ref[name]["ordinal"]
        # the catalog trusts a spelling only when type_exact: never for an integer (display
        # width / ZEROFILL live in the .frm only), never for a placeholder
        integer = declaration.split("(")[0].split()[0] in ("TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "BOOLEAN")
        assert got[name]["type_exact"] == int(bool(exact) and not integer)
        if exact is None:  # known gap: the default width is reported, flagged as not exact
            assert got[name]["data_type"] != ref[name]["data_type"]
        elif exact:
            assert got[name]["data_type"] == ref[name]["data_type"]
        else:  # flagged inexact, and the exact read replaces it with information_schema's
            assert ("t", name) in {(t, c) for t, c, _ in reports[db].inexact_columns}
    if exact is False:
        assert_same(conn, db, ("columns",), exact_types=True)
    if not exact:  # what the catalog's resolve_types reads before a type is shown
        assert norm(R.exact_columns(conn, db, ["t"])) == norm(reference(conn, db)["columns"])


def test_inexact_placeholders_are_stable(server, db, conn):
    """Equal declarations get equal placeholder strings in the fast mode."""
    server.execute_admin(["CREATE TABLE a (id INT PRIMARY KEY, v DECIMAL(15,2), e ENUM('x'))",
                          "CREATE TABLE b (id INT PRIMARY KEY, v DECIMAL(15,2), e ENUM('x'))"], database=db)
    cols = R.read_catalogs(conn, [db], exact_types=False)[db]["columns"]
    by = {(r["table_id"], r["column_name"]): r["data_type"] for r in cols}
    assert by["a", "v"] == by["b", "v"] and by["a", "e"] == by["b", "e"]
    exact = {(r["table_id"], r["column_name"]): r["data_type"] for r in R.exact_columns(conn, db, ["a"])}
    assert exact == {("a", "id"): "int(11)", ("a", "v"): "decimal(15,2)", ("a", "e"): "enum('x')"}


def test_indexes_keys_and_foreign_keys(server, db, conn):
    server.execute_admin([
        "CREATE TABLE parent (id INT PRIMARY KEY, a INT, b INT, code VARCHAR(10) NOT NULL, UNIQUE KEY uq_code (code), "
        "UNIQUE KEY uq_ab (a, b))",
        "CREATE TABLE child (x INT, y INT, pid INT, pa INT, pb INT, note TEXT, PRIMARY KEY (y, x), "
        "KEY ix_pid (pid), KEY ix_three (pb, pa, x), FULLTEXT KEY ft_note (note), "
        "CONSTRAINT fk_parent FOREIGN KEY (pid) REFERENCES parent (id), "
        "CONSTRAINT fk_ab FOREIGN KEY (pa, pb) REFERENCES parent (a, b))",
        "CREATE TABLE heap (a INT, b INT, KEY ix_b (b))",  # hidden primary key (GEN_CLUST_INDEX)
        "CREATE TABLE lu (id INT PRIMARY KEY, body BLOB, UNIQUE KEY uq_body (body))",  # long unique (hash)
        "CREATE TABLE gen (id INT PRIMARY KEY, a INT, v INT AS (a + 1) VIRTUAL, s INT AS (a * 2) STORED, "
        "z INT, KEY ix_v (v))",
        "CREATE TABLE inv (id INT PRIMARY KEY, hidden_col INT INVISIBLE, z INT)",
    ], database=db)
    server.execute_admin(["CREATE TABLE pre (id INT PRIMARY KEY, t TEXT, v VARCHAR(50), KEY ix_t (t(10), id))"],
                         database=db)
    mine = assert_same(conn, db)
    primary = {r["table_id"] for r in mine["indexes"] if r["is_primary"]}
    assert "heap" not in primary and {"parent", "child", "lu", "gen", "inv"} <= primary
    assert {r["column_name"] for r in mine["columns"] if r["table_id"] == "child"} == {"x", "y", "pid", "pa", "pb", "note"}


def test_other_catalog_reference(server, db, conn):
    other = db + "_o"
    server.execute_admin([f"CREATE DATABASE `{other}`", f"CREATE TABLE `{other}`.p (id INT PRIMARY KEY)",
                          f"CREATE TABLE `{db}`.c (id INT PRIMARY KEY, pid INT, KEY (pid), "
                          f"CONSTRAINT fk_o FOREIGN KEY (pid) REFERENCES `{other}`.p (id))"])
    try:
        mine = assert_same(conn, db)
        assert mine["foreign_keys"][0]["referenced_schema"] == other
        both = R.read_catalogs(conn, [db, other])  # several catalogs in one call
        assert norm(both[other]["indexes"]) == norm(reference(conn, other)["indexes"])
        assert norm(both[db]["index_columns"]) == norm(reference(conn, db)["index_columns"])
    finally:
        server.execute_admin([f"DROP DATABASE `{db}`", f"DROP DATABASE `{other}`"])


@pytest.mark.parametrize("name", ["a-b", "spaces in name", "ümlaut_Ä", "日本語", "dollar$", "dot.ted", "x@y", "per%cent"])
def test_special_table_names(server, db, conn, name):
    quoted = "`" + name + "`"
    server.execute_admin([
        f"CREATE TABLE {quoted} (id INT PRIMARY KEY, `col {name}` INT, KEY `ix {name}` (`col {name}`))",
        f"CREATE TABLE `ref {name}` (id INT PRIMARY KEY, rid INT, KEY (rid), "
        f"CONSTRAINT `fk {name}` FOREIGN KEY (rid) REFERENCES {quoted} (id))",
    ], database=db)
    mine = assert_same(conn, db)
    assert name in {r["table_name"] for r in mine["tables"]}


def test_special_catalog_name(server, conn):
    name = f"l4t-{uuid.uuid4().hex[:6]} ä_x"
    server.execute_admin([f"CREATE DATABASE `{name}`",
                          f"CREATE TABLE `{name}`.t (id INT PRIMARY KEY, v DECIMAL(9,3))",
                          # a catalog whose encoded name matches the first one's LIKE pattern if '_' were a wildcard
                          f"CREATE DATABASE `{name.replace('_', 'Q')}`",
                          f"CREATE TABLE `{name.replace('_', 'Q')}`.u (id INT PRIMARY KEY)"])
    try:
        mine = assert_same(conn, name)
        assert [r["table_name"] for r in mine["tables"]] == ["t"]
        full = int(R._query(conn, "SELECT SUM(data_length + index_length) AS s FROM information_schema.tables "
                                  "WHERE table_schema = ?", (name,))[0]["s"])
        assert R.read_sizes(conn, [name])[name] == full
    finally:
        server.execute_admin([f"DROP DATABASE `{name}`", f"DROP DATABASE `{name.replace('_', 'Q')}`"])


def test_non_innodb_tables_fall_back(server, db, conn):
    server.execute_admin([
        "CREATE TABLE inno (id INT PRIMARY KEY, v INT)",
        "CREATE TABLE mi (id INT PRIMARY KEY, v INT, KEY ix_v (v)) ENGINE=MyISAM",
        "CREATE TABLE ar (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=Aria",
        "CREATE TABLE mem (id INT PRIMARY KEY, v INT, KEY ix_v (v) USING HASH) ENGINE=MEMORY",
        "CREATE TABLE part (id INT PRIMARY KEY, v INT) PARTITION BY HASH (id) PARTITIONS 3",
        "CREATE VIEW vw AS SELECT id FROM inno",
    ], database=db)
    reports = {}
    R.read_catalogs(conn, [db], reports=reports)
    assert reports[db].fallback_tables == ["ar", "mem", "mi", "part"]
    assert reports[db].innodb_tables == 1
    assert_same(conn, db)


def test_empty_and_missing_catalog(server, db, conn):
    empty = {s: [] for s in R.STATEMENTS}
    assert R.read_catalogs(conn, [db]) == {db: empty}
    assert R.read_catalogs(conn, ["no_such_catalog_x"]) == {"no_such_catalog_x": empty}


def test_monitor_with_process_reads_dictionary(server, db, conn):
    """PROCESS (the monitor has it) is enough for INNODB_SYS_*; information_schema.TABLES lists
    only the schemas the account has some privilege on (the project grants REFERENCES)."""
    server.execute_admin(["CREATE TABLE t (id INT PRIMARY KEY, v DECIMAL(8,2))"], database=db)
    server.execute_admin(f"GRANT REFERENCES ON `{db}`.* TO 'l4monitor'@'127.0.0.1'")
    monitor = server.monitor_connect()
    try:
        reports = {}
        mine = R.read_catalogs(monitor, [db], reports=reports)[db]
        assert norm(mine["columns"]) == norm(reference(conn, db)["columns"])
        assert reports[db].row_counts in ("innodb_table_stats", "innodb_sys_tablestats")
    finally:
        monitor.close()
        server.execute_admin(f"REVOKE REFERENCES ON `{db}`.* FROM 'l4monitor'@'127.0.0.1'")


def test_sizes(server, db, conn):
    server.execute_admin(["CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(200), KEY (v))",
                          "INSERT INTO a SELECT seq, REPEAT('x', 150) FROM seq_1_to_5000",
                          "CREATE TABLE m (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=MyISAM",
                          "INSERT INTO m SELECT seq, REPEAT('y', 150) FROM seq_1_to_2000",
                          "ANALYZE TABLE a"], database=db)
    full = int(R._query(conn, "SELECT SUM(data_length + index_length) AS s FROM information_schema.tables "
                              "WHERE table_schema = ?", (db,))[0]["s"])
    assert R.read_sizes(conn, [db])[db] == full
    server.execute_admin(f"GRANT REFERENCES ON `{db}`.* TO 'l4monitor'@'127.0.0.1'")
    monitor = server.monitor_connect()  # granted SELECT on mysql.innodb_table_stats (the fixture)
    try:
        assert R.read_sizes(monitor, [db])[db] == full
        # without that grant: the slow exact path
        server.execute_admin("REVOKE SELECT ON mysql.innodb_table_stats FROM 'l4monitor'@'127.0.0.1'")
        try:
            monitor.close()
            monitor = server.monitor_connect()
            assert R.read_sizes(monitor, [db])[db] == full
        finally:
            server.execute_admin("GRANT SELECT ON mysql.innodb_table_stats TO 'l4monitor'@'127.0.0.1'")
    finally:
        monitor.close()
        server.execute_admin(f"REVOKE REFERENCES ON `{db}`.* FROM 'l4monitor'@'127.0.0.1'")


def test_known_index_gaps(server, db, conn):
    """DESC key parts and prefixes of VARCHAR columns are not in the dictionary (gap, notes.md):
    the fast read reports plain ascending whole-column keys for them."""
    server.execute_admin(["CREATE TABLE g (id INT PRIMARY KEY, a INT, v VARCHAR(50), KEY ix_d (a DESC), KEY ix_p (v(5)))"],
                         database=db)
    mine = R.read_catalogs(conn, [db])[db]["index_columns"]
    ref = reference(conn, db)["index_columns"]
    got = {r["index_name"]: (r["column_name"], r["is_descending"]) for r in mine}
    want = {r["index_name"]: (r["column_name"], r["is_descending"]) for r in ref}
    assert want["ix_d"] == ("a", 1) and got["ix_d"] == ("a", 0)
    assert want["ix_p"] == ("v(5)", 0) and got["ix_p"] == ("v", 0)


# -- the catalog module on top of the reader ----------------------------------------------------

def _catalog_shape(catalog):
    return sorted((t.name, t.rows, tuple((c.name, c.data_type, c.nullable, c.ordinal) for c in t.columns),
                   tuple(sorted((i.name, i.primary, i.unique, i.method, i.keys) for i in t.indexes)),
                   tuple(sorted(t.foreign_keys, key=lambda f: f.name))) for t in catalog.tables)


def test_catalog_reads_the_dictionary_and_resolves_to_information_schema(server, db, conn, monkeypatch):
    """On MariaDB the catalog comes from the dictionary (placeholders flagged, indexes marked
    inexact); resolve_types/resolve_indexes make it equal to the information_schema read."""
    from l4agent.diagnostics.schema import catalog as C

    server.execute_admin([
        "CREATE TABLE p (id INT PRIMARY KEY, amount DECIMAL(10,2) NOT NULL, kind ENUM('a','b'), b BOOLEAN)",
        "CREATE TABLE c (id INT PRIMARY KEY, pid INT, v VARCHAR(40), KEY ix_d (pid DESC), KEY ix_p (v(5)), "
        "KEY ix_v (v), CONSTRAINT fk_p FOREIGN KEY (pid) REFERENCES p (id))",
        "CREATE TABLE a (id INT PRIMARY KEY, t DATETIME(3)) ENGINE=Aria",
    ], database=db)

    class Db:  # the project's query interface over the admin connection
        def query(self, sql, params=(), catalog=None, max_rows=None):
            return R._query(conn, sql, params)

        def scalar(self, sql, params=()):
            return next(iter(self.query(sql, params)[0].values()))

    fast = C._read(Db(), "mysql", [db])
    by_name = {t.name: t for t in fast.tables}
    amount = next(c for c in by_name["p"].columns if c.name == "amount")
    assert amount.data_type.startswith("decimal(?") and not amount.exact and amount.base_exact
    assert not next(c for c in by_name["p"].columns if c.name == "kind").base_exact
    assert not by_name["c"].indexes_exact and by_name["a"].indexes_exact  # Aria: information_schema
    monkeypatch.setattr(C, "MYSQL_CATALOG_SOURCE", "information_schema")
    reference_catalog = C._read(Db(), "mysql", [db])
    assert all(c.exact for t in reference_catalog.tables for c in t.columns)
    C.resolve_types(Db(), fast.tables)
    C.resolve_indexes(Db(), fast.tables)
    assert _catalog_shape(fast) == _catalog_shape(reference_catalog)


def test_without_process_the_catalog_falls_back_to_information_schema(server, db, conn):
    """INNODB_SYS_* need PROCESS: an account without it gets the information_schema read (exact
    types, slower), not an error and not an empty catalog."""
    from l4agent.dbaccess.connection import DatabaseError
    from l4agent.diagnostics.schema import catalog as C

    server.execute_admin(["CREATE TABLE t (id INT PRIMARY KEY, amount DECIMAL(10,2))"], database=db)
    account = f"'{server.monitor_user}'@'127.0.0.1'"
    server.execute_admin([f"GRANT REFERENCES ON `{db}`.* TO {account}", f"REVOKE PROCESS ON *.* FROM {account}"])
    monitor = server.monitor_connect()

    class Db:
        def query(self, sql, params=(), catalog=None, max_rows=None):
            try:
                return R._query(monitor, sql, params)
            except Exception as exc:  # as the project's Connection describes it
                kind = "permission" if "access denied; you need" in str(exc).lower() else "query"
                raise DatabaseError(str(exc), kind) from None

        def scalar(self, sql, params=()):
            return next(iter(self.query(sql, params)[0].values()))

    try:
        with pytest.raises(DatabaseError):
            Db().query("SELECT name FROM information_schema.innodb_sys_tables LIMIT 1")
        catalog = C._read(Db(), "mysql", [db])
    finally:
        monitor.close()
        server.execute_admin([f"GRANT PROCESS ON *.* TO {account}", f"REVOKE REFERENCES ON `{db}`.* FROM {account}"])
    (table,) = catalog.tables
    assert [(c.name, c.data_type, c.exact) for c in table.columns] == [("id", "int(11)", True),
                                                                       ("amount", "decimal(10,2)", True)]
    assert table.indexes_exact


def test_redundant_index_behind_a_coarse_duplicate_is_found(mariadb_server, tmp_path):
    """The dictionary reads ix_a (a DESC) and ix_a2 (a) as equal: a duplicate pair that both lead
    ix_ab, which hides them from schema.redundant_index. Exactly, they differ and ix_a2 is a left
    prefix of ix_ab: the check re-reads such tables before it decides (run alone, without
    schema.duplicate_index having re-read them first)."""
    from l4agent.diagnostics.runner import run_diagnostics
    from tests.diagnostics.schema_support import planted

    ddl = ["CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, KEY ix_a (a DESC), KEY ix_a2 (a), KEY ix_ab (a, b))"]
    with planted(mariadb_server, ddl, tmp_path) as erp:
        result = run_diagnostics(erp.config, ["schema.redundant_index"])
        assert result.errors == []
        assert [f.object for f in result.findings] == [erp.obj("t", "ix_a2")]
        duplicates = run_diagnostics(erp.config, ["schema.duplicate_index"])
        assert duplicates.errors == [] and duplicates.findings == []
