"""The README stays true: its configuration reference and quick-start entries are a valid config."""

from __future__ import annotations

import re
import tomllib

from l4agent.agent.configuration import parse_config
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", README, re.S)


def test_the_configuration_reference_is_a_valid_config():
    [reference] = [b for b in toml_blocks() if b.startswith("[agent]")]
    config = parse_config(tomllib.loads(reference), "README.md")
    assert config.records.renote_interval == 86400 and config.agent.listen_port == 9847


def test_every_quick_start_target_is_a_valid_config():
    targets = [b for b in toml_blocks() if b.startswith("[[databases]]")]
    assert len(targets) == 3  # PostgreSQL, MariaDB, SQL Server
    for block in targets:
        config = parse_config(tomllib.loads(block), "README.md")
        assert "PWD" not in config.databases[0].dsn.upper()


def test_it_stays_short_enough_to_read():
    assert README.count("\n") <= 400
