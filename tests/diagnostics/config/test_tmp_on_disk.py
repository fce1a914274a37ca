"""config.tmp_on_disk: after FLUSH STATUS, GROUP BYs that spill (tmp_table_size 1 kB) are
reported; the same GROUP BYs in memory are the clean twin; too few temporary tables is "not
examined (too little data)", never a verdict."""

from __future__ import annotations

import contextlib

from tests.diagnostics.checkrun import db_config, findings_of, run_check
from tests.diagnostics.signal_support import not_examined

CHECK = "config.tmp_on_disk"
OPTIONS = {CHECK: {"min_tmp_tables": 50}}
QUERY = "SELECT seq % 500 AS g, repeat('x', 150) AS pad, count(*) FROM seq_1_to_3000 GROUP BY g, pad ORDER BY NULL"


def group_bys(server, database, spill: bool, times: int = 60) -> None:
    with contextlib.closing(server.admin_connect(database)) as conn:
        cursor = conn.cursor()
        if spill:
            cursor.execute("SET SESSION tmp_table_size = 1024, max_heap_table_size = 16384")
        for _ in range(times):
            cursor.execute(QUERY).fetchall()


def test_spilling_group_bys_beside_in_memory_ones(mariadb_server, mariadb_db):
    mariadb_server.execute_admin("FLUSH STATUS")
    too_little = run_check(CHECK, db_config(mariadb_server, None, diagnostics=OPTIONS))
    assert too_little.findings == [] and "too little data" in not_examined(too_little)[0][2]
    group_bys(mariadb_server, mariadb_db, spill=False)
    assert findings_of(run_check(CHECK, db_config(mariadb_server, None, diagnostics=OPTIONS))) == []
    mariadb_server.execute_admin("FLUSH STATUS")
    group_bys(mariadb_server, mariadb_db, spill=True)
    [finding] = findings_of(run_check(CHECK, db_config(mariadb_server, None, diagnostics=OPTIONS)))
    assert (finding.object, finding.severity) == ("tmp_table_size", "warning")
    assert finding.evidence["ratio"] >= 0.25
