"""security.sysadmin_members on rows shaped like sys.server_principals joined to
sys.server_role_members."""

from __future__ import annotations

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.security_helpers import mssql_context

CHECK = by_id("security.sysadmin_members")


def member(name, sid=b"\x01\x05\x00\x00", type_desc="SQL_LOGIN", is_disabled=False):
    return {"name": name, "sid": sid, "type_desc": type_desc, "is_disabled": is_disabled}


DEFAULT_INSTALL = [
    member("sa_renamed", sid=b"\x01"),
    member("NT SERVICE\\MSSQLSERVER", type_desc="WINDOWS_LOGIN"),
    member("nt service\\SQLSERVERAGENT", type_desc="WINDOWS_LOGIN"),
    member("NT AUTHORITY\\SYSTEM", type_desc="WINDOWS_LOGIN"),
]


def run(rows, options=None):
    ctx, _ = mssql_context(CHECK, {"sysadmin_members": rows}, options)
    return [(f.severity, f.object, f.summary, f.recommendation) for f in CHECK.run(ctx)]


def test_default_install_with_renamed_sa_is_clean():
    assert run(DEFAULT_INSTALL) == []


def test_extra_members_are_flagged_with_the_drop_member_statement():
    rows = [*DEFAULT_INSTALL, member("erp_app"), member("CORP\\DBAs", type_desc="WINDOWS_GROUP"),
            member("old_admin", is_disabled=True)]
    assert run(rows) == [
        ("warning", "erp_app", "sql login erp_app is a member of sysadmin and not in the allowed list",
         "remove it: `ALTER SERVER ROLE [sysadmin] DROP MEMBER [erp_app];` and grant only what it needs; or, "
         "if it must stay, add it to allowed_sysadmins under [diagnostics.security]"),
        ("warning", "CORP\\DBAs", "windows group CORP\\DBAs is a member of sysadmin and not in the allowed list",
         "remove it: `ALTER SERVER ROLE [sysadmin] DROP MEMBER [CORP\\DBAs];` and grant only what it needs; or, "
         "if it must stay, add it to allowed_sysadmins under [diagnostics.security]"),
        ("info", "old_admin", "disabled sql login old_admin is a member of sysadmin and not in the allowed list",
         "remove it: `ALTER SERVER ROLE [sysadmin] DROP MEMBER [old_admin];` and grant only what it needs; or, "
         "if it must stay, add it to allowed_sysadmins under [diagnostics.security]"),
    ]


def test_allowed_list_takes_patterns_case_insensitively():
    rows = [*DEFAULT_INSTALL, member("CORP\\DBAs", type_desc="WINDOWS_GROUP"), member("dba_alice")]
    options = {"allowed_sysadmins": ["sa", "NT SERVICE\\*", "NT AUTHORITY\\SYSTEM", "corp\\dbas", "dba_*"]}
    assert run(rows, options) == []
