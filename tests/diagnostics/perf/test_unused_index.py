"""perf.unused_index: an index no statement reads is reported with a DROP INDEX, once the usage
statistics are old enough; the used index beside it, primary keys, unique indexes and
foreign-key indexes are not."""

from __future__ import annotations

import contextlib

import pytest

from tests.diagnostics.checkrun import (
    db_config,
    findings_of,
    objects,
    references_granted,
    run_check,
    run_mssql,
)

OPTIONS = {"perf.unused_index": {"min_stats_age": "0s", "min_index_bytes": 0}}


def _pg_plant(server, database):
    server.execute_admin([
        "CREATE TABLE visits (id int PRIMARY KEY, code text, note text, ref int)",
        "INSERT INTO visits SELECT g, 'c' || g, md5(g::text), g FROM generate_series(1, 5000) g",
        "CREATE INDEX visits_code_idx ON visits (code)",
        "CREATE INDEX visits_note_idx ON visits (note)",
        "CREATE UNIQUE INDEX visits_ref_key ON visits (ref)",
    ], database)
    server.execute_admin("ANALYZE visits", database)
    with contextlib.closing(server.admin_connect(database)) as conn:
        for i in range(20):
            conn.cursor().execute("SELECT * FROM visits WHERE code = ?", f"c{i}").fetchall()


def test_postgresql_unused_index_beside_used_one(pg_server, pg_db):
    _pg_plant(pg_server, pg_db)
    findings = findings_of(run_check("perf.unused_index", db_config(pg_server, pg_db, diagnostics=OPTIONS)))

    assert objects(findings) == {f"{pg_db}.public.visits.visits_note_idx"}
    finding = findings[0]
    assert finding.recommendation.endswith('DROP INDEX CONCURRENTLY "public"."visits_note_idx";')
    assert finding.evidence["stats_age_seconds"] >= 0 and finding.evidence["stats_since"].endswith(" ago")
    assert "CREATE INDEX visits_note_idx" in finding.evidence["definition"]


def test_postgresql_young_statistics_prove_nothing(pg_server, pg_db):
    _pg_plant(pg_server, pg_db)
    options = {"perf.unused_index": {"min_stats_age": "7d", "min_index_bytes": 0}}
    assert findings_of(run_check("perf.unused_index", db_config(pg_server, pg_db, diagnostics=options))) == []


def test_a_bad_duration_option_is_refused_by_the_config(pg_server, pg_db):
    from l4agent.core.config import ConfigError

    options = {"perf.unused_index": {"min_stats_age": "a week"}}
    with pytest.raises(ConfigError) as info:
        db_config(pg_server, pg_db, diagnostics=options)
    assert "diagnostics.perf.unused_index.min_stats_age: invalid duration 'a week'" in info.value.lines[0]


def _mariadb_plant(server, database):
    server.execute_admin([
        "CREATE TABLE customers (id int PRIMARY KEY)",
        "INSERT INTO customers SELECT seq FROM seq_1_to_100",
        "CREATE TABLE visits (id int PRIMARY KEY, code varchar(20), note varchar(40), ref int, customer_id int, "
        "KEY visits_code (code), KEY visits_note (note), UNIQUE KEY visits_ref (ref), "
        "CONSTRAINT visits_customer FOREIGN KEY (customer_id) REFERENCES customers (id))",
        "INSERT INTO visits SELECT seq, CONCAT('c', seq), md5(seq), seq, 1 + seq % 100 FROM seq_1_to_2000",
    ], database)
    with contextlib.closing(server.admin_connect(database)) as conn:
        for i in range(20):
            conn.cursor().execute("SELECT * FROM visits FORCE INDEX (visits_code) WHERE code = ?", f"c{i}").fetchall()


def test_mariadb_unused_index_beside_used_unique_and_foreign_key_ones(mariadb_server, mariadb_db):
    _mariadb_plant(mariadb_server, mariadb_db)
    never_read = mariadb_server.execute_admin(
        "SELECT INDEX_NAME FROM performance_schema.table_io_waits_summary_by_index_usage "
        "WHERE OBJECT_SCHEMA = ? AND OBJECT_NAME = 'visits' AND COUNT_STAR = 0 AND INDEX_NAME <> 'PRIMARY' "
        "ORDER BY 1", params=[mariadb_db])
    # the unique and the foreign-key index are unread too: only their kind keeps them off the list
    assert [r[0] for r in never_read] == ["visits_customer", "visits_note", "visits_ref"]
    config = db_config(mariadb_server, None, databases=[mariadb_db], diagnostics=OPTIONS)
    with references_granted(mariadb_server, mariadb_db):
        findings = findings_of(run_check("perf.unused_index", config))

    assert objects(findings) == {f"{mariadb_db}.visits.visits_note"}
    assert findings[0].recommendation.endswith(f"ALTER TABLE `{mariadb_db}`.`visits` DROP INDEX `visits_note`;")
    assert findings[0].evidence["stats_age_seconds"] >= 0


