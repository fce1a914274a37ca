"""SQL Server cannot run here, so its side of the database collector is proven three ways:

1. every T-SQL statement (collector steps, session set-up, USE) parses with sqlglot's tsql dialect,
   and every column it reads from a DMV or catalog view is one Microsoft documents for that view;
2. each step's row handling is run on rows shaped like the statement's result, with the types the
   ODBC driver returns (bit -> bool, bigint -> int, datetime, Decimal), edge cases included;
3. the connection layer's error lines on the exact error texts of Microsoft's ODBC driver 18 and
   FreeTDS (login failed, catalog missing, timeouts, permissions, lost links, missing driver).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from l4agent.collectors.database import mssql
from l4agent.collectors.database.steps import StepContext
from l4agent.core.config import DatabaseConfig
from l4agent.dbaccess.connection import describe_error
from l4agent.dbaccess.engines import ENGINES
from tests.support.tsql_resolve import Schema

# Columns as Microsoft documents them, from the documented-schema contract
# (tests/data/mssql/documented_schema.json; versions are checked in tests/diagnostics/test_mssql_contract.py).
DOCUMENTED_COLUMNS: dict[str, set[str]] = {name: set(obj["columns"]) for name, obj in Schema().objects.items()}

# sqlglot (30.x) cannot parse this standard T-SQL statement in any dialect; it is the documented
# form (https://learn.microsoft.com/sql/t-sql/statements/set-transaction-isolation-level-transact-sql).
SQLGLOT_GAPS = {"SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED"}

SESSION_VALUES = {"lock_ms": 5000, "lock_s": 5, "statement_ms": 10000, "statement_s": "10"}


def ctx(elapsed: float = 0.0) -> StepContext:
    return StepContext("erp", "mssql", elapsed)


def values(samples, name: str) -> dict[tuple, float]:
    """{tuple of the labels other than database: value} for metric ``name``."""
    return {tuple(sorted((k, v) for k, v in s.labels.items() if k != "database")): s.value
            for s in samples if s.name == name}


# -- 1. the statements ----------------------------------------------------------------------------


@pytest.mark.parametrize("step", mssql.STEPS, ids=lambda step: step.name)
def test_every_step_statement_parses_as_one_tsql_select(step):
    statements = sqlglot.parse(step.sql, read="tsql")
    assert len(statements) == 1
    assert isinstance(statements[0], exp.Select | exp.Union)


def test_every_sql_constant_of_the_module_is_a_step():
    constants = {name: value for name, value in vars(mssql).items()
                 if name.isupper() and isinstance(value, str) and re.match(r"\s*SELECT", value)}
    assert set(constants.values()) == {step.sql for step in mssql.STEPS}


@pytest.mark.parametrize("statement", [s.format(**SESSION_VALUES) for s in ENGINES["mssql"].session_setup]
                         + [ENGINES["mssql"].use_statement("workcube_cf_2012_1]; DROP TABLE x --")])
def test_session_statements_parse(statement):
    if statement in SQLGLOT_GAPS:
        with pytest.raises(sqlglot.errors.ParseError):  # remove from SQLGLOT_GAPS once sqlglot parses it
            sqlglot.parse(statement, read="tsql")
        return
    [parsed] = sqlglot.parse(statement, read="tsql")
    if isinstance(parsed, exp.Use):  # the hostile name stays one quoted identifier
        assert parsed.this.name == "workcube_cf_2012_1]; DROP TABLE x --"


def _source_table(scope, alias: str) -> exp.Table | None:
    while scope is not None:
        if alias in scope.sources:
            source = scope.sources[alias]
            return source if isinstance(source, exp.Table) else None
        scope = scope.parent
    return None


@pytest.mark.parametrize("step", mssql.STEPS, ids=lambda step: step.name)
def test_columns_read_are_documented_for_their_view(step):
    tree = sqlglot.parse_one(step.sql, read="tsql")
    checked = 0
    for scope in traverse_scope(tree):
        for column in scope.columns:
            alias = column.table or (next(iter(scope.sources)) if len(scope.sources) == 1 else "")
            table = _source_table(scope, alias) if alias else None
            if table is None:
                continue  # a derived table's column (checked inside it) or a select-list alias
            view = ".".join(part for part in (table.catalog, table.db, table.name) if part).lower()
            assert view in DOCUMENTED_COLUMNS, f"{step.name}: {view} has no documented column list here"
            assert column.name.lower() in DOCUMENTED_COLUMNS[view], f"{step.name}: {view}.{column.name}"
            checked += 1
    assert checked or step.name == "connections"


# -- 2. rows shaped like each statement's result ---------------------------------------------------


def test_server_row_version_and_connection_limit():
    row = {"version": "16.0.4135.4", "edition": "Standard Edition (64-bit)", "max_connections": 32767,
           "user_connections_setting": 0}
    samples = list(mssql.server_samples([row], ctx()))
    assert values(samples, "l4agent_database_info") == {
        (("engine", "mssql"), ("version", "16.0.4135.4 Standard Edition (64-bit)")): 1.0}
    assert values(samples, "l4agent_database_connections_max") == {(): 32767.0}  # 0 = no limit of its own
    limited = list(mssql.server_samples([{**row, "user_connections_setting": 500}], ctx()))
    assert values(limited, "l4agent_database_connections_max") == {(): 500.0}


def test_connection_count():
    assert values(mssql.connections_samples([{"connections": 42}], ctx()), "l4agent_database_connections") == {
        (): 42.0}


def test_sessions_by_state_with_blocking():
    rows = [{"state": "active", "sessions": 3, "blocked": 2},
            {"state": "idle", "sessions": 40, "blocked": 0},
            {"state": "idle_in_transaction", "sessions": 1, "blocked": 0}]
    samples = list(mssql.sessions_samples(rows, ctx()))
    assert values(samples, "l4agent_database_sessions") == {
        (("state", "active"),): 3.0, (("state", "idle"),): 40.0, (("state", "idle_in_transaction"),): 1.0,
        (("state", "other"),): 0.0}
    assert values(samples, "l4agent_database_active_sessions") == {(): 3.0}
    assert values(samples, "l4agent_database_blocked_sessions") == {(): 2.0}


def test_no_other_session_gives_zeros():
    samples = list(mssql.sessions_samples([], ctx()))
    assert set(values(samples, "l4agent_database_sessions").values()) == {0.0}
    assert values(samples, "l4agent_database_blocked_sessions") == {(): 0.0}


def test_longest_transaction():
    assert values(mssql.transaction_samples([{"longest_transaction_seconds": 754}], ctx()),
                  "l4agent_database_longest_transaction_seconds") == {(): 754.0}
    # MAX() over no open transaction is NULL
    assert values(mssql.transaction_samples([{"longest_transaction_seconds": None}], ctx()),
                  "l4agent_database_longest_transaction_seconds") == {(): 0.0}


def perf_row(object_name, counter, instance, value, counter_type):
    return {"object_name": object_name, "counter_name": counter, "instance_name": instance,
            "cntr_value": value, "cntr_type": counter_type}


def test_performance_counters_named_instance():
    rows = [perf_row("MSSQL$ERP:Buffer Manager", "Buffer cache hit ratio", "", 9876, 537003264),
            perf_row("MSSQL$ERP:Buffer Manager", "Buffer cache hit ratio base", "", 10000, 1073939712),
            perf_row("MSSQL$ERP:Locks", "Number of Deadlocks/sec", "_Total", 17, 272696576),
            perf_row("MSSQL$ERP:Databases", "Transactions/sec", "_Total", 123456789012, 272696576)]
    samples = list(mssql.counter_samples(rows, ctx()))
    assert values(samples, "l4agent_database_cache_hit_ratio") == {(): 0.9876}
    assert values(samples, "l4agent_database_deadlocks_total") == {(): 17.0}
    assert values(samples, "l4agent_database_transactions_total") == {(): 123456789012.0}
    assert not values(samples, "l4agent_database_commits_total")  # SQL Server keeps no such counter


def test_performance_counters_padded_and_zero_base():
    # nchar(128) columns arrive blank-padded when read without RTRIM; a fresh instance has base 0.
    rows = [perf_row("SQLServer:Buffer Manager".ljust(128), "Buffer cache hit ratio".ljust(128), "".ljust(128),
                     0, 537003264),
            perf_row("SQLServer:Buffer Manager".ljust(128), "Buffer cache hit ratio base".ljust(128),
                     "".ljust(128), 0, 1073939712)]
    assert list(mssql.counter_samples(rows, ctx())) == []


def test_sizes_data_and_log_sum_per_catalog():
    rows = [{"catalog": "workcube_cf", "kind": "data", "size_bytes": 52_428_800_000},
            {"catalog": "workcube_cf", "kind": "log", "size_bytes": 8_589_934_592},
            {"catalog": "workcube_cf_2012_1", "kind": "data", "size_bytes": 1_073_741_824},
            {"catalog": None, "kind": "data", "size_bytes": 8192}]  # dropped while scanned
    samples = list(mssql.size_samples(rows, ctx()))
    assert values(samples, "l4agent_database_size_bytes") == {
        (("catalog", "workcube_cf"), ("kind", "data")): 52_428_800_000.0,
        (("catalog", "workcube_cf"), ("kind", "log")): 8_589_934_592.0,
        (("catalog", "workcube_cf_2012_1"), ("kind", "data")): 1_073_741_824.0}


def backup_row(catalog, kind, copy_only, age, in_ag=0, primary=True):
    return {"catalog": catalog, "type": kind, "is_copy_only": copy_only, "age_seconds": age,
            "in_availability_group": in_ag, "is_primary_replica": primary}


def test_backup_ages_per_type_with_differential_and_copy_only():
    rows = [backup_row("workcube_cf", "D", False, 6 * 86400),
            backup_row("workcube_cf", "D", True, 3600),  # an ad-hoc COPY_ONLY full, newest
            backup_row("workcube_cf", "I", False, 7200),
            backup_row("workcube_cf", "L", False, 900),
            backup_row("workcube_cf_1", "D", False, 2 * 86400),
            backup_row("workcube_cf_1", "I", False, 86400),
            backup_row("workcube_cf_2012_1", None, None, None)]  # never backed up
    samples = list(mssql.backup_samples(rows, ctx(elapsed=60)))
    ages = values(samples, "l4agent_backup_age_seconds")
    assert ages == {
        (("catalog", "workcube_cf"), ("type", "full")): 3660.0,
        (("catalog", "workcube_cf"), ("type", "diff")): 7260.0,
        (("catalog", "workcube_cf"), ("type", "log")): 960.0,
        (("catalog", "workcube_cf"), ("type", "full_or_diff")): 3660.0,
        (("catalog", "workcube_cf_1"), ("type", "full")): 2 * 86400 + 60.0,
        (("catalog", "workcube_cf_1"), ("type", "diff")): 86460.0,
        (("catalog", "workcube_cf_1"), ("type", "full_or_diff")): 86460.0,  # the differential counts
    }
    assert values(samples, "l4agent_backup_copy_only") == {
        (("catalog", "workcube_cf"), ("type", "full")): 1.0,
        (("catalog", "workcube_cf"), ("type", "diff")): 0.0,
        (("catalog", "workcube_cf"), ("type", "log")): 0.0,
        (("catalog", "workcube_cf_1"), ("type", "full")): 0.0,
        (("catalog", "workcube_cf_1"), ("type", "diff")): 0.0}
    assert values(samples, "l4agent_backup_missing") == {
        (("catalog", "workcube_cf"),): 0.0, (("catalog", "workcube_cf_1"),): 0.0,
        (("catalog", "workcube_cf_2012_1"),): 1.0}
    assert not values(samples, "l4agent_backup_preferred_replica")  # no availability group here


def test_backup_only_a_differential_is_missing_its_full():
    samples = list(mssql.backup_samples([backup_row("workcube_cf", "I", False, 100)], ctx()))
    assert values(samples, "l4agent_backup_missing") == {(("catalog", "workcube_cf"),): 1.0}
    assert (("catalog", "workcube_cf"), ("type", "full_or_diff")) not in values(samples, "l4agent_backup_age_seconds")


def replica_row(catalog, preferred, role="SECONDARY", preference="SECONDARY", replica="DB2", server="DB2"):
    return {"catalog": catalog, "is_preferred_replica": preferred, "backup_preference": preference,
            "local_role": role, "replica_server_name": replica, "server_name": server}


def ag_round(replica_rows, backup_rows):
    context = StepContext("erp", "mssql", 0.0, {"hadr_enabled": True})
    samples = list(mssql.replica_samples(replica_rows, context)) + list(mssql.backup_samples(backup_rows, context))
    return samples


def test_ag_primary_judges_full_and_diff_and_a_preferred_secondary_judges_logs():
    """Issue 16 item 4. Before: every age was dropped unless fn_hadr_backup_is_preferred_replica = 1,
    so with the default "prefer secondary" the primary's full/diff ages were never seen."""
    on_primary = [backup_row("workcube_cf", "D", False, 86400, in_ag=1, primary=True),
                  backup_row("workcube_cf", "I", False, 3600, in_ag=1, primary=True),
                  backup_row("workcube_cf", "L", False, 7200, in_ag=1, primary=True)]
    samples = ag_round([replica_row("workcube_cf", 0, role="PRIMARY", replica="DB1", server="DB1")], on_primary)
    ages = values(samples, "l4agent_backup_age_seconds")
    assert ages[(("catalog", "workcube_cf"), ("type", "full"))] == 86400.0
    assert ages[(("catalog", "workcube_cf"), ("type", "full_or_diff"))] == 3600.0
    assert (("catalog", "workcube_cf"), ("type", "log")) not in ages  # logs are the preferred secondary's
    assert values(samples, "l4agent_backup_missing") == {(("catalog", "workcube_cf"),): 0.0}
    assert values(samples, "l4agent_backup_preferred_replica") == {(("catalog", "workcube_cf"),): 0.0}

    on_secondary = [backup_row("workcube_cf", "D", True, 86400, in_ag=1, primary=False),
                    backup_row("workcube_cf", "L", False, 300, in_ag=1, primary=False)]
    samples = ag_round([replica_row("workcube_cf", 1)], on_secondary)
    ages = values(samples, "l4agent_backup_age_seconds")
    assert ages == {(("catalog", "workcube_cf"), ("type", "log")): 300.0}
    assert not values(samples, "l4agent_backup_missing")  # fulls are judged on the primary
    assert values(samples, "l4agent_backup_preferred_replica") == {(("catalog", "workcube_cf"),): 1.0}


