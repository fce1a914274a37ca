"""security.world_readable_secret on real files in tmp_path: a database password file that
became 0644 after the config was loaded, beside a 0600 one; ODBC ini files with and without a
password, readable by others or not; the agent's config with and without a secret in it."""

from __future__ import annotations

import textwrap
from pathlib import Path

from l4agent.agent.configuration import load_config
from l4agent.diagnostics.base import CheckContext
from l4agent.diagnostics.options import options_for
from l4agent.diagnostics.registry import by_id

CHECK = by_id("security.world_readable_secret")
SECRET = "s3cr3t-Value-0xCAFE"


def write(path: Path, text: str, mode: int) -> str:
    path.write_text(textwrap.dedent(text))
    path.chmod(mode)
    return str(path)


def run(config) -> dict:
    ctx = CheckContext(config, options_for(CHECK, config.diagnostics), "testhost")
    return {f.object: f for f in CHECK.run(ctx)}


def test_planted_files_are_flagged_and_clean_twins_are_not(tmp_path):
    exposed_pw = write(tmp_path / "erp.pw", SECRET, 0o600)  # 0600 to pass `config check`, loosened below
    private_pw = write(tmp_path / "bi.pw", SECRET, 0o600)
    odbc_exposed = write(tmp_path / "odbc.ini", f"[erp]\nDriver = ODBC Driver 18\nPassword = {SECRET}\n", 0o644)
    odbc_no_secret = write(tmp_path / "odbcinst.ini", "[PostgreSQL Unicode]\nDriver = psqlodbcw.so\n", 0o644)
    odbc_private = write(tmp_path / "user-odbc.ini", f"[x]\nPWD={SECRET}\n", 0o600)
    config_path = write(tmp_path / "l4agent.toml", f"""
        [[databases]]
        name = "erp"
        engine = "postgresql"
        dsn = "DRIVER={{PostgreSQL Unicode}};SERVER=db1;UID=l4"
        password_file = "{exposed_pw}"

        [[databases]]
        name = "bi"
        engine = "mysql"
        dsn = "DRIVER={{MariaDB Unicode}};SERVER=db1;UID=l4"
        password_file = "{private_pw}"

        [diagnostics.security]
        odbc_files = ["{odbc_exposed}", "{odbc_no_secret}", "{odbc_private}", "{tmp_path}/missing.ini"]
        """, 0o644)
    config = load_config(config_path)
    Path(exposed_pw).chmod(0o644)  # someone loosened it after the agent started
    found = run(config)
    assert set(found) == {exposed_pw, odbc_exposed}
    assert found[exposed_pw].severity == "critical"
    assert found[exposed_pw].summary == ("password file of database erp is readable by every user (mode 0644) "
                                         "and holds a secret")
    assert found[exposed_pw].recommendation == f"`chmod o-rwx {exposed_pw}`"
    assert found[odbc_exposed].severity == "warning"
    assert found[odbc_exposed].summary == ("an ODBC ini file is readable by every user (mode 0644) and holds "
                                           "a password or token line")
    assert found[odbc_exposed].recommendation.startswith(f"`chmod o-rwx {odbc_exposed}`")
    assert SECRET not in repr([f.to_dict() for f in found.values()])


def test_the_agent_config_counts_when_it_holds_a_secret(tmp_path):
    plain = write(tmp_path / "plain.toml", '[agent]\nenvironment = "qa"\n', 0o644)
    with_hash = write(tmp_path / "web.toml", """
        [agent.web.basic_auth_users]
        prometheus = "$2b$12$abcdefghijklmnopqrstuuuJ0yRz9bF3c6y1Qmj2kW5eQ8oQ4Zb5a"
        [[sinks]]
        type = "webhook"
        url = "https://ops:hunter2@tickets.example/api"
        [diagnostics.security]
        odbc_files = []
        """, 0o640)
    assert run(load_config(plain)) == {}
    config = load_config(with_hash)  # `config check` refuses it world-readable: it drifts later
    assert run(config) == {}  # group-readable (root:l4agent 0640) is the packaged layout
    Path(with_hash).chmod(0o644)
    [finding] = run(config).values()
    assert (finding.object, finding.severity) == (with_hash, "warning")
    assert finding.evidence["secrets"] == ["credentials in a URL", "a bcrypt hash"]
    assert finding.recommendation == f"`chmod o-rwx {with_hash}`"
    assert "hunter2" not in repr(finding.to_dict())
