"""perf.cache_hit_ratio: a database whose reads miss the cache is reported, a hot one is not.

PostgreSQL counts per database, so both live on the shared server. MariaDB counts per server:
a throwaway instance with a 6 MiB buffer pool is judged before (clean) and after (defect) a
table three times the pool's size is scanned.
"""

from __future__ import annotations

from tests.diagnostics.checkrun import db_config, findings_of, objects, run_check, run_mssql
from tests.support.dbservers import MariaDbServer

OPTIONS = {"perf.cache_hit_ratio": {"min_reads": 1000}}


def test_postgresql_cold_database_beside_hot_one(pg_server, pg_db):
    cold = pg_server.create_database(pg_db + "_cold")
    try:
        # 57 MB, scanned through a small ring buffer: almost every block comes from outside shared_buffers.
        pg_server.execute_admin("CREATE TABLE archive AS SELECT g AS id, repeat('x', 200) AS pad "
                                "FROM generate_series(1, 250000) g", cold)
        pg_server.execute_admin(["SELECT count(*) FROM archive"] * 3, cold)
        pg_server.execute_admin(["CREATE TABLE rates AS SELECT g AS id FROM generate_series(1, 100) g",
                                 *["SELECT sum(id) FROM rates"] * 200], pg_db)
        config = db_config(pg_server, pg_db, databases=[pg_db, cold], diagnostics=OPTIONS)
        findings = findings_of(run_check("perf.cache_hit_ratio", config))
    finally:
        pg_server.drop_database(cold)
    assert objects(findings) == {cold}
    finding = findings[0]
    assert finding.severity == "critical" and finding.evidence["hit_ratio"] < 0.8
    assert finding.evidence["page_reads"] >= 1000 and "shared_buffers" in finding.recommendation
    assert finding.evidence["counted_over_seconds"] >= 0


def test_mariadb_buffer_pool_too_small_for_the_scanned_table():
    with MariaDbServer(extra_options=["--innodb-buffer-pool-size=6M"]) as server:
        database = server.create_database("l4t_cache")
        server.execute_admin(["CREATE TABLE hot (id int PRIMARY KEY, v int)",
                              "INSERT INTO hot SELECT seq, seq FROM seq_1_to_1000",
                              "CREATE TABLE cold (id int PRIMARY KEY, pad varchar(4000))",
                              "INSERT INTO cold SELECT seq, REPEAT('x', 4000) FROM seq_1_to_5000",
                              *["SELECT SUM(v) FROM hot"] * 20], database)
        config = db_config(server, None, diagnostics=OPTIONS)
        assert findings_of(run_check("perf.cache_hit_ratio", config)) == []  # clean: the working set fits

        server.execute_admin(["SELECT COUNT(*) FROM cold WHERE pad LIKE '%y%'"] * 3, database)
        findings = findings_of(run_check("perf.cache_hit_ratio", config))
        assert objects(findings) == {"innodb_buffer_pool"}
        assert findings[0].evidence["innodb_buffer_pool_size"] == 6 * 1048576
        assert findings[0].evidence["hit_ratio"] < 0.95
        assert "innodb_buffer_pool_size" in findings[0].recommendation


def _counters(ratio: int, base: int, ple: int = 300) -> list[dict]:
    # sys.dm_os_performance_counters: object_name and counter_name come RTRIMmed by the statement.
    return [{"object_name": "SQLServer:Buffer Manager", "counter_name": name, "cntr_value": value, "cntr_type": kind}
            for name, value, kind in (("Buffer cache hit ratio", ratio, 537003264),
                                      ("Buffer cache hit ratio base", base, 1073939712),
                                      ("Page life expectancy", ple, 65792))]


def test_mssql_buffer_cache_hit_ratio_counter():
    findings, _ = run_mssql("perf.cache_hit_ratio", {"counters": _counters(850, 1000, ple=45)})
    assert [(f.object, f.severity) for f in findings] == [("buffer pool", "warning")]
    assert findings[0].evidence["hit_ratio"] == 0.85
    assert findings[0].evidence["page_life_expectancy_seconds"] == 45
    clean, _ = run_mssql("perf.cache_hit_ratio", {"counters": _counters(998, 1000)})
    assert clean == []
