"""caching.server_caches: a MariaDB with the query cache on (tiny), a small table open cache and
no thread cache, under a write-heavy ERP-like workload; the clean twin runs on the defaults."""

from __future__ import annotations

from tests.diagnostics.checkrun import db_config, findings_of, objects, run_check
from tests.support.dbservers import MariaDbServer

PLANTED = ["--query-cache-type=1", "--query-cache-size=128K", "--table-open-cache=10", "--thread-cache-size=0"]


def workload(server) -> None:
    db = server.create_database("erp")
    server.execute_text("".join(f"CREATE TABLE t{i} (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(40));\n"
                                for i in range(40)), db)
    lines = []
    for i in range(1, 1501):  # every write empties t0's cached results
        lines += [f"INSERT INTO t0 (v) VALUES ('row {i}');", f"SELECT v FROM t0 WHERE id = {i};",
                  f"SELECT COUNT(*) FROM t{i % 40} WHERE v <> 'r{i}';"]
    server.execute_text("\n".join(lines), db)
    for _ in range(250):  # short-lived connections, as a pool-less datasource opens them
        server.admin_connect().close()


def test_planted_caches_are_reported_with_the_set_statements():
    with MariaDbServer(extra_options=PLANTED) as server:
        workload(server)
        findings = findings_of(run_check("caching.server_caches", db_config(server, None)))
    assert objects(findings) == {"query_cache_type", "table_open_cache", "thread_cache_size"}
    by_object = {f.object: f for f in findings}
    cache = by_object["query_cache_type"]
    assert cache.evidence["qcache_lowmem_prunes"] > 0 and cache.evidence["hit_ratio"] < 0.5
    assert "SET GLOBAL query_cache_type = OFF" in cache.recommendation
    assert "SET GLOBAL table_open_cache = 2000" in by_object["table_open_cache"].recommendation
    assert by_object["thread_cache_size"].evidence["threads_created"] >= 200
    assert "SET GLOBAL thread_cache_size = " in by_object["thread_cache_size"].recommendation


def test_clean_twin_on_the_defaults_is_not_flagged():
    with MariaDbServer() as server:
        workload(server)
        result = run_check("caching.server_caches", db_config(server, None))
    assert findings_of(result) == []
    assert [c.examined for c in result.coverage if c.target == "db"][0]["server variables"] > 10
