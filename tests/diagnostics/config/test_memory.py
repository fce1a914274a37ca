"""config.memory: a MariaDB whose buffer pool (6 MB) is below half its InnoDB data, and a
PostgreSQL with shared_buffers 1 MB under more data than that on a host with GBs of RAM; the
fixture servers (64 MB pool, 128 MB shared_buffers over less data) are the clean twins.
SQL Server on rows: max server memory left at its default."""

from __future__ import annotations

import pytest

from l4agent.diagnostics.base import CheckContext
from l4agent.diagnostics.options import options_for
from l4agent.diagnostics.registry import by_id
from tests.diagnostics.checkrun import db_config, findings_of, run_check, run_mssql
from tests.diagnostics.signal_support import mariadb_grant, not_examined
from tests.support.dbservers import MariaDbServer, PostgresServer

CHECK = "config.memory"


@pytest.fixture(scope="module")
def small_pool():
    server = MariaDbServer(extra_options=["--innodb-buffer-pool-size=6M"])
    try:
        server.start()
        server.create_database("erp")
        server.execute_admin(["CREATE TABLE erp.filler (id int PRIMARY KEY, pad varchar(1000)) ENGINE=InnoDB",
                              "INSERT INTO erp.filler SELECT seq, repeat('x', 1000) FROM erp.seq_1_to_16000",
                              "ANALYZE TABLE erp.filler"])
        yield server
    finally:
        server.close()


def test_mariadb_buffer_pool_below_the_data(small_pool, mariadb_signals):
    with mariadb_grant(small_pool, "SHOW VIEW"):
        [finding] = findings_of(run_check(CHECK, db_config(small_pool, None)))
    assert (finding.object, finding.severity) == ("innodb_buffer_pool_size", "warning")
    assert finding.evidence["buffer_pool_bytes"] < 0.5 * finding.evidence["innodb_bytes"]
    assert findings_of(run_check(CHECK, db_config(mariadb_signals.primary, None))) == []  # 64 MB, tiny data


def test_mariadb_without_table_visibility_is_not_examined(mariadb_server):
    result = run_check(CHECK, db_config(mariadb_server, None))
    assert result.findings == [] and [w for _, w, _ in not_examined(result)] == [CHECK]


@pytest.fixture(scope="module")
def tiny_shared_buffers():
    server = PostgresServer(extra_settings={"shared_buffers": "1MB", "effective_cache_size": "8MB"})
    try:
        server.start()
        yield server
    finally:
        server.close()


def test_postgresql_shared_buffers_against_ram(tiny_shared_buffers, pg_server):
    [finding] = findings_of(run_check(CHECK, db_config(tiny_shared_buffers, "postgres")))
    assert (finding.object, finding.severity) == ("shared_buffers", "warning")
    assert finding.evidence["shared_buffers_bytes"] == 1 << 20
    assert findings_of(run_check(CHECK, db_config(pg_server, "postgres"))) == []  # the data fits in 128 MB


def test_postgresql_remote_server_ram_is_not_examined(pg_server):
    """The agent reads RAM locally: for a server elsewhere it says so before any query."""
    config = db_config(pg_server, "postgres", dsn=pg_server.agent_dsn("postgres").replace("127.0.0.1", "db1.example"))
    check = by_id(CHECK)
    ctx = CheckContext(config, options_for(check, config.diagnostics), "testhost", target=config.databases[0], db=None)
    assert list(check.run(ctx)) == []
    [entry] = [c for c in ctx.coverage.entries() if c.not_examined]
    assert entry.not_examined == [{"what": CHECK,
                                   "why": "the server's RAM is unknown: the agent does not run on db1.example"}]


def test_mssql_max_server_memory_default():
    findings, _ = run_mssql(CHECK, {"memory": [{"max_server_memory_mb": 2147483647,
                                                 "physical_memory_kb": 64 * 1024 * 1024}]})
    assert [(f.object, f.severity) for f in findings] == [("max server memory (MB)", "warning")]
    assert run_mssql(CHECK, {"memory": [{"max_server_memory_mb": 57344,
                                         "physical_memory_kb": 64 * 1024 * 1024}]})[0] == []
