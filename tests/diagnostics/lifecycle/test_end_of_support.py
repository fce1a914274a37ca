"""lifecycle.end_of_support: the real versions on this machine (Debian, PostgreSQL 15, MariaDB
10.11, the JVM and Tomcat 10 of an app-server process) graded against the support table, a row
planted in the past (critical) or near its end (warning) beside untouched twins; the table is
dated, sourced and not older than a year."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.diagnostics.lifecycle import versions
from l4agent.diagnostics.runner import run_diagnostics
from tests.diagnostics.checkrun import PASSWORD_ENV, run_mssql

TODAY = dt.datetime.now(dt.UTC).date()


def config_for(*servers, appservers=(), table: str | None = None):
    databases = []
    for name, server in servers:
        os.environ[PASSWORD_ENV[server.engine]] = server.monitor_password
        databases.append({"name": name, "engine": server.engine, "dsn": server.agent_dsn(None),
                          "password_env": PASSWORD_ENV[server.engine]})
    options = {"support_table": table} if table else {}
    return parse_config({"databases": databases, "appservers": list(appservers),
                         "diagnostics": {"lifecycle.end_of_support": options}}, "<test>")


def days_to(end: str) -> int:
    return (dt.date.fromisoformat(end) - TODAY).days


def row(component: str, version: str) -> dict:
    return next(r for r in versions.support_table()["components"][component] if r["version"] == version)


def test_the_versions_running_here_are_graded(pg_server, mariadb_server):
    result = run_diagnostics(config_for(("pg", pg_server), ("maria", mariadb_server)), ["lifecycle"], host="h")
    assert result.errors == []
    by_object = {f.object: f for f in result.findings}
    os_release = versions.read_os_release()
    assert by_object["os"].evidence["component"] == os_release[0]
    pg = by_object["postgresql:pg"]
    assert pg.evidence["version"] == "15" and pg.evidence["days_left"] == days_to(row("postgresql", "15")["end"])
    maria = by_object["mysql:maria"]
    assert maria.evidence["component"] == "mariadb" and maria.evidence["version"] == "10.11"
    for finding in (pg, maria):
        assert finding.evidence["source"].startswith("https://")
        expected = "critical" if finding.evidence["days_left"] < 0 else \
            "warning" if finding.evidence["days_left"] <= 180 else "info"
        assert finding.severity == expected
    measured = {s.labels["component"]: s.value for s in result.measurements
                if s.name == "l4agent_version_support_days_left"}
    assert measured["postgresql:pg"] == pg.evidence["days_left"]


def test_a_row_planted_in_the_past_is_critical_and_names_the_target(pg_server, mariadb_server, tmp_path):
    table = json.loads(versions.TABLE.read_text())
    for entry in table["components"]["postgresql"]:
        if entry["version"] == "15":
            entry["end"] = (TODAY - dt.timedelta(days=30)).isoformat()  # planted: support ended a month ago
    for entry in table["components"]["mariadb"]:
        if entry["version"] == "10.11":
            entry["end"] = (TODAY + dt.timedelta(days=90)).isoformat()  # planted: ends within 180 days
    path = tmp_path / "support_dates.json"
    path.write_text(json.dumps(table))
    result = run_diagnostics(config_for(("pg", pg_server), ("maria", mariadb_server), table=str(path)),
                             ["lifecycle"], host="h")
    by_object = {f.object: f for f in result.findings}
    pg, maria = by_object["postgresql:pg"], by_object["mysql:maria"]
    assert pg.severity == "critical" and pg.evidence["days_left"] == -30
    assert "left vendor support" in pg.summary and "upgrade now to PostgreSQL 17" in pg.recommendation
    assert maria.severity == "warning" and maria.evidence["days_left"] == 90
    assert "before" in maria.recommendation
    assert by_object["os"].severity == "info" or by_object["os"].evidence["days_left"] <= 180  # the twin: untouched


@pytest.mark.skipif(not shutil.which("java") or not Path("/usr/share/tomcat10/lib/catalina.jar").is_file(),
                    reason="needs a JDK and Debian's tomcat10 (scripts/bootstrap --test installs them)")
def test_the_jvm_and_tomcat_of_an_app_server_process(tmp_path):
    source = tmp_path / "Idle.java"
    source.write_text("public class Idle { public static void main(String[] a) throws Exception "
                      "{ Thread.sleep(60000); } }")
    marker = f"l4t-{os.getpid()}-{time.monotonic_ns()}"
    proc = subprocess.Popen(["java", f"-Dl4t.marker={marker}", "-Dcatalina.home=/usr/share/tomcat10", str(source)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        config = config_for(appservers=[{"name": "lucee", "url": "http://127.0.0.1:9/", "process": "java",
                                         "process_cmdline": marker}])
        result = run_diagnostics(config, ["lifecycle"], host="h")
    finally:
        proc.kill()
        proc.wait()
    by_object = {f.object: f for f in result.findings}
    java, tomcat = by_object["java:lucee"], by_object["tomcat:lucee"]
    release = versions.java_release(os.path.realpath(shutil.which("java")))
    assert java.evidence["version"] == versions.java_feature(release["JAVA_VERSION"])
    assert tomcat.evidence["version"] == "10.1" and tomcat.evidence["running"].startswith("10.1.")


def test_an_app_server_without_a_running_process_is_not_examined():
    config = config_for(appservers=[{"name": "lucee", "url": "http://127.0.0.1:9/", "process": "java",
                                     "process_cmdline": "no-such-marker-l4t"}])
    result = run_diagnostics(config, ["lifecycle"], host="h")
    assert result.incomplete
    assert any("no running process matched" in item["why"] for c in result.coverage for item in c.not_examined)


def test_sql_server_2016_and_windows_2012_r2_are_past_their_end():
    findings, _ = run_mssql("lifecycle.end_of_support", {"version": [{
        "product_version": "13.0.6300.2", "engine_edition": 3,
        "version_text": "Microsoft SQL Server 2016 (SP3) ... on Windows Server 2012 R2 Standard 6.3 <X64>"}]})
    by_object = {f.object: f for f in findings}
    assert by_object["mssql:erp"].evidence["version"] == "2016"
    assert by_object["windows_server:erp"].evidence["version"] == "2012 R2"
    assert by_object["windows_server:erp"].severity == "critical"
    end_2016 = row("sqlserver", "2016")["end"]
    assert by_object["mssql:erp"].severity == ("critical" if days_to(end_2016) < 0 else "warning")


def test_managed_instance_is_versionless():
    findings, _ = run_mssql("lifecycle.end_of_support", {"version": [{
        "product_version": "12.0.2000.8", "engine_edition": 8, "version_text": "Microsoft SQL Azure (RTM)"}]})
    assert findings == []


def test_the_table_is_dated_sourced_and_younger_than_a_year():
    table = versions.support_table()
    as_of = dt.date.fromisoformat(table["as_of"])
    assert (TODAY - as_of).days < 365, f"support_dates.json is from {as_of}: review the vendors' dates"
    for component, rows in table["components"].items():
        for entry in rows:
            assert entry["source"].startswith("https://"), (component, entry)
            assert entry["end"] is None or dt.date.fromisoformat(entry["end"])


@pytest.mark.parametrize(("parse", "text", "key"), [
    (versions.mariadb_series, "10.11.6-MariaDB-0+deb12u1", "10.11"),
    (versions.mariadb_series, "5.5.5-10.6.16-MariaDB-log", "10.6"),
    (versions.mariadb_series, "8.0.36", None),
    (versions.postgresql_major, "150018", "15"),
    (versions.postgresql_major, "90624", "9.6"),
    (versions.sqlserver_release, "16.0.4135.4", "2022"),
    (versions.tomcat_series, "server.info=Apache Tomcat/9.0.82\nserver.number=9.0.82.0", "9"),
    (versions.tomcat_series, "server.number=8.5.100.0", "8.5"),
    (versions.java_feature, "1.8.0_392", "8"),
    (versions.java_feature, 'openjdk version "17.0.15" 2025-04-15', "17"),
    (versions.windows_server, "Microsoft SQL Server 2019 ... on Linux (Ubuntu 22.04.4 LTS)", None),
])
def test_version_strings(parse, text, key):
    assert parse(text) == key


def test_os_release_forms():
    assert versions.parse_os_release('ID=debian\nVERSION_ID="12"\n') == ("debian", "12")
    assert versions.parse_os_release('ID="rhel"\nVERSION_ID="8.9"\n') == ("rhel", "8")
    assert versions.parse_os_release('ID=ubuntu\nVERSION_ID="22.04"\n') == ("ubuntu", "22.04")
    assert versions.parse_os_release("ID=debian\n") is None  # testing/sid has no VERSION_ID
