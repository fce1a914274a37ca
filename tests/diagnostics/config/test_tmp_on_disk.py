"""config.tmp_on_disk on a MariaDB of its own (the counters run since start-up): before any
query it is "not examined (too little data)", never a verdict; GROUP BYs in memory are the clean
twin; the same GROUP BYs spilling to disk (tmp_table_size 1 kB) are then reported."""

from __future__ import annotations

import contextlib

import pytest

from tests.diagnostics.checkrun import db_config, findings_of, run_check
from tests.diagnostics.signal_support import not_examined
from tests.support.dbservers import MariaDbServer

CHECK = "config.tmp_on_disk"
OPTIONS = {CHECK: {"min_tmp_tables": 50}}
QUERY = ("SELECT seq % 500 AS g, repeat('x', 150) AS pad, count(*) FROM erp.seq_1_to_3000 "
         "GROUP BY g, pad ORDER BY NULL")


@pytest.fixture(scope="module")
def fresh_mariadb():
    server = MariaDbServer()
    try:
        server.start()
        server.create_database("erp")
        yield server
    finally:
        server.close()


def group_bys(server, spill: bool, times: int = 60) -> None:
    with contextlib.closing(server.admin_connect()) as conn:
        cursor = conn.cursor()
        if spill:
            cursor.execute("SET SESSION tmp_table_size = 1024, max_heap_table_size = 16384")
        for _ in range(times):
            cursor.execute(QUERY).fetchall()


def test_spilling_group_bys_beside_in_memory_ones(fresh_mariadb):
    too_little = run_check(CHECK, db_config(fresh_mariadb, None, diagnostics=OPTIONS))
    assert too_little.findings == [] and "too little data" in not_examined(too_little)[0][2]
    group_bys(fresh_mariadb, spill=False)
    assert findings_of(run_check(CHECK, db_config(fresh_mariadb, None, diagnostics=OPTIONS))) == []
    group_bys(fresh_mariadb, spill=True)
    [finding] = findings_of(run_check(CHECK, db_config(fresh_mariadb, None, diagnostics=OPTIONS)))
    assert (finding.object, finding.severity) == ("tmp_table_size", "warning")
    assert finding.evidence["ratio"] >= 0.25 and finding.evidence["tmp_disk_tables"] >= 60