def test_preferred_replica_worked_out_when_the_server_name_case_differs():
    """Issue 16 item 9: with @@SERVERNAME 'db2' and replica 'DB2' the function answers 0 everywhere."""
    assert mssql.preferred_backup_replica(replica_row("x", 0, replica="DB2", server="db2")) is True
    assert mssql.preferred_backup_replica(replica_row("x", 0, role="PRIMARY", replica="DB1", server="db1")) is False
    assert mssql.preferred_backup_replica(replica_row("x", 0, replica="DB2", server="DB2")) is False  # the answer


def test_preferred_replica_function_is_called_only_for_ag_databases_in_a_step_of_its_own():
    """Issue 16 item 9. Before: BACKUP_HISTORY called sys.fn_hadr_backup_is_preferred_replica for every
    database on every read; one 41005 error lost every backup age."""
    assert "fn_hadr_backup_is_preferred_replica" not in mssql.BACKUP_HISTORY
    step = next(s for s in mssql.STEPS if s.name == "backup replicas")
    assert step.applies({"hadr_enabled": True}) and not step.applies({"hadr_enabled": False})
    text = " ".join(mssql.BACKUP_REPLICAS.split())
    assert "CASE WHEN d.replica_id IS NULL THEN NULL ELSE sys.fn_hadr_backup_is_preferred_replica(d.name) END" in text
    assert "WHERE d.replica_id IS NOT NULL" in text


