"""security.public_schema_create on a real PostgreSQL: CREATE for PUBLIC granted on schema
public of one database (and on a schema of its own), beside a database left at PostgreSQL 15's
default."""

from __future__ import annotations

import uuid

import pytest

from tests.diagnostics.security_helpers import lab_postgres, password_env, run_check, target

# collectors/database/connection.py opens a PostgreSQL catalog with DATABASE={name}; psqlODBC
# (13.02) does not strip the braces and asks for a database literally named "{name}". Remove these
# marks once the connection layer passes plain names to psqlODBC (strict: an XPASS fails the run).


@pytest.fixture
def lab(monkeypatch):
    server = lab_postgres()
    monkeypatch.setenv(*password_env(server))
    return server


@pytest.fixture
def databases(lab):
    names = [lab.create_database(f"l4sec_{uuid.uuid4().hex[:8]}") for _ in range(2)]
    try:
        yield names
    finally:
        for name in names:
            lab.drop_database(name)


def test_public_create_is_flagged_per_database_and_schema(lab, databases):
    open_db, clean_db = databases
    lab.execute_admin(["GRANT CREATE ON SCHEMA public TO PUBLIC", "CREATE SCHEMA shared",
                       "GRANT CREATE ON SCHEMA shared TO PUBLIC"], open_db)
    lab.execute_admin("CREATE SCHEMA app", clean_db)  # a schema without PUBLIC CREATE: clean twin
    result = run_check("security.public_schema_create", {"databases": [target(lab, databases=databases)]})
    found = {f.object: f for f in result.findings}
    assert set(found) == {f"{open_db}.public", f"{open_db}.shared"}
    assert found[f"{open_db}.public"].severity == "warning"
    assert found[f"{open_db}.public"].recommendation == (
        f'connected to {open_db}: `REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;`')
    assert found[f"{open_db}.shared"].evidence == {"owner": "postgres"}


def test_without_a_databases_list_every_connectable_database_is_walked(lab, databases):
    open_db, _ = databases
    lab.execute_admin("GRANT CREATE ON SCHEMA public TO PUBLIC", open_db)
    result = run_check("security.public_schema_create", {"databases": [target(lab)]})
    assert [f.object for f in result.findings] == [f"{open_db}.public"]
