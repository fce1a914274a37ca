"""capacity.database_growth_forecast on real PostgreSQL and MariaDB: a catalog whose size
history grows at a known rate toward the free space of the server's data filesystem is found
with the right number of days; its flat twin is not; without history, a workload writing during
the run gives no forecast, one info finding. SQL Server: the T-SQL parses, and rows shaped like
sys.database_files + sys.dm_os_volume_stats give the room (MAXSIZE, autogrowth, shared volumes)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import replace

import pytest

from l4agent.agent.configuration import load_config
from l4agent.core.history import DB_SIZE, History
from l4agent.diagnostics.capacity.database_growth_forecast import QUERIES, is_local_server, mssql_room
from l4agent.diagnostics.runner import run_diagnostics
from tests.diagnostics.schema_support import ENGINES, SERVER_FIXTURE, config_text, grant_monitor, planted
from tests.diagnostics.tsql_support import projection, undocumented

CHECK = "capacity.database_growth_forecast"
DAY = 86400.0


@pytest.fixture(params=ENGINES)
def two_catalogs(request, tmp_path):
    """(server, growing catalog, flat catalog, config path) on a real server."""
    server = request.getfixturevalue(SERVER_FIXTURE[request.param])
    flat = server.create_database(f"l4t_flat_{uuid.uuid4().hex[:8]}")
    try:
        grant_monitor(server, flat)
        with planted(server, ["CREATE TABLE t (id int PRIMARY KEY, body text)"], tmp_path) as grow:
            path = tmp_path / "two.toml"
            path.write_text(config_text(server, [grow.database, flat], tmp_path / "state"))
            path.chmod(0o600)
            yield server, grow.database, flat, load_config(str(path))
    finally:
        server.drop_database(flat)


def data_free(server) -> float:
    st = os.statvfs(server.data_dir)
    return float(st.f_bavail * st.f_frsize)


def run(config, **options):
    config = replace(config, diagnostics={CHECK: options})
    result = run_diagnostics(config, [CHECK])
    assert result.errors == []
    return {f.object: f for f in result.findings}


def test_growth_toward_the_data_filesystem_is_forecast_and_the_flat_twin_is_not(two_catalogs):
    server, grow, flat, config = two_catalogs
    now, rate = time.time(), data_free(server) / (10 * DAY)  # full in 10 days
    history = History.in_state_dir(config.agent.state_dir)
    history.record_many((DB_SIZE, {"database": "erp", "catalog": grow}, now - 3600 * h, 5e9 - rate * 3600 * h)
                        for h in range(72))
    history.record_many((DB_SIZE, {"database": "erp", "catalog": flat}, now - 3600 * h, 5e9) for h in range(72))
    history.close()
    found = run(config)
    assert set(found) == {grow}
    finding = found[grow]
    assert finding.severity == "warning"
    assert finding.evidence["days_until_full"] == pytest.approx(10, rel=0.05)
    assert finding.evidence["fit_samples"] == 72 and finding.evidence["fit_span"] == "2d 23h"
    assert finding.evidence["limit"].startswith(f"filesystem holding {server.data_dir}")
    assert finding.evidence["size_bytes"] > 0
    if server.engine == "mysql":  # InnoDB's persistent statistics, not an information_schema walk
        assert finding.evidence["size_source"] == "mysql.innodb_table_stats"


def test_without_the_statistics_grant_sizes_come_from_information_schema_and_say_so(two_catalogs):
    server, grow, flat, config = two_catalogs
    if server.engine != "mysql":
        pytest.skip("MariaDB's mysql.innodb_table_stats grant")
    now, rate = time.time(), data_free(server) / (10 * DAY)
    history = History.in_state_dir(config.agent.state_dir)
    history.record_many((DB_SIZE, {"database": "erp", "catalog": grow}, now - 3600 * h, 5e9 - rate * 3600 * h)
                        for h in range(72))
    history.close()
    with_grant = run(config, run_samples=0)[grow].evidence["size_bytes"]
    accounts = [f"'{server.monitor_user}'@'{host}'" for host in ("127.0.0.1", "localhost")]
    server.execute_admin([f"REVOKE SELECT ON mysql.innodb_table_stats FROM {a}" for a in accounts])
    try:
        finding = run(config, run_samples=0)[grow]
    finally:
        server.execute_admin([f"GRANT SELECT ON mysql.innodb_table_stats TO {a}" for a in accounts])
    assert finding.evidence["size_source"].startswith("information_schema.TABLES (no SELECT on mysql.innodb_table_stats")
    assert finding.evidence["size_bytes"] == with_grant


def test_without_history_a_workload_during_the_run_is_no_forecast(two_catalogs):
    server, grow, flat, config = two_catalogs
    stop = threading.Event()

    def workload():
        base = 0
        while not stop.is_set():
            if server.engine == "mysql":
                # MariaDB's data_length follows InnoDB's statistics, which ANALYZE refreshes.
                server.execute_admin([f"INSERT INTO t SELECT seq + {base}, repeat('x', 400) FROM seq_1_to_5000",
                                      "ANALYZE TABLE t"], grow)
            else:
                server.execute_admin(f"INSERT INTO t SELECT g + {base}, repeat('x', 400) "
                                     f"FROM generate_series(1, 5000) AS g", grow)
            base += 5000

    writer = threading.Thread(target=workload, daemon=True)
    writer.start()
    try:
        time.sleep(0.3)
        found = run(config, horizon="3650d", min_r2=0.0)
    finally:
        stop.set()
        writer.join()
    assert set(found) == {"erp"}  # no forecast of either catalog, one info finding for the target
    assert found["erp"].severity == "info"
    assert found["erp"].summary.startswith("not enough history yet (0 samples over 0s) to forecast 2 catalog(s)")


def test_data_dirs_name_the_filesystem_that_limits_growth(two_catalogs, tmp_path):
    server, grow, flat, config = two_catalogs
    history = History.in_state_dir(config.agent.state_dir)
    history.record_many((DB_SIZE, {"database": "erp", "catalog": grow}, time.time() - 3600 * h, 5e9 - 1e12 * h)
                        for h in range(72))
    history.close()
    target = replace(config.databases[0], data_dirs=("/nonexistent/l4", str(tmp_path)))
    finding = run(replace(config, databases=(target,)))[grow]
    assert finding.evidence["limit"].startswith(f"filesystem holding {tmp_path}: ")


@pytest.mark.parametrize(("server", "local"), [
    ("127.0.0.1", True), ("localhost", True), ("tcp:127.0.0.1,1433", True), ("(local)", True),
    ("db1.customer.local", False), ("10.0.0.5", False),
])
def test_only_a_server_on_this_host_has_its_data_directory_read_here(server, local):
    assert is_local_server(f"DRIVER={{X}};SERVER={server};PORT=5432;UID=l4") is local


# -- SQL Server ----------------------------------------------------------------------------------

def test_files_statement_parses_and_reads_documented_columns():
    assert projection(QUERIES["mssql"]["files"]) == ["file_name", "physical_name", "size_bytes", "max_size", "growth",
                                                     "volume_mount_point", "available_bytes"]
    assert undocumented(QUERIES["mssql"]["files"]) == []


def file_row(name, size_pages, max_size, growth, volume, available):
    return {"file_name": name, "physical_name": f"{volume}{name}.mdf", "size_bytes": size_pages * 8192,
            "max_size": max_size, "growth": growth, "volume_mount_point": volume, "available_bytes": available}


def test_sql_server_room_respects_maxsize_autogrowth_and_shared_volumes():
    gb = 2**30
    pages = gb // 8192
    size, room = mssql_room([
        file_row("erp", 10 * pages, -1, 8192, "D:\\", 50 * gb),  # unlimited: bounded by D:
        file_row("erp_2", 10 * pages, -1, 8192, "D:\\", 50 * gb),  # shares D: with erp
        file_row("erp_3", 10 * pages, 12 * pages, 8192, "E:\\", 500 * gb),  # MAXSIZE 12 GB: 2 GB left
        file_row("erp_4", 10 * pages, -1, 0, "F:\\", 500 * gb),  # autogrowth off: no room
    ])
    assert size == 40 * gb
    assert room.bytes == 52 * gb
    assert "erp_3: MAXSIZE 12.0 GiB" in room.limit and "erp_4: autogrowth off" in room.limit
    assert "volume D:\\: 50.0 GiB free" in room.limit


# -- SQL Server: Managed Instance quota and unreadable catalogs (issue 16 items 11, 5) ------------

def _mssql_measure(rows, databases=("erp", "erp_old")):
    from l4agent.agent.configuration import parse_config
    from l4agent.diagnostics.base import CheckContext
    from l4agent.diagnostics.options import options_for
    from l4agent.diagnostics.registry import by_id
    from tests.diagnostics.checkrun import (
        MSSQL_DSN,
        DmvConnection,
        run_mssql_ctx,  # noqa: F401 - builds the same context
    )

    check = by_id("capacity.database_growth_forecast")
    config = parse_config({"databases": [{"name": "erp", "engine": "mssql", "dsn": MSSQL_DSN,
                                          "password_env": "L4T_UNUSED", "databases": list(databases)}]}, "<test>")
    db = DmvConnection(check, rows)
    ctx = CheckContext(config, options_for(check, config.diagnostics), "h", target=config.databases[0], db=db)
    return check._measure(ctx, list(databases)), ctx, check


FILE = {"file_name": "erp", "physical_name": "D:\\data\\erp.mdf", "size_bytes": 10 * 2**30, "max_size": -1,
        "growth": 8192, "volume_mount_point": "D:\\", "available_bytes": 500 * 2**30}


def test_managed_instance_room_is_bounded_by_the_instance_storage_quota():
    """Before: the room was the volume's free space (500 GiB here), which on Managed Instance is not
    the limit; the instance quota (reserved_storage_mb) is."""
    from l4agent.dbaccess.connection import DatabaseError

    def offline(params):
        raise DatabaseError("database 'erp': Database 'erp_old' cannot be opened because it is offline.", "query")

    rows = {"edition": [{"engine_edition": 8}],
            "instance_storage": [{"reserved_storage_mb": 32768, "storage_space_used_mb": 30720}],
            ("files", "erp"): [FILE], ("files", "erp_old"): offline}
    (sizes, rooms), ctx, check = _mssql_measure(rows)
    assert rooms["erp"].bytes == 2048 * 2**20 and rooms["erp"].limit.startswith("instance storage quota")
    assert "erp_old" not in rooms  # skipped, and said so; erp was still measured
    assert any("erp_old" in i["why"] and "offline" in i["why"] for e in ctx.coverage.entries() for i in e.not_examined)
    from l4agent.diagnostics.capacity.database_growth_forecast import Room
    advice = check._advice(ctx, "erp", rooms["erp"], "2027-01-01")
    assert "storage size" in advice and "MAXSIZE" not in advice
    assert isinstance(rooms["erp"], Room)


def test_boxed_sql_server_room_is_the_volume_and_quota_is_not_read():
    (sizes, rooms), _, _ = _mssql_measure({"edition": [{"engine_edition": 3}], "files": [FILE]}, databases=("erp",))
    assert rooms["erp"].bytes == 500 * 2**30
