"""`l4agent diagnose --check security --format json` end to end: a PostgreSQL and a MariaDB
target with defects planted, a world-readable ODBC file with a password, a self-signed https
app tier on production; every planted defect is reported, the clean twins are not, no error,
no secret in the output."""

from __future__ import annotations

import json
import ssl

from tests.diagnostics.security_helpers import lab_mariadb, lab_postgres, planted
from tests.support.peers import RecordingHttpServer

HASH = "*0123456789ABCDEF0123456789ABCDEF01234567"


def test_diagnose_security_reports_planted_defects_only(run_cli, write_config, tmp_path, throwaway_ca):
    pg, maria = lab_postgres(), lab_mariadb()
    pg_pw, maria_pw = tmp_path / "pg.pw", tmp_path / "maria.pw"
    for path, password in ((pg_pw, pg.monitor_password), (maria_pw, maria.monitor_password)):
        path.write_text(password)
        path.chmod(0o600)
    odbc = tmp_path / "odbc.ini"
    odbc.write_text("[erp]\nDriver = PostgreSQL Unicode\nPassword = hunter2-odbc\n")
    odbc.chmod(0o644)
    odbc_clean = tmp_path / "odbc-private.ini"
    odbc_clean.write_text("[erp]\nPassword = hunter2-odbc\n")
    odbc_clean.chmod(0o600)
    cert = throwaway_ca.self_signed(days_valid=365)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert, cert.key)
    with RecordingHttpServer(ssl_context=context) as app, \
            planted(pg, ["CREATE ROLE extra_admin LOGIN SUPERUSER", "CREATE ROLE named_dba LOGIN SUPERUSER"],
                    ["DROP ROLE IF EXISTS extra_admin", "DROP ROLE IF EXISTS named_dba"]), \
            planted(maria, [f"CREATE USER 'root'@'%' IDENTIFIED BY PASSWORD '{HASH}'", "CREATE USER ''@'localhost'"],
                    ["DROP USER IF EXISTS 'root'@'%'", "DROP USER IF EXISTS ''@'localhost'"]):
        config = write_config(f"""
            [agent]
            environment = "production"

            [[databases]]
            name = "pg"
            engine = "postgresql"
            dsn = "{pg.agent_dsn()}"
            password_file = "{pg_pw}"

            [[databases]]
            name = "maria"
            engine = "mysql"
            dsn = "{maria.agent_dsn()}"
            password_file = "{maria_pw}"

            [[appservers]]
            name = "lucee"
            url = "{app.url}/index.cfm"

            [diagnostics.security]
            allowed_superusers = ["postgres", "named_dba"]
            odbc_files = ["{odbc}", "{odbc_clean}"]
            """)
        done = run_cli("diagnose", "-c", config, "--check", "security", "--format", "json")
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert output["errors"] == []
    found = {(f["check"], f["target"], f["object"]) for f in output["findings"]}
    host = output["host"]
    planted_defects = {
        ("security.superusers", "pg", "extra_admin"),
        ("security.ssl_off", "pg", "ssl"),
        ("security.root_remote", "maria", "'root'"),  # one finding per user (issue 15)
        ("security.anonymous_user", "maria", "''"),
        ("security.world_readable_secret", host, str(odbc)),
        ("security.tls_weak", host, app.url),
    }
    assert planted_defects <= found
    clean_twins = {("security.superusers", "pg", "named_dba"), ("security.ssl_off", "maria", "have_ssl"),
                   ("security.world_readable_secret", host, str(odbc_clean)),
                   ("security.local_infile", "maria", "local_infile")}
    assert found & clean_twins == set()
    assert {f["check"] for f in output["findings"]} <= {c for c, _, _ in planted_defects} | {
        "security.db_port_exposed", "security.public_schema_create", "security.password_encryption"}
    for secret in ("hunter2-odbc", pg.monitor_password, maria.monitor_password):
        assert secret not in done.stdout + done.stderr