def test_backup_history_excludes_snapshots_nul_and_is_bounded():
    """Issue 16 item 10 (sp_Blitz check 256): backups to NUL and snapshots are no restorable full; msdb
    is read within a window; database snapshots and standby databases are left out."""
    text = " ".join(mssql.BACKUP_HISTORY.split())
    assert "bs.is_snapshot = 0" in text
    assert "mf.physical_device_name = N'NUL'" in text and "NOT EXISTS" in text
    assert f"bs.backup_finish_date >= DATEADD(DAY, -{mssql.HISTORY_DAYS}, GETDATE())" in text
    assert "d.source_database_id IS NULL AND d.is_in_standby = 0" in text
    assert "COALESCE(DB_NAME(DB_ID(bs.database_name)), bs.database_name)" in text  # MI GUID names (item 11)


def test_managed_instance_claims_no_missing_backup():
    """Issue 16 item 11: automated backups on Managed Instance are not in msdb."""
    context = StepContext("erp", "mssql", 0.0, {"engine_edition": 8})
    samples = list(mssql.backup_samples([backup_row("workcube_cf", None, None, None)], context))
    assert not values(samples, "l4agent_backup_missing")


def test_availability_group_lag():
    rows = [{"catalog": "workcube_cf", "replica": "DB2", "lag_seconds": 12, "lag_bytes": Decimal(5242880)},
            {"catalog": "workcube_cf", "replica": "DB3", "lag_seconds": None, "lag_bytes": 0}]
    samples = list(mssql.availability_group_samples(rows, ctx()))
    assert values(samples, "l4agent_database_replication_lag_seconds") == {
        (("catalog", "workcube_cf"), ("replica", "DB2")): 12.0}
    assert values(samples, "l4agent_database_replication_lag_bytes") == {
        (("catalog", "workcube_cf"), ("replica", "DB2")): 5242880.0,
        (("catalog", "workcube_cf"), ("replica", "DB3")): 0.0}


