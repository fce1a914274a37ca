"""Every diagnostic check, by id.

A check module defines one Check subclass named ``CHECK``-style (``class NoPrimaryKey(Check)``)
and is listed in CHECK_MODULES; the registry imports them on first use.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache

from diagnostics.base import Check

# One line per check module; a new check is its module plus one line here.
CHECK_MODULES: list[str] = [
    "diagnostics.app.slow_response",
    "diagnostics.app.error_rate",
    "diagnostics.app.tls_expiry",
    "diagnostics.app.tls_chain",
    "diagnostics.app.thread_pool_saturation",
    "diagnostics.app.heap_pressure",
    "diagnostics.security.sa_enabled",
    "diagnostics.security.weak_login",
    "diagnostics.security.sysadmin_members",
    "diagnostics.security.xp_cmdshell",
    "diagnostics.security.trustworthy_database",
    "diagnostics.security.unencrypted_connections",
    "diagnostics.security.guest_access",
    "diagnostics.security.trust_auth",
    "diagnostics.security.superusers",
    "diagnostics.security.password_encryption",
    "diagnostics.security.ssl_off",
    "diagnostics.security.public_schema_create",
    "diagnostics.security.anonymous_user",
    "diagnostics.security.root_remote",
    "diagnostics.security.empty_password",
    "diagnostics.security.local_infile",
    "diagnostics.security.db_port_exposed",
    "diagnostics.security.world_readable_secret",
    "diagnostics.security.tls_weak",
    "diagnostics.schema.no_primary_key",
    "diagnostics.schema.duplicate_index",
    "diagnostics.schema.redundant_index",
    "diagnostics.schema.unindexed_foreign_key",
    "diagnostics.schema.repeating_columns",
    "diagnostics.schema.period_table_sprawl",
    "diagnostics.schema.inconsistent_column_type",
    "diagnostics.schema.wide_table",
    "diagnostics.capacity.disk_full_forecast",
    "diagnostics.capacity.database_growth_forecast",
    "diagnostics.perf.top_query",
    "diagnostics.perf.missing_index",
    "diagnostics.perf.index_fragmentation",
    "diagnostics.perf.table_bloat",
    "diagnostics.perf.blocking",
    "diagnostics.perf.long_running",
    "diagnostics.perf.cache_hit_ratio",
    "diagnostics.perf.stale_statistics",
    "diagnostics.perf.unused_index",
    "diagnostics.perf.wait_stats",
    "diagnostics.backup.never",
    "diagnostics.backup.stale",
    "diagnostics.backup.no_log_backup",
    "diagnostics.backup.archive_failing",
    "diagnostics.backup.no_checksum",
    "diagnostics.backup.dir_stale",
    "diagnostics.backup.same_volume",
]


@cache
def all_checks() -> tuple[Check, ...]:
    """One instance of every registered check, in registration order."""
    checks: list[Check] = []
    for module_name in CHECK_MODULES:
        module = importlib.import_module(module_name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Check) and obj is not Check and obj.__module__ == module.__name__:
                checks.append(obj())
    ids = [check.id for check in checks]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate check ids: {sorted(duplicates)}")
    return tuple(checks)


def select(prefixes: tuple[str, ...] = ()) -> list[Check]:
    """Checks whose id starts with any of ``prefixes`` (all when empty); "perf" matches "perf.*"."""
    if not prefixes:
        return list(all_checks())
    return [c for c in all_checks() if any(c.id == p or c.id.startswith(p.rstrip(".") + ".") for p in prefixes)]


def by_id(check_id: str) -> Check | None:
    return next((c for c in all_checks() if c.id == check_id), None)
