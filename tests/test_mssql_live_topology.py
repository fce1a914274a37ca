"""Opt-in (``-m mssql_live`` with ``L4_MSSQL_DSN``): what issue 16 is about, on a real server,
as far as the server has it: the catalog context of every statement, availability-group replica
detection and backup judgement, an OFFLINE catalog, a restored database. Whatever the server does
not have is skipped with a line saying what could not be exercised (pytest prints skip reasons).
"""

from __future__ import annotations

import os

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.dbaccess.connection import connect, dsn_value
from l4agent.diagnostics.runner import run_diagnostics

pytestmark = [
    pytest.mark.mssql_live,
    pytest.mark.skipif(not os.environ.get("L4_MSSQL_DSN"), reason="set L4_MSSQL_DSN to run against SQL Server"),
    pytest.mark.timeout(300),
]


def live_config(**extra):
    target = {"name": "live", "engine": "mssql", "dsn": os.environ["L4_MSSQL_DSN"], **extra}
    if os.environ.get("L4_MSSQL_PASSWORD"):
        target["password_env"] = "L4_MSSQL_PASSWORD"
    return parse_config({"databases": [target]}, "live.toml")


@pytest.fixture(scope="module")
def db():
    connection = connect(live_config().databases[0])
    yield connection
    connection.close()


def not_exercised(what: str) -> None:
    print(f"\nmssql live: NOT EXERCISED: {what}")
    pytest.skip(f"not exercised: {what}")


def not_examined(result) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for entry in result.coverage:
        for item in entry.not_examined:
            found.setdefault(entry.catalog, []).append(item["why"])
    return found


def test_catalog_context_is_explicit_and_intent_is_read_write(db):
    own = db.default_catalog
    assert own, "DB_NAME() at open"
    assert db.scalar("SELECT DB_NAME() AS catalog_name", catalog="master") == "master"
    assert db.scalar("SELECT DB_NAME() AS catalog_name") == own  # back in the DSN's catalog, not master
    assert db.scalar("SELECT DB_NAME() AS catalog_name", catalog=db.server_catalog) == "master"
    intent = dsn_value(os.environ["L4_MSSQL_DSN"], "ApplicationIntent")
    updateability = db.scalar("SELECT CAST(DATABASEPROPERTYEX(DB_NAME(), 'Updateability') AS nvarchar(20)) AS u")
    print(f"\nmssql live: DSN catalog {own}, ApplicationIntent {intent or '(driver default: ReadWrite)'}, "
          f"session catalog updateability {updateability}")
    if intent is None:
        assert dsn_value(db._connection_string(None), "ApplicationIntent") is None


def _replicas(db):
    return db.query("""
SELECT d.name, ars.role_desc, drs.is_primary_replica, ag.automated_backup_preference_desc,
       CASE WHEN d.replica_id IS NULL THEN NULL ELSE sys.fn_hadr_backup_is_preferred_replica(d.name) END AS preferred
FROM sys.databases AS d
JOIN sys.dm_hadr_availability_replica_states AS ars ON ars.replica_id = d.replica_id AND ars.is_local = 1
JOIN sys.availability_replicas AS ar ON ar.replica_id = d.replica_id
JOIN sys.availability_groups AS ag ON ag.group_id = ar.group_id
LEFT JOIN sys.dm_hadr_database_replica_states AS drs ON drs.database_id = d.database_id AND drs.is_local = 1
""", catalog="master")


def test_availability_group_replica_detection_and_backup_judgement(db):
    if not db.scalar("SELECT CAST(SERVERPROPERTY('IsHadrEnabled') AS int) AS h", catalog="master"):
        not_exercised("availability groups (HADR is not enabled on this server)")
    rows = _replicas(db)
    if not rows:
        not_exercised("availability groups (HADR enabled, but no database in an availability group)")
    names = [r["name"] for r in rows]
    result = run_diagnostics(live_config(databases=names), ["backup.never", "backup.stale", "backup.no_log_backup"],
                             target="live")
    assert result.errors == [], result.errors
    skipped = not_examined(result)
    for row in rows:
        primary = bool(row["is_primary_replica"])
        print(f"\nmssql live: {row['name']}: {row['role_desc']}, preference "
              f"{row['automated_backup_preference_desc']}, preferred backup replica {row['preferred']}")
        full_skipped = any("judged on the availability group's primary" in why for why in skipped.get(row["name"], []))
        assert full_skipped == (not primary), row


def test_offline_catalog_is_skipped_and_named(db):
    offline = db.query("SELECT d.name FROM sys.databases AS d WHERE d.state_desc = N'OFFLINE'", catalog="master")
    if not offline:
        not_exercised("an OFFLINE catalog (none on this server)")
    name = offline[0]["name"]
    readable = db.scalar("SELECT TOP (1) d.name FROM sys.databases AS d WHERE d.state = 0 AND d.database_id > 4 "
                         "AND HAS_DBACCESS(d.name) = 1 ORDER BY d.name", catalog="master") or "master"
    result = run_diagnostics(live_config(databases=[name, readable]),
                             ["perf.stale_statistics", "perf.unused_index", "perf.index_fragmentation",
                              "schema.no_primary_key", "capacity.database_growth_forecast"], target="live")
    assert result.errors == [], result.errors
    skipped = not_examined(result)
    assert skipped.get(name), f"{name} is OFFLINE but not reported as not examined"
    assert not [why for why in skipped.get(readable, []) if "skipped" in why]  # the next catalog was read


def test_restored_database_ages_usage_statistics_from_the_restore(db):
    rows = db.query("""
SELECT TOP (1) r.destination_database_name AS name, r.restore_date
FROM msdb.dbo.restorehistory AS r
JOIN sys.databases AS d ON d.name = r.destination_database_name AND d.state = 0
ORDER BY r.restore_date DESC
""", catalog="master")
    if not rows:
        not_exercised("a restored database (msdb.dbo.restorehistory has no restore of an online database)")
    from l4agent.diagnostics.perf.unused_index import MSSQL_STATS_AGE

    name = rows[0]["name"]
    stats = db.query(MSSQL_STATS_AGE, catalog=name)[0]
    assert stats["last_restore_date"] is not None
    since_restore = db.scalar("SELECT DATEDIFF_BIG(SECOND, ?, GETDATE()) AS s", (rows[0]["restore_date"],),
                              catalog="master")
    assert stats["stats_age_seconds"] <= since_restore + 5
    print(f"\nmssql live: {name} restored {rows[0]['restore_date']}: usage statistics "
          f"{stats['stats_age_seconds']} s old")
