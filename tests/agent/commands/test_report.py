"""``l4agent report``: one run collects, diagnoses and renders; the exit codes of the contract;
--since against the kept summary; --mail-to through a real SMTP server; and a real PostgreSQL
catalog whose table is named <script> shows up as text, never as markup."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
import time
import uuid
from html.parser import HTMLParser

import pytest

from tests.conftest import REPO, free_port

HOSTILE_TABLE = '<script>alert("l4")</script>'
PASSWORD_ENV = "L4T_REPORT_PG_PASSWORD"


def local_config(write_config, tmp_path, extra: str = "") -> str:
    return write_config(f"""\
        [agent]
        state_dir = "{tmp_path / 'state'}"
        """ + textwrap.dedent(extra))


class Tags(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_json_report_of_this_host_and_a_summary_kept(run_cli, write_config, tmp_path):
    config = local_config(write_config, tmp_path)
    proc = run_cli("report", "-c", config, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["verdict"] in ("ok", "warning", "critical")
    assert [layer["name"] for layer in data["layers"]] == ["OS", "Network", "Database", "App server"]
    assert data["filesystems"]
    kept = json.loads((tmp_path / "state" / "report-summaries.json").read_text())
    assert len(kept) == 1 and kept[0]["verdict"] == data["verdict"]


def test_since_compares_with_the_report_of_a_day_before(run_cli, write_config, tmp_path):
    config = local_config(write_config, tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    yesterday = time.time() - 86400
    (state / "report-summaries.json").write_text(json.dumps([
        {"generated_at": yesterday - 7200, "verdict": "ok", "problems": {}},
        {"generated_at": yesterday, "verdict": "critical", "problems": {
            "finding|backup.stale|erp|workcube_cf": {"severity": "critical", "text": "backup.stale on erp: old backup"}}},
    ]))
    proc = run_cli("report", "-c", config, "--format", "markdown", "--since", "24h")
    assert proc.returncode == 0, proc.stderr
    assert "### Resolved since last report\n\n- critical: backup.stale on erp: old backup" in proc.stdout
    assert "### New since last report" in proc.stdout

    html = tmp_path / "report.html"
    proc = run_cli("report", "-c", config, "-o", str(html), "--since", "24h")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "Resolved since last report" in html.read_text()


def test_since_without_an_earlier_report_warns_and_still_reports(run_cli, write_config, tmp_path):
    proc = run_cli("report", "-c", local_config(write_config, tmp_path), "--format", "json", "--since", "24h")
    assert proc.returncode == 0
    assert "nothing to compare with" in proc.stderr
    assert json.loads(proc.stdout)["comparison"] is None


def test_usage_errors_exit_2(run_cli, write_config, tmp_path):
    config = local_config(write_config, tmp_path)
    proc = run_cli("report", "-c", config, "--mail-to", "ops@example.com")
    assert proc.returncode == 2
    assert 'type = "smtp"' in proc.stderr
    proc = run_cli("report", "-c", config, "-o", str(tmp_path / "missing-dir" / "r.html"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    proc = run_cli("report", "-c", config, "--since", "a day")
    assert proc.returncode == 2 and "--since" in proc.stderr
    proc = run_cli("report", "-c", write_config("[agent]\ninterval = 5\n"))
    assert proc.returncode == 2 and proc.stderr.startswith("config error:")


def test_unreachable_database_exits_3_and_still_writes_the_report(run_cli, write_config, tmp_path):
    port = free_port()
    config = local_config(write_config, tmp_path, f"""\
        [[databases]]
        name = "erp"
        engine = "postgresql"
        dsn = "DRIVER={{PostgreSQL Unicode}};SERVER=127.0.0.1;PORT={port};DATABASE=erp;UID=l4"
        login_timeout = "2s"
        """)
    out = tmp_path / "report.md"
    proc = run_cli("report", "-c", config, "--format", "markdown", "-o", str(out))
    assert proc.returncode == 3, proc.stderr
    text = out.read_text()
    assert "## Verdict: Critical" in text
    assert "erp unreachable" in text


def test_mail_to_sends_text_and_html_through_the_smtp_sink(run_cli, write_config, tmp_path, smtp_server):
    config = local_config(write_config, tmp_path, f"""\
        [[sinks]]
        type = "smtp"
        host = "127.0.0.1"
        port = {smtp_server.port}
        starttls = false
        mail_from = "l4agent@db1.example"
        mail_to = ["records@example.com"]
        """)
    proc = run_cli("report", "-c", config, "--format", "json", "--mail-to", "ops@example.com",
                   "--mail-to", "dba@example.com")
    assert proc.returncode == 0, proc.stderr
    assert "report mailed to ops@example.com, dba@example.com" in proc.stderr
    (mail,) = smtp_server.wait_for(1)
    assert sorted(mail.rcpt_tos) == ["dba@example.com", "ops@example.com"]  # not the sink's record recipients
    assert mail.subject.startswith("l4agent report ")
    parts = {part.get_content_type(): part.get_content() for part in mail.message.walk()
             if part.get_content_type() in ("text/plain", "text/html")}
    assert parts["text/plain"].startswith("# l4agent health report: ")
    assert 'id="verdict"' in parts["text/html"]


def test_mail_server_down_exits_3_after_writing_the_report(run_cli, write_config, tmp_path):
    config = local_config(write_config, tmp_path, f"""\
        [[sinks]]
        type = "smtp"
        host = "127.0.0.1"
        port = {free_port()}
        starttls = false
        timeout = "2s"
        """)
    out = tmp_path / "r.html"
    proc = run_cli("report", "-c", config, "-o", str(out), "--mail-to", "ops@example.com")
    assert proc.returncode == 3
    assert "error: report not mailed: cannot send via 127.0.0.1" in proc.stderr
    assert out.read_text().startswith("<!doctype html>")


# -- a real database ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_catalog(pg_server, tmp_path_factory):
    """A PostgreSQL catalog with a key-less table named <script>… beside a keyed twin."""
    database = pg_server.create_database(f"l4t_report_{uuid.uuid4().hex[:8]}")
    pg_server.execute_admin([
        f'CREATE TABLE "{HOSTILE_TABLE.replace(chr(34), chr(34) * 2)}" (id int, note text)',
        "CREATE TABLE orders (order_id int PRIMARY KEY, customer text)",
        "ANALYZE",
    ], database)
    os.environ[PASSWORD_ENV] = pg_server.monitor_password
    directory = tmp_path_factory.mktemp("report-pg")
    config = directory / "l4agent.toml"
    config.write_text(textwrap.dedent(f"""\
        [agent]
        state_dir = "{directory / 'state'}"

        [[databases]]
        name = "erp"
        engine = "postgresql"
        dsn = "{pg_server.agent_dsn(database)}"
        password_env = "{PASSWORD_ENV}"
        databases = ["{database}"]
        """))
    config.chmod(0o600)
    yield str(config), database, directory
    pg_server.drop_database(database)


def test_a_table_named_script_is_text_in_every_format(run_cli, hostile_catalog):
    config, database, directory = hostile_catalog
    env = {PASSWORD_ENV: os.environ[PASSWORD_ENV]}
    html_path = directory / "report.html"
    proc = run_cli("report", "-c", config, "-o", str(html_path), "--fail-on", "warning", env=env)
    assert proc.returncode == 1, proc.stderr  # the key-less table is a warning: --fail-on warning
    html = html_path.read_text()
    (REPO / "test-output").mkdir(exist_ok=True)
    shutil.copy(html_path, REPO / "test-output" / "report.html")  # for a person to open
    page = Tags(html)
    assert "script" not in page.tags
    assert "<script" not in html.lower()
    text = "".join(page.text)
    assert HOSTILE_TABLE in text  # shown to the letter, as text
    assert "1 table without a primary key" in text

    proc = run_cli("report", "-c", config, "--format", "json", env=env)
    # exit 3: the test monitor lacks the grant security.trust_auth needs; coverage says so
    assert proc.returncode == 3, proc.stderr
    data = json.loads(proc.stdout)
    not_examined = {item["what"] for c in data["coverage"] if c["target"] == "erp" for item in c["not_examined"]}
    assert "security.trust_auth" in not_examined
    assert any(c["target"] == "erp" and c["examined"].get("tables") for c in data["coverage"])
    assert "Coverage of the diagnostics" in html and "erp" in html
    # one finding per catalog (issue 15), the tables in its evidence
    objects = {t["object"] for f in data["findings"] if f["check"] == "schema.no_primary_key"
               for t in f["evidence"]["tables"]}
    assert f"{database}.public.{HOSTILE_TABLE}" in objects
    assert f"{database}.public.orders" not in objects  # the keyed twin is clean
    database_rows = data["layers"][2]["tables"][0]["rows"]
    assert database_rows[0]["cells"][:3] == ["erp", "postgresql", "up"]
    assert data["verdict"] in ("warning", "critical")
