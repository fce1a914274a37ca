"""The T-SQL of the issue-19 checks (capacity.identity_exhaustion, replication.*, config.*,
integrity.*): one SELECT each in sqlglot's tsql dialect, reading only columns Microsoft documents
for each catalog view / DMV (SQL Server cannot run here)."""

from __future__ import annotations

import pytest
from sqlglot import exp

from l4agent.diagnostics.registry import all_checks
from tests.diagnostics.tsql_support import DOCUMENTED, catalog_columns, parse

IDS = ("capacity.identity_exhaustion", "capacity.xid_wraparound", "replication.broken", "replication.lag",
       "replication.slot_retention", "config.memory", "config.table_cache", "config.connections",
       "config.tmp_on_disk", "config.database_options", "integrity.checkdb_age", "integrity.invalid_index",
       "integrity.disabled_triggers", "integrity.mixed_engines", "backup.no_point_in_time")
CHECKS = [c for c in all_checks() if c.id in IDS]
TSQL = [(c.id, name, sql) for c in CHECKS for name, sql in c.queries.get("mssql", {}).items()]

_OBJECTS = {"name", "object_id", "principal_id", "schema_id", "parent_object_id", "type", "type_desc",
            "create_date", "modify_date", "is_ms_shipped", "is_published", "is_schema_published"}
# learn.microsoft.com, the catalog views / DMVs these statements read (the columns used here)
MORE = {
    "sys.databases": {"name", "database_id", "source_database_id", "create_date", "state", "state_desc",
                      "is_auto_shrink_on", "is_auto_close_on", "page_verify_option", "page_verify_option_desc",
                      "log_reuse_wait_desc", "recovery_model_desc", "replica_id", "is_in_standby"},
    "sys.master_files": {"database_id", "file_id", "type", "type_desc", "name", "size", "growth",
                         "is_percent_growth"},
    "sys.configurations": {"configuration_id", "name", "value", "value_in_use", "minimum", "maximum"},
    "sys.dm_os_sys_info": {"cpu_count", "hyperthread_ratio", "physical_memory_kb", "committed_kb",
                           "committed_target_kb", "sqlserver_start_time"},
    "sys.identity_columns": {"object_id", "name", "column_id", "system_type_id", "user_type_id", "precision",
                             "scale", "seed_value", "increment_value", "last_value", "is_not_for_replication"},
    "sys.objects": _OBJECTS,
    "sys.triggers": {"name", "object_id", "parent_class", "parent_class_desc", "parent_id", "type", "type_desc",
                     "create_date", "modify_date", "is_ms_shipped", "is_disabled", "is_not_for_replication",
                     "is_instead_of_trigger"},
    "sys.dm_hadr_database_replica_states": {"database_id", "group_id", "replica_id", "group_database_id",
                                            "is_local", "is_primary_replica", "synchronization_state",
                                            "synchronization_state_desc", "is_commit_participant",
                                            "synchronization_health", "synchronization_health_desc",
                                            "database_state", "is_suspended", "suspend_reason",
                                            "suspend_reason_desc", "log_send_queue_size", "redo_queue_size",
                                            "last_commit_time"},
    "sys.availability_replicas": {"replica_id", "group_id", "replica_server_name", "availability_mode",
                                  "failover_mode"},
    "sys.availability_groups": {"group_id", "name", "resource_id"},
    "sys.availability_databases_cluster": {"group_id", "group_database_id", "database_name"},
}


def documented(view: str) -> set[str]:
    return DOCUMENTED.get(view, set()) | MORE.get(view, set())


def test_fifteen_checks_are_registered():
    assert {c.id for c in CHECKS} == set(IDS)


@pytest.mark.parametrize(("check_id", "name", "sql"), TSQL, ids=[f"{c}:{n}" for c, n, _ in TSQL])
def test_tsql_parses_and_reads_documented_columns(check_id, name, sql):
    statement = parse(sql)
    assert not isinstance(statement, exp.Command)
    assert isinstance(statement, exp.Select | exp.Union)
    read = catalog_columns(sql)
    assert read, f"{check_id}:{name} reads no catalog view"
    missing = sorted((view, column) for view, column in read if column not in documented(view))
    assert missing == [], f"{check_id}:{name} reads undocumented columns {missing}"


@pytest.mark.parametrize("check", CHECKS, ids=[c.id for c in CHECKS])
def test_statements_for_every_engine_it_claims(check):
    assert check.engines <= set(check.queries), check.id
