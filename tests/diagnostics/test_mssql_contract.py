"""The SQL Server contract, over every statement the agent sends (issue 16, "what to build"):

1. **Documented schema**: every column reference of every T-SQL statement (collector steps, each
   check's ``queries["mssql"]``, the schema catalog read, session set-up, USE) resolves against
   tests/data/mssql/documented_schema.json (sqlglot ``tsql``), and none is newer than the 2016
   floor unless the statement is version-guarded (``-- l4agent:version-guarded``).
2. **Catalog context is explicit**: a statement that reads one catalog's own objects is named in
   its check's ``catalog_statements``, every other one is server-scoped; the declaration agrees
   with the documented ``scope`` of what it reads, and every mssql check, driven through the real
   Connection over a recording ODBC session, runs each statement in the context it declares.
"""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from l4agent.agent.configuration import parse_config
from l4agent.collectors.database import mssql
from l4agent.dbaccess.engines import ENGINES
from l4agent.diagnostics.registry import all_checks
from l4agent.diagnostics.runner import run_diagnostics
from tests.support import tsql_resolve
from tests.support.fake_mssql import FakeServer

SCHEMA = tsql_resolve.Schema()
SESSION_VALUES = {"lock_ms": 5000, "lock_s": 5, "statement_ms": 10000, "statement_s": "10"}
# sqlglot (30.x) cannot parse this documented statement
# (https://learn.microsoft.com/sql/t-sql/statements/set-transaction-isolation-level-transact-sql).
SQLGLOT_GAPS = {"SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED"}
MSSQL_CHECKS = [c for c in all_checks() if "mssql" in c.engines and c.queries.get("mssql")]


def mssql_statements() -> list[tuple[str, str]]:
    """(where, sql) for every statement sent to SQL Server, gathered from the code objects."""
    found: dict[str, str] = {}
    for step in mssql.STEPS:
        found.setdefault(step.sql, f"collector:{step.name}")
    for check in all_checks():
        for name, sql in check.queries.get("mssql", {}).items():
            found.setdefault(sql, f"{check.id}:{name}")
    engine = ENGINES["mssql"]
    for statement in engine.session_setup:
        found.setdefault(statement.format(**SESSION_VALUES), "session_setup")
    found.setdefault(engine.current_catalog_sql, "current_catalog")
    found.setdefault(engine.use_statement("workcube_cf"), "use")
    return [(where, sql) for sql, where in found.items()]


STATEMENTS = mssql_statements()


def test_every_statement_source_is_gathered():
    wheres = {w.split(":")[0] for w, _ in STATEMENTS}
    assert {"collector", "session_setup", "use", "perf.blocking", "backup.never",
            "schema.no_primary_key", "security.guest_access", "capacity.database_growth_forecast"} <= wheres
    assert len(STATEMENTS) >= 40


@pytest.mark.parametrize(("where", "sql"), STATEMENTS, ids=[w for w, _ in STATEMENTS])
def test_statement_resolves_against_the_documented_schema(where, sql):
    result = tsql_resolve.check(sql, SCHEMA)
    if sql in SQLGLOT_GAPS:
        assert not result.parsed, "sqlglot parses it now: drop it from SQLGLOT_GAPS"
        return
    assert result.parsed, f"{where}: {result.error}"
    assert result.ok, f"{where}: " + "; ".join(str(p) for p in result.problems)


def test_every_object_read_is_documented_with_its_page_and_scope():
    read = set()
    for _, sql in STATEMENTS:
        read |= tsql_resolve.check(sql, SCHEMA).objects
    assert len(read) >= 40
    for name in read:
        obj = SCHEMA.lookup(name)
        assert obj is not None, name
        assert obj["doc"].startswith("https://learn.microsoft.com/"), name
        assert obj["scope"] in ("server", "database"), name


# -- the resolver fails on what it must fail on (planted defects) -------------------------------

CLEAN = """
SELECT s.session_id, r.blocking_session_id, LEFT(t.text, 100) AS sql_text
FROM sys.dm_exec_sessions AS s
JOIN sys.dm_exec_requests AS r ON r.session_id = s.session_id
OUTER APPLY sys.dm_exec_sql_text(r.sql_handle) AS t
WHERE s.is_user_process = 1 AND r.blocking_session_id > 0
"""


def kinds(sql: str) -> set[tuple[str, str, str]]:
    result = tsql_resolve.check(sql, SCHEMA)
    assert result.parsed, result.error
    return {(p.kind, p.object, p.column) for p in result.problems}


