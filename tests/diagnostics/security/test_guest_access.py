"""security.guest_access on rows shaped like sys.databases and sys.database_permissions, one
statement per database in that database's context."""

from __future__ import annotations

from l4agent.dbaccess.connection import DatabaseError
from l4agent.diagnostics.registry import by_id
from tests.diagnostics.security_helpers import mssql_context

CHECK = by_id("security.guest_access")

GUEST_CONNECT = [{"permission_name": "CONNECT", "state_desc": "GRANT"}]


def per_database(granted: set[str], unreadable: set[str] = frozenset()):
    def rows(catalog):
        if catalog in unreadable:
            raise DatabaseError(f"database 'erp': The server principal is not able to access the database "
                                f"\"{catalog}\"", "query")
        return GUEST_CONNECT if catalog in granted else []
    return rows


def test_guest_with_connect_is_flagged_beside_a_clean_twin():
    ctx, db = mssql_context(CHECK, {"user_databases": [{"name": "workcube_cf"}, {"name": "workcube_cf_1"}],
                                    "guest_connect": per_database({"workcube_cf_1"})})
    [finding] = CHECK.run(ctx)
    assert (finding.severity, finding.object) == ("warning", "workcube_cf_1.guest")
    assert finding.recommendation == "`USE [workcube_cf_1]; REVOKE CONNECT FROM guest;`"
    assert db.calls == [("user_databases", None), ("guest_connect", "workcube_cf"),
                        ("guest_connect", "workcube_cf_1")]


def test_configured_databases_are_walked_without_system_ones():
    ctx, db = mssql_context(CHECK, {"guest_connect": per_database(set())},
                            databases=("master", "workcube_cf", "msdb"))
    assert list(CHECK.run(ctx)) == []
    assert db.calls == [("guest_connect", "workcube_cf")]


def test_walk_is_bounded_and_unreadable_databases_are_named_once():
    names = [{"name": f"db{i:02d}"} for i in range(10)]
    ctx, db = mssql_context(CHECK, {"user_databases": names, "guest_connect": per_database({"db01"}, {"db02"})},
                            options={"max_databases": 3})
    found = {f.object: f for f in CHECK.run(ctx)}
    assert set(found) == {"db01.guest", "sys.database_permissions"}
    note = found["sys.database_permissions"]
    assert note.severity == "info" and list(note.evidence["unreadable"]) == ["db02"]
    assert "after the first 3" in note.summary
    assert [c for c in db.calls if c[0] == "guest_connect"] == [("guest_connect", f"db{i:02d}") for i in range(3)]