def test_mariadb_without_references_says_so_instead_of_guessing(mariadb_server, mariadb_db):
    _mariadb_plant(mariadb_server, mariadb_db)
    config = db_config(mariadb_server, None, databases=[mariadb_db], diagnostics=OPTIONS)
    findings = findings_of(run_check("perf.unused_index", config))
    assert [(f.severity, f.object) for f in findings] == [("info", mariadb_db)]
    assert "visits.visits_note" in findings[0].evidence["indexes"]
    assert f"GRANT REFERENCES ON `{mariadb_db}`.*" in findings[0].recommendation


# -- SQL Server: rows shaped like sys.indexes + sys.dm_db_index_usage_stats -------------------

UNUSED = {"database_name": "erp", "schema_name": "dbo", "table_name": "ORDER_ROWS", "index_name": "IX_ORDER_ROWS_NOTE",
          "index_id": 7, "type_desc": "NONCLUSTERED", "is_unique": False, "is_primary_key": False,
          "is_unique_constraint": False, "user_seeks": None, "user_scans": None, "user_lookups": None,
          "user_updates": None, "last_user_update": None, "used_page_count": 12800}


def stats_age(seconds, *, restored=None, auto_close=False, started="2026-10-20 04:00:00"):
    """A row of MSSQL_STATS_AGE: the age is the later of server start, create date, last restore."""
    return [{"database_name": "erp", "sqlserver_start_time": started, "create_date": "2019-03-01 10:00:00",
             "last_restore_date": restored, "is_auto_close_on": auto_close, "stats_age_seconds": seconds}]


def run_unused(age_rows, **kwargs):
    from l4agent.diagnostics.base import CheckContext
    from l4agent.diagnostics.options import options_for
    from tests.diagnostics.checkrun import DmvConnection, by_id

    check = by_id("perf.unused_index")
    config = kwargs.pop("config")
    db = DmvConnection(check, {"stats_age": age_rows, "unused": [UNUSED]})
    ctx = CheckContext(config, options_for(check, config.diagnostics), "h", target=config.databases[0], db=db)
    return list(check.run(ctx)), db, ctx


def test_mssql_unused_index_after_a_month_of_uptime():
    findings, db = run_mssql("perf.unused_index", {"stats_age": stats_age(2_800_000), "unused": [UNUSED]})
    assert [f.object for f in findings] == ["erp.dbo.ORDER_ROWS.IX_ORDER_ROWS_NOTE"]
    assert findings[0].recommendation.endswith("DROP INDEX [IX_ORDER_ROWS_NOTE] ON [dbo].[ORDER_ROWS];")
    assert findings[0].evidence["stats_age_seconds"] == 2_800_000
    assert "since SQL Server started" not in findings[0].summary
    assert ("unused", (1_048_576,), None) in db.calls


def test_mssql_restarted_yesterday_says_nothing():
    findings, db = run_mssql("perf.unused_index", {"stats_age": stats_age(90_000), "unused": [UNUSED]})
    assert findings == [] and [c[0] for c in db.calls] == ["stats_age"]


def _config():
    from l4agent.agent.configuration import parse_config
    from tests.diagnostics.checkrun import MSSQL_DSN

    return parse_config({"databases": [{"name": "erp", "engine": "mssql", "dsn": MSSQL_DSN,
                                        "password_env": "L4T_UNUSED"}]}, "<test>")


def test_mssql_database_restored_yesterday_on_an_old_server_is_too_young():
    """Issue 16 item 7. Before: the age was the server's uptime (a month here) and every index of a
    database restored yesterday looked unused. The statement now takes the later of server start,
    create date and last restore (msdb.dbo.restorehistory), and the check says why it did not look."""
    findings, db, ctx = run_unused(stats_age(86_400, restored="2026-11-30 22:00:00"), config=_config())
    assert findings == [] and [c[0] for c in db.calls] == ["stats_age"]
    [entry] = [e for e in ctx.coverage.entries() if e.not_examined]
    assert "too young" in entry.not_examined[0]["why"]


def test_mssql_auto_close_database_is_not_judged():
    findings, db, ctx = run_unused(stats_age(2_800_000, auto_close=True), config=_config())
    assert findings == [] and [c[0] for c in db.calls] == ["stats_age"]
    assert any("AUTO_CLOSE" in item["why"] for e in ctx.coverage.entries() for item in e.not_examined)


def test_mssql_stats_age_counts_from_the_database_own_start_and_unused_skips_new_objects():
    import sqlglot
    from sqlglot import exp

    from l4agent.diagnostics.perf.unused_index import MSSQL_STATS_AGE, MSSQL_UNUSED

    age_sql = sqlglot.parse_one(MSSQL_STATS_AGE, read="tsql")
    read = {c.sql().lower() for c in age_sql.find_all(exp.Column)}
    assert {"i.sqlserver_start_time", "d.create_date", "rh.restore_date"} <= read
    assert "msdb.dbo.restorehistory" in {".".join(p for p in (t.catalog, t.db, t.name) if p).lower()
                                         for t in age_sql.find_all(exp.Table)}
    where = sqlglot.parse_one(MSSQL_UNUSED, read="tsql").args["where"].sql(dialect="tsql").lower()
    assert "o.create_date < dateadd(day, -7, getdate())" in where
    assert "o.modify_date < dateadd(day, -2, getdate())" in where
