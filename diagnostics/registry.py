"""Every diagnostic check, by id.

A check module defines one Check subclass named ``CHECK``-style (``class NoPrimaryKey(Check)``)
and is listed in CHECK_MODULES; the registry imports them on first use.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache

from l4agent.diagnostics.base import Check

_PACKAGE = "l4agent.diagnostics."

# One line per check module; a new check is its module plus one line here.
CHECK_MODULES: list[str] = [
    "l4agent.diagnostics.app.slow_response",
    "l4agent.diagnostics.app.error_rate",
    "l4agent.diagnostics.app.tls_expiry",
    "l4agent.diagnostics.app.tls_chain",
    "l4agent.diagnostics.app.thread_pool_saturation",
    "l4agent.diagnostics.app.heap_pressure",
    "l4agent.diagnostics.security.sa_enabled",
    "l4agent.diagnostics.security.weak_login",
    "l4agent.diagnostics.security.sysadmin_members",
    "l4agent.diagnostics.security.xp_cmdshell",
    "l4agent.diagnostics.security.trustworthy_database",
    "l4agent.diagnostics.security.unencrypted_connections",
    "l4agent.diagnostics.security.guest_access",
    "l4agent.diagnostics.security.trust_auth",
    "l4agent.diagnostics.security.superusers",
    "l4agent.diagnostics.security.password_encryption",
    "l4agent.diagnostics.security.ssl_off",
    "l4agent.diagnostics.security.public_schema_create",
    "l4agent.diagnostics.security.anonymous_user",
    "l4agent.diagnostics.security.root_remote",
    "l4agent.diagnostics.security.empty_password",
    "l4agent.diagnostics.security.local_infile",
    "l4agent.diagnostics.security.db_port_exposed",
    "l4agent.diagnostics.security.world_readable_secret",
    "l4agent.diagnostics.security.tls_weak",
    "l4agent.diagnostics.schema.no_primary_key",
    "l4agent.diagnostics.schema.duplicate_index",
    "l4agent.diagnostics.schema.redundant_index",
    "l4agent.diagnostics.schema.unindexed_foreign_key",
    "l4agent.diagnostics.schema.repeating_columns",
    "l4agent.diagnostics.schema.period_table_sprawl",
    "l4agent.diagnostics.schema.inconsistent_column_type",
    "l4agent.diagnostics.schema.wide_table",
    "l4agent.diagnostics.capacity.disk_full_forecast",
    "l4agent.diagnostics.capacity.database_growth_forecast",
    "l4agent.diagnostics.perf.top_query",
    "l4agent.diagnostics.perf.missing_index",
    "l4agent.diagnostics.perf.index_fragmentation",
    "l4agent.diagnostics.perf.table_bloat",
    "l4agent.diagnostics.perf.blocking",
    "l4agent.diagnostics.perf.long_running",
    "l4agent.diagnostics.perf.cache_hit_ratio",
    "l4agent.diagnostics.perf.stale_statistics",
    "l4agent.diagnostics.perf.unused_index",
    "l4agent.diagnostics.perf.wait_stats",
    "l4agent.diagnostics.backup.never",
    "l4agent.diagnostics.backup.stale",
    "l4agent.diagnostics.backup.no_log_backup",
    "l4agent.diagnostics.backup.archive_failing",
    "l4agent.diagnostics.backup.no_checksum",
    "l4agent.diagnostics.backup.dir_stale",
    "l4agent.diagnostics.backup.same_volume",
    "l4agent.diagnostics.caching.plan_cache",
    "l4agent.diagnostics.caching.planning_time",
    "l4agent.diagnostics.caching.server_caches",
    "l4agent.diagnostics.lifecycle.end_of_support",
    "l4agent.diagnostics.backup.no_point_in_time",
    "l4agent.diagnostics.capacity.xid_wraparound",
    "l4agent.diagnostics.capacity.identity_exhaustion",
    "l4agent.diagnostics.replication.broken",
    "l4agent.diagnostics.replication.lag",
    "l4agent.diagnostics.replication.slot_retention",
    "l4agent.diagnostics.config.memory",
    "l4agent.diagnostics.config.table_cache",
    "l4agent.diagnostics.config.connections",
    "l4agent.diagnostics.config.tmp_on_disk",
    "l4agent.diagnostics.config.database_options",
    "l4agent.diagnostics.integrity.checkdb_age",
    "l4agent.diagnostics.integrity.invalid_index",
    "l4agent.diagnostics.integrity.disabled_triggers",
    "l4agent.diagnostics.integrity.mixed_engines",
]


@cache
def all_checks() -> tuple[Check, ...]:
    """One instance of every registered check, in registration order."""
    checks: list[Check] = []
    for module_name in CHECK_MODULES:
        checks += _checks_of(importlib.import_module(module_name))
    ids = [check.id for check in checks]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate check ids: {sorted(duplicates)}")
    return tuple(checks)


def check_ids() -> frozenset[str]:
    """Every check id, without importing a check (an id is its module path)."""
    return frozenset(name.removeprefix(_PACKAGE) for name in CHECK_MODULES)


def checks_under(key: str) -> tuple[Check, ...]:
    """The check ``key`` or the checks of family ``key``, importing only their modules (a check's
    id is its module path under ``l4agent.diagnostics``)."""
    checks: list[Check] = []
    for module_name in CHECK_MODULES:
        check_id = module_name.removeprefix(_PACKAGE)
        if check_id == key or check_id.startswith(key + "."):
            checks += _checks_of(importlib.import_module(module_name))
    return tuple(checks)


def _checks_of(module) -> list[Check]:
    return [obj() for _, obj in inspect.getmembers(module, inspect.isclass)
            if issubclass(obj, Check) and obj is not Check and obj.__module__ == module.__name__]


def select(prefixes: tuple[str, ...] = ()) -> list[Check]:
    """Checks whose id starts with any of ``prefixes`` (all when empty); "perf" matches "perf.*"."""
    if not prefixes:
        return list(all_checks())
    return [c for c in all_checks() if any(c.id == p or c.id.startswith(p.rstrip(".") + ".") for p in prefixes)]


def by_id(check_id: str) -> Check | None:
    return next((c for c in all_checks() if c.id == check_id), None)
