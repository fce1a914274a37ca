"""T-SQL checks for the schema and capacity statements (SQL Server cannot run here).

- :func:`projection`: a SELECT's output column names, lower-case, as the connection keys rows;
- :func:`catalog_columns`: every (catalog view, column) a statement reads, resolved through
  table aliases, derived tables and CROSS APPLY of a DMF;
- :data:`DOCUMENTED`: the columns of those views as Microsoft Learn documents them (2019/2022);
- :class:`RowsConnection`: stands in for a SQL Server connection, answering each named statement
  with rows that must carry exactly that statement's output columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from l4agent.dbaccess.engines import quote_mssql

_OBJECTS = {"name", "object_id", "principal_id", "schema_id", "parent_object_id", "type", "type_desc",
            "create_date", "modify_date", "is_ms_shipped", "is_published", "is_schema_published"}
DOCUMENTED: dict[str, set[str]] = {
    "sys.tables": _OBJECTS | {"lob_data_space_id", "filestream_data_space_id", "max_column_id_used",
                              "lock_on_bulk_load", "uses_ansi_nulls", "is_replicated", "has_replication_filter",
                              "is_merge_published", "is_sync_tran_subscribed", "text_in_row_limit",
                              "large_value_types_out_of_row", "is_tracked_by_cdc", "lock_escalation",
                              "lock_escalation_desc", "is_filetable", "is_memory_optimized", "durability",
                              "durability_desc", "temporal_type", "temporal_type_desc", "history_table_id",
                              "is_remote_data_archive_enabled", "is_external"},
    "sys.schemas": {"name", "schema_id", "principal_id"},
    "sys.partitions": {"partition_id", "object_id", "index_id", "partition_number", "hobt_id", "rows",
                       "filestream_filegroup_id", "data_compression", "data_compression_desc"},
    "sys.columns": {"object_id", "name", "column_id", "system_type_id", "user_type_id", "max_length", "precision",
                    "scale", "collation_name", "is_nullable", "is_ansi_padded", "is_rowguidcol", "is_identity",
                    "is_computed", "is_filestream", "is_replicated", "is_non_sql_subscribed", "is_merge_published",
                    "is_dts_replicated", "is_xml_document", "xml_collection_id", "default_object_id",
                    "rule_object_id", "is_sparse", "is_column_set", "generated_always_type",
                    "generated_always_type_desc", "is_hidden", "is_masked"},
    "sys.types": {"name", "system_type_id", "user_type_id", "schema_id", "principal_id", "max_length", "precision",
                  "scale", "collation_name", "is_nullable", "is_user_defined", "is_assembly_type",
                  "default_object_id", "rule_object_id", "is_table_type"},
    "sys.indexes": {"object_id", "name", "index_id", "type", "type_desc", "is_unique", "data_space_id",
                    "ignore_dup_key", "is_primary_key", "is_unique_constraint", "fill_factor", "is_padded",
                    "is_disabled", "is_hypothetical", "is_ignored_in_optimization", "allow_row_locks",
                    "allow_page_locks", "has_filter", "filter_definition", "compression_delay",
                    "suppress_dup_key_messages", "auto_created", "optimize_for_sequential_key"},
    "sys.index_columns": {"object_id", "index_id", "index_column_id", "column_id", "key_ordinal",
                          "partition_ordinal", "is_descending_key", "is_included_column",
                          "column_store_order_ordinal"},
    "sys.foreign_keys": _OBJECTS | {"referenced_object_id", "key_index_id", "is_disabled", "is_not_for_replication",
                                    "is_not_trusted", "delete_referential_action", "delete_referential_action_desc",
                                    "update_referential_action", "update_referential_action_desc",
                                    "is_system_named"},
    "sys.foreign_key_columns": {"constraint_object_id", "constraint_column_id", "parent_object_id",
                                "parent_column_id", "referenced_object_id", "referenced_column_id"},
    "sys.database_files": {"file_id", "file_guid", "type", "type_desc", "data_space_id", "name", "physical_name",
                           "state", "state_desc", "size", "max_size", "growth", "is_media_read_only",
                           "is_read_only", "is_sparse", "is_percent_growth", "is_name_reserved"},
    "sys.dm_os_volume_stats": {"database_id", "file_id", "volume_mount_point", "volume_id", "logical_volume_name",
                               "file_system_type", "total_bytes", "available_bytes", "supports_compression",
                               "supports_alternate_streams", "supports_sparse_files", "is_read_only",
                               "is_compressed", "incurs_seek_penalty"},
}


def parse(sql: str) -> exp.Expression:
    """The one statement in ``sql`` parsed as T-SQL (sqlglot.ParseError when it is not T-SQL)."""
    statements = [s for s in sqlglot.parse(sql, read="tsql") if s is not None]
    assert len(statements) == 1, f"expected one statement, got {len(statements)}"
    return statements[0]


def projection(sql: str) -> list[str]:
    select = parse(sql)
    assert isinstance(select, exp.Select), f"not a SELECT: {sql[:80]}"
    names = [e.alias_or_name.lower() for e in select.expressions]
    assert all(names), f"an output column without a name in {sql[:80]}"
    return names


def _source_name(source: Any) -> str | None:
    if isinstance(source, exp.Table):
        return f"{source.db}.{source.name}".lower()
    if isinstance(source, Scope):  # CROSS APPLY sys.dm_os_volume_stats(...) AS vs
        call = source.expression.find(exp.Anonymous)
        if call is not None and isinstance(source.expression, exp.Table | exp.Lateral):
            return f"sys.{call.name}".lower()
        call = source.expression if isinstance(source.expression, exp.Anonymous) else None
        return f"sys.{call.name}".lower() if call is not None else None
    return None


def catalog_columns(sql: str) -> set[tuple[str, str]]:
    """(view, column) for every column read from a sys.* view or DMF, in every scope."""
    found = set()
    for scope in traverse_scope(parse(sql)):
        tables = {alias: _source_name(source) for alias, source in scope.sources.items()}
        for column in scope.columns:
            view = tables.get(column.table) if column.table else (
                next(iter(tables.values())) if len(tables) == 1 else None)
            if view is not None and view.startswith("sys."):
                found.add((view, column.name.lower()))
    return found


def undocumented(sql: str) -> list[tuple[str, str]]:
    return sorted((view, column) for view, column in catalog_columns(sql)
                  if column not in DOCUMENTED.get(view, set()))


class RowsConnection:
    """Answers named statements with catalog-view-shaped rows; ``calls`` records (name, catalog).
    Every row must carry exactly the statement's output columns, in order."""

    def __init__(self, statements: Mapping[str, str], rows: Mapping[str, Any],
                 scalars: Mapping[str, Any] | None = None):
        self.by_sql = {sql: name for name, sql in statements.items()}
        self.rows = rows
        self.scalars = scalars or {}
        self.calls: list[tuple[str, str | None]] = []

    def query(self, sql: str, params=(), catalog: str | None = None, max_rows: int | None = None):
        name = self.by_sql[sql]
        self.calls.append((name, catalog))
        rows: list[dict] | Callable = self.rows[name]
        rows = rows(catalog) if callable(rows) else rows
        columns = projection(sql)
        for row in rows:
            assert list(row) == columns, f"{name}: row keys {list(row)} != statement columns {columns}"
        return [dict(r) for r in (rows[:max_rows] if max_rows else rows)]

    def scalar(self, sql: str, params=(), catalog: str | None = None):
        rows = self.query(sql, params, catalog=catalog, max_rows=1)
        return next(iter(rows[0].values())) if rows else None

    def quote(self, identifier: str) -> str:
        return quote_mssql(identifier)

    def close(self) -> None:
        pass