# -- 3. SQL Server's error texts -------------------------------------------------------------------

ERP = DatabaseConfig(name="erp", engine="mssql", password_env="L4_ERP_PASSWORD",
                     dsn="DRIVER={ODBC Driver 18 for SQL Server};SERVER=db1,1433;DATABASE=workcube_cf;UID=l4monitor;"
                         "Encrypt=yes")
ODBC18 = "[Microsoft][ODBC Driver 18 for SQL Server]"


class FakeOdbcError(Exception):
    """Shaped like pyodbc.Error: args = (SQLSTATE, message)."""


@pytest.mark.parametrize(("state", "text", "login", "kind", "line"), [
    ("28000", f"[28000] {ODBC18}[SQL Server]Login failed for user 'l4monitor'. (18456) (SQLDriverConnect)", True,
     "login_failed", "login failed for user 'l4monitor' (wrong password or no access)"),
    ("42000", "[42000] [FreeTDS][SQL Server]Login failed for user 'l4monitor'. (18456) (SQLDriverConnect)", True,
     "login_failed", "login failed for user 'l4monitor' (wrong password or no access)"),
    ("42000", f'[42000] {ODBC18}[SQL Server]Cannot open database "workcube_cf" requested by the login. The login '
              "failed. (4060) (SQLDriverConnect)", True,
     "unreachable", "catalog 'workcube_cf' does not exist or user 'l4monitor' may not open it"),
    ("HYT00", f"[HYT00] {ODBC18}Login timeout expired (0) (SQLDriverConnect)", True,
     "unreachable", "cannot reach db1,1433: no answer (login timed out)"),
    ("08001", f"[08001] {ODBC18}TCP Provider: Error code 0x2749 (10057) (SQLDriverConnect)", True,
     "unreachable", "cannot reach db1,1433: TCP Provider: Error code 0x2749"),
    ("HYT00", f"[HYT00] {ODBC18}Query timeout expired (0) (SQLExecDirectW)", False,
     "timeout", "query timed out after 10s"),
    ("HY000", f"[HY000] {ODBC18}[SQL Server]Lock request time out period exceeded. (1222) (SQLExecDirectW)", False,
     "timeout", "query gave up waiting for a lock after 5s"),
    ("42000", f"[42000] {ODBC18}[SQL Server]VIEW SERVER STATE permission was denied on object 'server', database "
              "'master'. (300) (SQLExecDirectW)", False,
     "permission", "permission denied: VIEW SERVER STATE permission was denied on object 'server', database 'master'."),
    ("42000", f"[42000] {ODBC18}[SQL Server]The SELECT permission was denied on the object 'backupset', database "
              "'msdb', schema 'dbo'. (229) (SQLExecDirectW)", False,
     "permission", "permission denied: The SELECT permission was denied on the object 'backupset', database 'msdb', "
                   "schema 'dbo'."),
    ("08S01", f"[08S01] {ODBC18}Communication link failure (0) (SQLExecDirectW)", False,
     "unreachable", "connection to db1,1433 lost (server stopped or restarted, or the session was killed)"),
    ("01000", "[01000] [unixODBC][Driver Manager]Can't open lib 'ODBC Driver 18 for SQL Server' : file not found (0) "
              "(SQLDriverConnect)", True,
     "driver_missing", "ODBC driver 'ODBC Driver 18 for SQL Server' is not installed; install the Debian package "
                       "msodbcsql18 (Microsoft's Debian repository) (odbcinst -q -d lists the installed drivers)"),
    ("42S02", f"[42S02] {ODBC18}[SQL Server]Invalid object name 'sys.dm_hadr_database_replica_states'. (208) "
              "(SQLExecDirectW)", False,
     "query", "Invalid object name 'sys.dm_hadr_database_replica_states'. (SQLSTATE 42S02)"),
])
def test_sql_server_errors_become_one_line(state, text, login, kind, line):
    error = describe_error(FakeOdbcError(state, text), ERP, 10.0, login=login, lock_timeout=5.0)
    assert (error.kind, str(error)) == (kind, f"database 'erp': {line}")