def test_clean_statement_passes():
    assert kinds(CLEAN) == set()


def test_misspelt_column_fails():
    assert ("unknown", "sys.dm_exec_sessions", "is_user_proces") in kinds(
        CLEAN.replace("s.is_user_process", "s.is_user_proces"))


def test_column_of_an_applied_function_is_checked():
    assert ("unknown", "sys.dm_exec_sql_text", "txt") in kinds(CLEAN.replace("t.text", "t.txt"))


def test_column_newer_than_the_floor_fails_unless_guarded():
    sql = "SELECT d.name, d.physical_database_name FROM sys.databases AS d"
    assert ("newer", "sys.databases", "physical_database_name") in kinds(sql)
    assert kinds("-- l4agent:version-guarded (EngineEdition = 8)\n" + sql) == set()


def test_unknown_object_fails():
    assert ("undocumented_object", "sys.dm_os_ring_buffers", "*") in kinds(
        "SELECT rb.record FROM sys.dm_os_ring_buffers AS rb")


def test_cte_outputs_are_checked():
    sql = ("WITH n AS (SELECT bs.database_name, MAX(bs.backup_finish_date) AS finished "
           "FROM msdb.dbo.backupset AS bs GROUP BY bs.database_name) SELECT n.finishd FROM n")
    assert ("unknown", "derived:n", "finishd") in kinds(sql)


# -- catalog context ------------------------------------------------------------------------------

_CONTEXT_FUNCTIONS = {"DB_ID", "DB_NAME", "OBJECT_ID", "OBJECT_NAME", "OBJECT_SCHEMA_NAME"}


def reads_one_catalog(sql: str) -> bool:
    """Whether ``sql`` depends on the catalog it runs in: it reads a database-scoped object
    (documented ``scope``) or calls DB_ID()/DB_NAME() without an argument."""
    result = tsql_resolve.check(sql, SCHEMA)
    if any((SCHEMA.lookup(o) or {}).get("scope") == "database" for o in result.objects):
        return True
    for tree in sqlglot.parse(sql, read="tsql"):
        for call in tree.find_all(exp.Anonymous):
            if call.name.upper() in ("DB_ID", "DB_NAME") and not call.expressions:
                return True
    return bool(re.search(r"\bDB_(?:ID|NAME)\(\s*\)", sql, re.I))


DECLARED = [(c, name, sql) for c in MSSQL_CHECKS for name, sql in c.queries["mssql"].items()]


@pytest.mark.parametrize(("check", "name", "sql"), DECLARED, ids=[f"{c.id}:{n}" for c, n, _ in DECLARED])
def test_declared_scope_matches_what_the_statement_reads(check, name, sql):
    declared = name in check.catalog_statements
    assert declared == reads_one_catalog(sql), (
        f"{check.id}:{name} is declared {'catalog' if declared else 'server'}-scoped but reads "
        f"{'no' if declared else 'a'} catalog's own objects")


def test_collector_steps_are_server_scoped():
    # per_catalog steps (identity usage) are run by the collector in each catalog by name.
    assert [s.name for s in mssql.STEPS if reads_one_catalog(s.sql) != s.per_catalog] == []


def _which(sql: str) -> tuple[object, str] | None:
    for check, name, text in DECLARED:
        if text == sql:
            return check, name
    return None


# Rows that let each check go past its first statement (everything else answers empty).
ANSWERS = {
    "catalog_state": lambda: [{"name": n, "state_desc": "ONLINE", "user_access_desc": "MULTI_USER", "is_in_standby": 0,
                               "updateability": "READ_WRITE", "has_access": 1, "is_secondary": 0}
                              for n in ("workcube_cf", "workcube_cf_1", "master")],
    "stats_age": lambda: [{"stats_age_seconds": 10**8, "is_auto_close_on": 0}],
    "candidates": lambda: [{"object_id": 1, "used_pages": 5000}],
    "edition": lambda: [{"engine_edition": 3}],
}


def answer(sql: str, params: tuple, database: str) -> list[dict]:
    found = _which(sql)
    if found is None or found[1] not in ANSWERS:
        return []
    columns = [e.alias_or_name.lower() for e in sqlglot.parse_one(sql, read="tsql").expressions]
    return [{c: row.get(c) for c in columns} for row in ANSWERS[found[1]]()]


