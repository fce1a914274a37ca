"""backup.archive_failing (PostgreSQL): a throwaway server with archive_mode on. With a failing
archive_command the check reports it; with a working one (and on a server without archiving)
it does not."""

from __future__ import annotations

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.checkrun import archiving_pg, db_config, findings_of, run_check, set_archive_command


def test_failing_archive_command_beside_working_one():
    server = archiving_pg()
    config = db_config(server, "postgres")
    set_archive_command(server, "true", wait_for="archived")
    assert findings_of(run_check("backup.archive_failing", config)) == []  # clean: archiving works
    try:
        set_archive_command(server, "false", wait_for="failed")
        findings = findings_of(run_check("backup.archive_failing", config))
        assert [(f.object, f.severity) for f in findings] == [("pg_stat_archiver", "critical")]
        evidence = findings[0].evidence
        assert evidence["failed_count"] >= 1 and evidence["ready_count"] >= 1
        assert evidence["archive_command"] == "false" and evidence["last_failed_wal"]
        assert "archive_command" in findings[0].recommendation
    finally:
        set_archive_command(server, "true", wait_for="archived")
    assert findings_of(run_check("backup.archive_failing", config)) == []  # recovered: success is newest


def test_server_without_archiving_is_not_reported(pg_server, pg_db):
    assert findings_of(run_check("backup.archive_failing", db_config(pg_server, pg_db))) == []


def test_postgresql_only():
    assert by_id("backup.archive_failing").engines == {"postgresql"}