def test_freetds_driver_package():
    target = DatabaseConfig(name="erp", engine="mssql", dsn="DRIVER={FreeTDS};SERVER=db1;PORT=1433;UID=l4monitor")
    error = describe_error(FakeOdbcError("01000", "[01000] [unixODBC][Driver Manager]Can't open lib 'FreeTDS' : file "
                                                  "not found (0) (SQLDriverConnect)"), target, login=True)
    assert "install the Debian package tdsodbc " in str(error)


# -- issue 19: CHECKDB age, log reuse wait, identity usage ----------------------------------------


def test_database_state_checkdb_age_and_log_reuse_wait():
    rows = [{"catalog": "workcube_cf", "log_reuse_wait_desc": "LOG_BACKUP", "checkdb_age_seconds": 86400,
             "checkdb_known": 1, "created_age_seconds": 9_000_000},
            {"catalog": "never_checked", "log_reuse_wait_desc": "NOTHING", "checkdb_age_seconds": None,
             "checkdb_known": 1, "created_age_seconds": 3_000_000},
            {"catalog": "old_server", "log_reuse_wait_desc": "ACTIVE_TRANSACTION", "checkdb_age_seconds": None,
             "checkdb_known": 0, "created_age_seconds": 100}]
    context = ctx(elapsed=10)
    samples = list(mssql.database_state_samples(rows, context))
    assert values(samples, "l4agent_database_last_checkdb_age_seconds") == {
        (("catalog", "workcube_cf"),): 86410.0, (("catalog", "never_checked"),): 3_000_010.0}
    assert values(samples, "l4agent_database_log_reuse_wait") == {
        (("catalog", "workcube_cf"), ("reason", "log_backup")): 1.0,
        (("catalog", "never_checked"), ("reason", "nothing")): 1.0,
        (("catalog", "old_server"), ("reason", "active_transaction")): 1.0}
    assert context.facts["catalogs"] == ["workcube_cf", "never_checked", "old_server"]


def test_identity_usage_per_catalog():
    rows = [{"catalog": "workcube_cf", "usage_ratio": 0.93, "columns": 12},
            {"catalog": "empty", "usage_ratio": None, "columns": 0}]
    assert values(mssql.identity_samples(rows, ctx()), "l4agent_database_identity_usage_ratio") == {
        (("catalog", "workcube_cf"),): 0.93}
