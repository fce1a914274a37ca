"""config.database_options (SQL Server) on sys.databases / sys.configurations-shaped rows: each
bad option of a database in one finding, MAXDOP/cost threshold defaults on many cores, one tempdb
file; a clean database and a small server are not reported."""

from __future__ import annotations

from tests.diagnostics.checkrun import run_mssql

CHECK = "config.database_options"


def database(name, shrink=0, close=0, verify="CHECKSUM", percent=0):
    return {"name": name, "is_auto_shrink_on": shrink, "is_auto_close_on": close, "page_verify_option_desc": verify,
            "percent_growth_files": percent}


def server(cpus, maxdop=0, cost=5, tempdb=1):
    return {"cpu_count": cpus, "maxdop": maxdop, "cost_threshold": cost, "tempdb_data_files": tempdb}


def test_bad_options_one_finding_per_database_and_setting():
    rows = {"databases": [database("workcube_cf", shrink=1, verify="TORN_PAGE_DETECTION", percent=2),
                          database("workcube_cf_1", close=1), database("clean")],
            "server": [server(16)]}
    findings, _ = run_mssql(CHECK, rows)
    by_object = {f.object: f for f in findings}
    assert set(by_object) == {"workcube_cf", "workcube_cf_1", "max degree of parallelism", "tempdb"}
    assert by_object["workcube_cf"].summary == ("AUTO_SHRINK is on; PAGE_VERIFY is TORN_PAGE_DETECTION; "
                                                "2 file(s) over 1.0 GiB grow by percent")
    assert "SET PAGE_VERIFY CHECKSUM" in by_object["workcube_cf"].recommendation


def test_clean_server():
    rows = {"databases": [database("clean")], "server": [server(16, maxdop=8, cost=50, tempdb=8)]}
    assert run_mssql(CHECK, rows)[0] == []
    assert run_mssql(CHECK, {"databases": [], "server": [server(2)]})[0] == []
