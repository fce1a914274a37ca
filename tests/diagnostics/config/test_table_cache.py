"""config.table_cache: table_open_cache set below the server's table count on the MariaDB
primary is reported; the defaults (2000 / 400 over a few dozen tables) are the clean twin. An
account that sees no ERP table is "not examined"."""

from __future__ import annotations

from tests.diagnostics.checkrun import db_config, findings_of, run_check
from tests.diagnostics.signal_support import not_examined

CHECK = "config.table_cache"


def test_open_cache_below_the_tables(mariadb_signals):
    primary = mariadb_signals.primary
    assert findings_of(run_check(CHECK, db_config(primary, None))) == []
    before = primary.execute_admin("SELECT @@table_open_cache")[0][0]
    primary.execute_admin("SET GLOBAL table_open_cache = 10")
    try:
        [finding] = findings_of(run_check(CHECK, db_config(primary, None)))
    finally:
        primary.execute_admin(f"SET GLOBAL table_open_cache = {int(before)}")
    assert (finding.object, finding.severity) == ("table_open_cache", "warning")
    assert finding.evidence["table_open_cache"] == 10 and finding.evidence["tables"] > 10


def test_no_visible_table_is_not_examined(mariadb_server):
    result = run_check(CHECK, db_config(mariadb_server, None))
    assert result.findings == [] and [w for _, w, _ in not_examined(result)] == [CHECK]
