"""security.superusers on a real PostgreSQL: an extra superuser planted beside a named allowed
admin, a NOLOGIN superuser role and an ordinary role."""

from __future__ import annotations

import pytest

from tests.diagnostics.security_helpers import lab_postgres, password_env, planted, run_check, target


@pytest.fixture
def lab(monkeypatch):
    server = lab_postgres()
    monkeypatch.setenv(*password_env(server))
    return server


ROLES = ["extra_admin", "named_dba", "break glass", "app_user"]


def test_superusers_beyond_the_allowed_list(lab):
    plant = ['CREATE ROLE extra_admin LOGIN SUPERUSER', 'CREATE ROLE named_dba LOGIN SUPERUSER',
             'CREATE ROLE "break glass" NOLOGIN SUPERUSER', 'CREATE ROLE app_user LOGIN']
    config = {"databases": [target(lab)],
              "diagnostics": {"security": {"allowed_superusers": ["postgres", "named_*"]}}}
    with planted(lab, plant, [f'DROP ROLE IF EXISTS "{r}"' for r in ROLES]):
        result = run_check("security.superusers", config)
    found = {f.object: f for f in result.findings}
    assert set(found) == {"extra_admin", "break glass"}
    assert found["extra_admin"].severity == "warning"
    assert found["extra_admin"].summary == "login role extra_admin is a superuser and not in the allowed list"
    assert found["extra_admin"].recommendation.startswith('`ALTER ROLE "extra_admin" NOSUPERUSER;`')
    assert found["break glass"].severity == "info"
    assert found["break glass"].recommendation.startswith('`ALTER ROLE "break glass" NOSUPERUSER;`')
    assert found["extra_admin"].evidence["superusers"] == ["break glass", "extra_admin", "named_dba", "postgres"]


def test_default_allowed_list_accepts_postgres_only(lab):
    assert run_check("security.superusers", {"databases": [target(lab)]}).findings == []
