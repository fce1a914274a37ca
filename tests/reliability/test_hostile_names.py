"""Hostile object names planted in the real test databases: quotes, ``]``, ``;--``,
``<script>``, newlines, tabs, unicode and names as long as the engine allows.

``diagnose`` (every family) runs on them and reports them escaped in every format — valid
JSON, one table row per line, Markdown cells intact — executes nothing (a name that would
drop the canary table if it were concatenated into SQL leaves the canary standing), and its
recommendations quote the names by the engine's own rules. Hostile database names end up as
label values: the Prometheus exposition still passes ``promtool check metrics``.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest

from l4agent.dbaccess.engines import quote_mysql, quote_postgresql
from tests.reliability.targets import PASSWORD_ENV, database_section, grant_monitor
from tests.support.promtools import promtool_check_metrics

pytestmark = pytest.mark.slow

CANARY_KILLER = 'x"; DROP TABLE canary; --'
HOSTILE = [
    CANARY_KILLER,
    "x`; DROP TABLE canary; -- `",
    "a]b[c",
    "semi;-- colon",
    "<script>alert(1)</script>",
    "new\nline",
    "tab\tand 'quote'",
    "pipe | and *star* _under_",
    "ünïcødé_表",
    "esc \x1b[2J\x1b[31m red",  # a terminal escape: would clear the screen if printed raw
]
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # control characters other than the line break
LONGEST = {"postgresql": 63, "mysql": 64}  # bytes (PostgreSQL) / characters (MariaDB) a name may have
QUOTE = {"postgresql": quote_postgresql, "mysql": quote_mysql}


def hostile_names(engine: str) -> list[str]:
    return [*HOSTILE, "L" * LONGEST[engine]]


def plant(server, database: str) -> list[str]:
    """Tables named by each hostile name, with hostile column and index names, and no primary
    key (so ``schema.no_primary_key`` reports each); plus ``canary``."""
    q = QUOTE[server.engine]
    statements = ["CREATE TABLE canary (id int PRIMARY KEY)", "INSERT INTO canary VALUES (1)"]
    for i, name in enumerate(hostile_names(server.engine)):
        column = name[:50] + " col"
        statements.append(f"CREATE TABLE {q(name)} ({q(column)} int, {q(f'v{i}')} int)")
        if len(name) < 40:  # two identical indexes: schema.duplicate_index names both
            for suffix in (" i1", " i2"):
                statements.append(f"CREATE INDEX {q(name + suffix)} ON {q(name)} ({q(column)})")
    server.execute_admin(statements, database)
    grant_monitor(server, database)
    return hostile_names(server.engine)


@pytest.fixture
def hostile(pg_server, mariadb_server, pg_db, mariadb_db, write_config, tmp_path):
    """Both servers planted; a config diagnosing both; env with the monitor passwords."""
    plant(pg_server, pg_db)
    plant(mariadb_server, mariadb_db)
    config = write_config(f"""
        [agent]
        state_dir = "{tmp_path}/state"
        """ + database_section(pg_server, [pg_db], name="pg", query_timeout="10s")
        + database_section(mariadb_server, [mariadb_db], name="maria", query_timeout="10s"))
    env = {PASSWORD_ENV["postgresql"]: pg_server.monitor_password,
           PASSWORD_ENV["mysql"]: mariadb_server.monitor_password}
    return {"config": config, "env": env, "servers": {"pg": (pg_server, pg_db), "maria": (mariadb_server, mariadb_db)}}


def canary_stands(hostile) -> None:
    for server, database in hostile["servers"].values():
        assert server.execute_admin("SELECT id FROM canary", database)[0][0] == 1
        count = server.execute_admin(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'",
            database, params=["public" if server.engine == "postgresql" else database])[0][0]
        assert count == len(hostile_names(server.engine)) + 1  # nothing dropped, nothing added


def test_diagnose_reports_hostile_names_escaped_and_executes_nothing(hostile, run_cli):
    runs = {fmt: run_cli("diagnose", "--format", fmt, "-c", hostile["config"], env=hostile["env"], timeout=180)
            for fmt in ("json", "table", "markdown")}
    runs["report"] = run_cli("report", "--format", "html", "-c", hostile["config"], env=hostile["env"], timeout=180)
    for fmt, done in runs.items():
        assert done.returncode in (0, 3), (fmt, done.stderr[-3000:])
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
    canary_stands(hostile)

    # JSON: valid, and every hostile table reported under its exact name.
    result = json.loads(runs["json"].stdout)
    # one finding per catalog (issue 15): each hostile table in its evidence, with its statement
    no_key = {(f["target"], t["object"]): t for f in result["findings"] if f["check"] == "schema.no_primary_key"
              for t in f["evidence"]["tables"] if isinstance(t, dict)}
    for target, (server, database) in hostile["servers"].items():
        schema = f"{database}.public" if server.engine == "postgresql" else database
        for name in hostile_names(server.engine):
            member = no_key.get((target, f"{schema}.{name}"))
            assert member is not None, (target, name, sorted(no_key))
            # The statement names the table the way the engine's parser reads it back.
            assert QUOTE[server.engine](name) in member["fix"], member["fix"]
    duplicates = [f for f in result["findings"] if f["check"] == "schema.duplicate_index"]
    assert any("<script>alert(1)</script>" in json.dumps(f, ensure_ascii=False) for f in duplicates)

    # Table: one row per line; no hostile newline, tab or terminal escape reaches the terminal raw.
    table = runs["table"].stdout
    assert not CONTROL.search(table), CONTROL.search(table)
    rows = [line for line in table.splitlines() if "schema.no_primary_key" in line]
    assert len(rows) == 2 and {row.split()[0] for row in rows} == {"pg", "maria"}, rows

    markdown = runs["markdown"].stdout
    # Markdown: every table row keeps its 6 cells (7 unescaped pipes); no raw HTML; no stray lines.
    assert "<script>" not in markdown and not CONTROL.search(markdown)
    # A statement to paste sits in a fenced block of exactly one line (issue 18): a name cannot
    # break out of it (a statement with a line break, control character or markup stays escaped).
    lines = markdown.splitlines()
    fenced = set()
    for index, line in enumerate(lines):
        opening = re.fullmatch(r"(`{3,})sql", line)
        if opening:
            assert lines[index + 2] == opening.group(1) and "<" not in lines[index + 1], lines[index:index + 3]
            assert opening.group(1) not in lines[index + 1]
            fenced |= {index, index + 1, index + 2}
        if index in fenced:
            continue
        if line.startswith("|"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 7, line
        else:
            assert line == "" or line.startswith(("#", "- ", "No findings")), repr(line)

    # The HTML report: names are text, never markup.
    page = runs["report"].stdout
    assert "<html" in page.lower() and "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the name is on the page, escaped


def test_hostile_catalog_names_keep_the_exposition_valid(pg_server, mariadb_server, write_config, tmp_path,
                                                         run_cli):
    """Database (catalog) names end up as label values of l4agent_database_size_bytes."""
    label = 'l4t "x"\\ <b>\n' + uuid.uuid4().hex[:6]
    pg_server.execute_admin(f"CREATE DATABASE {quote_postgresql(label)}")
    mariadb_server.execute_admin(f"CREATE DATABASE {quote_mysql(label)}")
    mariadb_server.execute_admin(f"CREATE TABLE {quote_mysql(label)}.t (id int PRIMARY KEY)")
    for host in ("127.0.0.1", "localhost"):
        mariadb_server.execute_admin(f"GRANT REFERENCES ON {quote_mysql(label)}.* TO "
                                     f"'{mariadb_server.monitor_user}'@'{host}'")
    try:
        config = write_config(f"""
            [agent]
            state_dir = "{tmp_path}/state"
            """ + database_section(pg_server, ["postgres"], name="pg")
            + database_section(mariadb_server, [], name="maria"))
        env = {PASSWORD_ENV["postgresql"]: pg_server.monitor_password,
               PASSWORD_ENV["mysql"]: mariadb_server.monitor_password}
        prom = run_cli("collect", "--format", "prom", "-c", config, env=env)
        data = json.loads(run_cli("collect", "--format", "json", "-c", config, env=env).stdout)
    finally:
        pg_server.execute_admin(f"DROP DATABASE {quote_postgresql(label)} WITH (FORCE)")
        mariadb_server.execute_admin(f"DROP DATABASE {quote_mysql(label)}")
        for host in ("127.0.0.1", "localhost"):  # MariaDB keeps schema grants after DROP DATABASE
            mariadb_server.execute_admin(f"REVOKE ALL PRIVILEGES ON {quote_mysql(label)}.* FROM "
                                         f"'{mariadb_server.monitor_user}'@'{host}'")
    assert prom.returncode == 0, prom.stderr
    catalogs = {(s["labels"].get("database"), s["labels"].get("catalog")) for s in data["samples"]
                if s["name"] == "l4agent_database_size_bytes"}
    assert ("pg", label) in catalogs and ("maria", label) in catalogs, catalogs
    escaped = label.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    assert f'catalog="{escaped}"' in prom.stdout
    assert promtool_check_metrics(prom.stdout) == ""
