"""backup.no_point_in_time: the MariaDB replica (no binary log) and a PostgreSQL primary without
WAL archiving are reported; the MariaDB primary (log_bin on), the archiving PostgreSQL primary and
its standby (the primary archives) are the clean twins."""

from __future__ import annotations

from tests.diagnostics.checkrun import db_config, findings_of, run_check

CHECK = "backup.no_point_in_time"


def test_mariadb_binlog(mariadb_signals):
    [finding] = findings_of(run_check(CHECK, db_config(mariadb_signals.replica, None)))
    assert (finding.object, finding.severity) == ("log_bin", "warning")
    assert findings_of(run_check(CHECK, db_config(mariadb_signals.primary, None))) == []


def test_postgresql_archiving(pg_signals, pg_server):
    [finding] = findings_of(run_check(CHECK, db_config(pg_server, "postgres")))
    assert (finding.object, finding.severity) == ("archive_mode", "warning")
    assert "archive_mode off" in finding.summary
    assert findings_of(run_check(CHECK, db_config(pg_signals.primary, "postgres"))) == []
    assert findings_of(run_check(CHECK, db_config(pg_signals.standby, "postgres"))) == []
