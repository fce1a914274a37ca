"""backup.same_volume: a backup folder on the data directory's filesystem is reported; one on
another filesystem (/dev/shm, a tmpfs) is not. When the data's location cannot be known here
(remote server, Windows paths) the finding says so instead of guessing."""

from __future__ import annotations

import os
import uuid

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.diagnostics.backup.same_volume import is_local, server_host
from l4agent.diagnostics.base import CheckContext
from l4agent.diagnostics.options import options_for
from l4agent.diagnostics.registry import by_id
from tests.diagnostics.checkrun import db_config, findings_of, run_check, run_mssql


@pytest.fixture
def other_filesystem():
    """A folder on a different filesystem than /tmp (where the test servers keep their data)."""
    path = f"/dev/shm/l4t-backups-{uuid.uuid4().hex[:8]}"
    os.mkdir(path)
    if os.stat(path).st_dev == os.stat("/tmp").st_dev:
        pytest.fail("/dev/shm and /tmp are one filesystem here; the twin needs another one")
    yield path
    os.rmdir(path)


def _same_fs_folder(server, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    assert os.stat(folder).st_dev == os.stat(server.data_dir).st_dev
    return str(folder)


def test_postgresql_backups_beside_the_data_and_elsewhere(pg_server, pg_db, tmp_path, other_filesystem):
    same = _same_fs_folder(pg_server, tmp_path)
    config = db_config(pg_server, pg_db, backup_dirs=[same, other_filesystem])
    findings = findings_of(run_check("backup.same_volume", config))
    assert [(f.object, f.severity) for f in findings] == [(same, "warning")]
    assert findings[0].evidence["data_dirs"] == [str(pg_server.data_dir)]


def test_mariadb_backups_beside_the_data_and_elsewhere(mariadb_server, tmp_path, other_filesystem):
    same = _same_fs_folder(mariadb_server, tmp_path)
    config = db_config(mariadb_server, None, backup_dirs=[same, other_filesystem])
    findings = findings_of(run_check("backup.same_volume", config))
    assert [f.object for f in findings] == [same]
    assert findings[0].evidence["data_dirs"] == [str(mariadb_server.data_dir)]


def test_configured_data_dirs_win_over_what_the_server_says(pg_server, pg_db, tmp_path, other_filesystem):
    same = _same_fs_folder(pg_server, tmp_path)
    config = db_config(pg_server, pg_db, backup_dirs=[same, other_filesystem], data_dirs=["/dev/shm"])
    findings = findings_of(run_check("backup.same_volume", config))
    assert [f.object for f in findings] == [other_filesystem]


def test_remote_server_is_said_not_guessed(tmp_path):
    entry = {"name": "erp", "engine": "postgresql", "dsn": "DRIVER={PostgreSQL Unicode};SERVER=db1.example.invalid;UID=l4",
             "backup_dirs": [str(tmp_path)]}
    config = parse_config({"databases": [entry]}, "<test>")
    check = by_id("backup.same_volume")
    ctx = CheckContext(config, options_for(check, {}), "testhost", target=config.databases[0], db=None)
    findings = list(check.run(ctx))  # no query: the server is not this host
    assert [(f.object, f.severity) for f in findings] == [(str(tmp_path), "info")]
    assert "'db1.example.invalid' is not this host" in findings[0].summary
    assert "data_dirs" in findings[0].recommendation


def test_mssql_windows_data_files_are_said_not_guessed(tmp_path):
    files = [{"database_name": "erp", "type_desc": "ROWS", "path": r"D:\MSSQL\DATA\erp.mdf"},
             {"database_name": "erp", "type_desc": "LOG", "path": r"L:\MSSQL\LOG\erp_log.ldf"}]
    findings, _ = run_mssql("backup.same_volume", {"data_files": files}, backup_dirs=[str(tmp_path)],
                            dsn="DRIVER={ODBC Driver 18 for SQL Server};SERVER=tcp:localhost,1433;UID=l4")
    assert [f.severity for f in findings] == ["info"]
    assert r"Windows path (D:\MSSQL\DATA)" in findings[0].summary


def test_server_host_and_locality():
    assert server_host("DRIVER={x};SERVER=tcp:db1,1433;UID=l4") == "db1"
    assert server_host("DRIVER={x};Server=db1\\ERP;UID=l4") == "db1"
    assert server_host("DRIVER={x};SERVER=127.0.0.1;PORT=5432") == "127.0.0.1"
    assert is_local("127.0.0.1") and is_local("localhost") and is_local("/var/run/postgresql")
    assert not is_local("db1.example.invalid")
