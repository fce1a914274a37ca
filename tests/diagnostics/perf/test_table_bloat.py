"""perf.table_bloat: dead tuples planted by a bulk delete with autovacuum off are reported; the
vacuumed twin is not. MariaDB: DATA_FREE left by a bulk delete, beside a table without one."""

from __future__ import annotations

import time

from tests.diagnostics.checkrun import db_config, findings_of, objects, one, references_granted, run_check

CREATE = ("CREATE TABLE {name} (id int PRIMARY KEY, note text) WITH (autovacuum_enabled = false)",
          "INSERT INTO {name} SELECT g, md5(g::text) FROM generate_series(1, 20000) g")


def test_postgresql_dead_tuples_beside_vacuumed_twin(pg_server, pg_db):
    pg_server.execute_admin([s.format(name=n) for n in ("order_rows", "order_rows_clean") for s in CREATE], pg_db)
    # Two sessions: the deletes' statistics reach the server when a session ends, before VACUUM.
    pg_server.execute_admin(["DELETE FROM order_rows WHERE id <= 12000",
                             "DELETE FROM order_rows_clean WHERE id <= 12000"], pg_db)
    pg_server.execute_admin("VACUUM order_rows_clean", pg_db)
    findings = findings_of(run_check("perf.table_bloat", db_config(pg_server, pg_db)))

    assert objects(findings) == {f"{pg_db}.public.order_rows"}
    finding = findings[0]
    assert finding.severity == "critical"  # 60 % dead
    assert finding.evidence["n_dead_tup"] == 12000 and finding.evidence["autovacuum_disabled"] is True
    assert finding.evidence["vacuum_age_seconds"] is None and "never vacuumed" in finding.summary
    assert finding.recommendation.startswith('VACUUM (ANALYZE) "public"."order_rows";')
    assert 'RESET (autovacuum_enabled)' in finding.recommendation


def test_mariadb_free_space_after_bulk_delete_beside_full_table(mariadb_server, mariadb_db):
    mariadb_server.execute_admin([
        "CREATE TABLE visits (id int PRIMARY KEY, pad varchar(255))",
        "INSERT INTO visits SELECT seq, REPEAT('x', 250) FROM seq_1_to_60000",
        "CREATE TABLE visits_clean (id int PRIMARY KEY, pad varchar(255))",
        "INSERT INTO visits_clean SELECT seq, REPEAT('x', 250) FROM seq_1_to_60000",
        "DELETE FROM visits WHERE id > 6000",
    ], mariadb_db)
    deadline = time.monotonic() + 30  # InnoDB purges the deleted rows in the background
    while time.monotonic() < deadline:
        free = mariadb_server.execute_admin("SELECT DATA_FREE FROM information_schema.TABLES "
                                            "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'visits'", params=[mariadb_db])
        if free[0][0] >= 12 * 1048576:
            break
        time.sleep(0.2)
    options = {"perf.table_bloat": {"min_free_bytes": 8 * 1048576}}
    config = db_config(mariadb_server, None, databases=[mariadb_db], diagnostics=options)
    with references_granted(mariadb_server, mariadb_db):
        findings = findings_of(run_check("perf.table_bloat", config))

    assert objects(findings) == {f"{mariadb_db}.visits"}
    finding = one(findings, f"{mariadb_db}.visits")
    assert finding.evidence["data_free"] >= 12 * 1048576
    assert finding.recommendation.startswith(f"OPTIMIZE TABLE `{mariadb_db}`.`visits`;")


def test_mariadb_without_references_says_what_to_grant(mariadb_server, mariadb_db):
    mariadb_server.execute_admin("CREATE TABLE visits (id int PRIMARY KEY)", mariadb_db)
    config = db_config(mariadb_server, None, databases=[mariadb_db])
    findings = findings_of(run_check("perf.table_bloat", config))
    assert [(f.severity, f.object) for f in findings] == [("info", mariadb_db)]
    assert f"GRANT REFERENCES ON `{mariadb_db}`.*" in findings[0].recommendation
