"""security.password_encryption on a real PostgreSQL: password_encryption = md5 planted with
ALTER SYSTEM, and an md5-hashed login beside a scram one (visible only when pg_authid is)."""

from __future__ import annotations

import hashlib

import pytest

from tests.diagnostics.security_helpers import (
    lab_postgres,
    password_env,
    pg_settings,
    planted,
    run_check,
    target,
)
from tests.support.dbservers import _scram_sha256_verifier, new_password


@pytest.fixture
def lab(monkeypatch):
    server = lab_postgres()
    monkeypatch.setenv(*password_env(server))
    return server


def md5_verifier(role: str, password: str) -> str:
    return "md5" + hashlib.md5((password + role).encode()).hexdigest()  # noqa: S324 - PostgreSQL's format


def test_md5_setting_is_a_warning_and_scram_is_clean(lab):
    config = {"databases": [target(lab)]}
    assert run_check("security.password_encryption", config).findings == []
    with pg_settings(lab, password_encryption="md5"):
        [finding] = run_check("security.password_encryption", config).findings
    assert (finding.severity, finding.object) == ("warning", "password_encryption")
    assert finding.recommendation.startswith(
        "`ALTER SYSTEM SET password_encryption = 'scram-sha-256'; SELECT pg_reload_conf();`")
    assert finding.evidence == {"password_encryption": "md5"}


def test_md5_roles_are_named_only_when_pg_authid_is_readable(lab):
    monitor = lab.monitor_user
    plant = [f"CREATE ROLE legacy_app LOGIN PASSWORD '{md5_verifier('legacy_app', new_password())}'",
             f"CREATE ROLE modern_app LOGIN PASSWORD '{_scram_sha256_verifier(new_password())}'"]
    remove = [f"REVOKE SELECT ON pg_catalog.pg_authid FROM {monitor}", "DROP ROLE IF EXISTS legacy_app",
              "DROP ROLE IF EXISTS modern_app"]
    config = {"databases": [target(lab)]}
    with planted(lab, plant, remove):
        assert run_check("security.password_encryption", config).findings == []  # pg_authid hidden
        lab.execute_admin(f"GRANT SELECT ON pg_catalog.pg_authid TO {monitor}")
        [finding] = run_check("security.password_encryption", config).findings
    assert (finding.severity, finding.object) == ("warning", "legacy_app")
    assert finding.summary == "role legacy_app has an md5-hashed password"
    assert 'ALTER ROLE "legacy_app" PASSWORD' in finding.recommendation
    assert "md5" not in repr(finding.evidence).replace("scram-sha-256", "")  # no hash, only the setting
