"""The security family's options: one [diagnostics.security] table feeds every check, so an
option shared by two checks must mean the same there; a misspelt option is a config error."""

from __future__ import annotations

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.core.config import ConfigError
from l4agent.diagnostics.options import options_for
from l4agent.diagnostics.registry import by_id, select


def test_options_shared_by_several_checks_have_one_default():
    seen: dict[str, tuple[str, object]] = {}
    for check in select(("security",)):
        for name, default in check.defaults.items():
            first = seen.setdefault(name, (check.id, default))
            assert first[1] == default, f"{name}: {first[0]} says {first[1]!r}, {check.id} says {default!r}"


def test_family_table_then_check_table():
    config = parse_config({"diagnostics": {"security": {"max_databases": 5},
                                           "security.guest_access": {"max_databases": 7}}}, "t.toml")
    assert options_for(by_id("security.public_schema_create"), config.diagnostics)["max_databases"] == 5
    assert options_for(by_id("security.guest_access"), config.diagnostics)["max_databases"] == 7


def test_misspelt_or_mistyped_option_is_one_config_error_line_each():
    with pytest.raises(ConfigError) as caught:
        parse_config({"diagnostics": {"security": {"allowed_superuser": ["x"], "expected_exposed": "0.0.0.0:5432"}}},
                     "t.toml")
    lines = caught.value.lines
    assert len(lines) == 2
    assert lines[0].startswith("config error: t.toml: diagnostics.security.allowed_superuser: unknown option")
    assert lines[1] == "config error: t.toml: diagnostics.security.expected_exposed: expected a value like []"


def test_the_documented_example_is_a_valid_config():
    import re
    import tomllib

    from tests.conftest import REPO

    doc = (REPO / "docs" / "diagnostics.md").read_text()
    [block] = [b for b in re.findall(r"```toml\n(.*?)```", doc, re.S) if b.startswith("[diagnostics.security]")]
    config = parse_config(tomllib.loads(block), "docs/diagnostics.md")
    documented = set(config.diagnostics["security"])
    assert documented == {name for check in select(("security",)) for name in check.defaults}