def drive(monkeypatch, tmp_path, databases: list[str], dsn_catalog: str = "workcube_cf", prefixes=()):
    server = FakeServer(answer=answer).install(monkeypatch)
    monkeypatch.setenv("L4_ERP_PASSWORD", "x")
    entry = {"name": "erp", "engine": "mssql", "password_env": "L4_ERP_PASSWORD", "databases": databases,
             "backup_dirs": [str(tmp_path)],  # backup.same_volume reads the data files of a local server
             "dsn": f"DRIVER={{ODBC Driver 18 for SQL Server}};SERVER=localhost;DATABASE={dsn_catalog};UID=l4"}
    config = parse_config({"databases": [entry]}, "<test>")
    result = run_diagnostics(config, prefixes=prefixes, target="erp", host="h")
    return server, result


@pytest.mark.parametrize("databases", [["workcube_cf", "workcube_cf_1"], ["workcube_cf_1", "workcube_cf"], []])
def test_every_check_runs_each_statement_in_the_context_it_declares(monkeypatch, tmp_path, databases):
    """Before: a catalog-less statement ran in whatever catalog the previous check had USEd
    (workcube_cf read from workcube_cf_1); server-scoped ones ran anywhere."""
    server, _ = drive(monkeypatch, tmp_path, databases)
    expected_catalogs = set(databases) or {"workcube_cf"}
    seen: dict[tuple[str, str], set[str]] = {}
    for executed in server.statements():
        found = _which(executed.sql)
        assert found is not None, f"a statement no check declares ran: {executed.sql[:80]}"
        check, name = found
        seen.setdefault((check.id, name), set()).add(executed.database)
        if name in check.catalog_statements:
            assert executed.database in expected_catalogs, (check.id, name, executed.database)
        else:
            assert executed.database == "master", (check.id, name, executed.database)
    catalog_reads = {key: where for key, where in seen.items()
                     if key[1] in next(c for c in MSSQL_CHECKS if c.id == key[0]).catalog_statements}
    assert catalog_reads, "no catalog-scoped statement ran"
    for key, where in catalog_reads.items():
        if key[1] != "current_catalog":
            assert where == expected_catalogs, (key, where)
    ran = set(seen)
    assert {("perf.blocking", "sessions"), ("backup.never", "databases"), ("perf.unused_index", "unused"),
            ("perf.index_fragmentation", "fragmented"), ("capacity.database_growth_forecast", "files"),
            ("schema.no_primary_key", "tables"), ("perf.stale_statistics", "modified")} <= ran, sorted(ran)
    executed = {e.sql for e in server.statements()}
    assert [c.id for c in MSSQL_CHECKS if not executed & set(c.queries["mssql"].values())] == []


@pytest.mark.parametrize("state", ["offline", "restoring", "secondary"])
def test_an_unreadable_catalog_costs_only_itself_in_every_check(monkeypatch, tmp_path, state):
    """Issue 16 item 5. Before: one OFFLINE/RESTORING/non-readable catalog (942/927/976) ended a
    per-catalog loop and lost every later catalog. Here the catalog listed first cannot be opened
    (its USE fails as SQL Server fails it, and sys.databases does not list it as readable): every
    check still reads the next one, names the first as not examined, and errs about nothing else."""
    server = FakeServer(answer=answer, unavailable={"erp_old": state}).install(monkeypatch)
    monkeypatch.setenv("L4_ERP_PASSWORD", "x")
    entry = {"name": "erp", "engine": "mssql", "password_env": "L4_ERP_PASSWORD",
             "databases": ["erp_old", "workcube_cf"], "backup_dirs": [str(tmp_path)],
             "dsn": "DRIVER={ODBC Driver 18 for SQL Server};SERVER=localhost;DATABASE=workcube_cf;UID=l4"}
    result = run_diagnostics(parse_config({"databases": [entry]}, "<test>"), target="erp", host="h")
    # A catalog whose USE fails (the schema read, which does not pre-filter) is one error naming it
    # (issue 15: a failing catalog is an error, never silence); nothing else errs.
    assert all(e.get("catalog") == "erp_old" for e in result.errors), result.errors
    skipped = {item["what"] for entry in result.coverage if entry.catalog == "erp_old" for item in entry.not_examined}
    assert {"perf.stale_statistics", "perf.unused_index", "perf.index_fragmentation", "schema.no_primary_key",
            "capacity.database_growth_forecast"} <= skipped, skipped
    read = {(e.database, _which(e.sql)[1]) for e in server.statements() if _which(e.sql)}
    assert {("workcube_cf", "modified"), ("workcube_cf", "unused"), ("workcube_cf", "tables"),
            ("workcube_cf", "files"), ("workcube_cf", "candidates")} <= read
    assert result.incomplete
