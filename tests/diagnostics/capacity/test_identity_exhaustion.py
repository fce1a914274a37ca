"""capacity.identity_exhaustion: a bigint sequence near 2^31 feeding an int4 key (PostgreSQL) and
an int AUTO_INCREMENT at 2,000,000,000 (MariaDB) are reported with the ALTER that widens them;
the fresh twins are not. Without the grant it says so ("not examined"), never "nothing found".
SQL Server on sys.identity_columns-shaped rows."""

from __future__ import annotations

from tests.diagnostics.checkrun import db_config, findings_of, run_check, run_mssql
from tests.diagnostics.signal_support import examined, mariadb_revoked, not_examined
from tests.support.signal_plants import BAD, GOOD


def test_postgresql_sequence_against_its_int4_column(pg_signals):
    [finding] = findings_of(run_check("capacity.identity_exhaustion", db_config(pg_signals.primary, BAD)))
    assert (finding.object, finding.severity) == ("public.invoice.id", "warning")
    assert 0.93 < finding.evidence["usage_ratio"] < 0.94 and finding.evidence["limit"] == 2147483647
    assert "ALTER TABLE invoice ALTER COLUMN id TYPE bigint" in finding.recommendation
    twin = run_check("capacity.identity_exhaustion", db_config(pg_signals.primary, GOOD))
    assert findings_of(twin) == []
    assert examined(twin)[(None, "sequences")] == 2 and not_examined(twin) == []


def test_postgresql_without_select_on_sequences_is_not_examined(pg_server, pg_db):
    pg_server.execute_admin(["CREATE TABLE t (id serial PRIMARY KEY)", "INSERT INTO t DEFAULT VALUES"], pg_db)
    result = run_check("capacity.identity_exhaustion", db_config(pg_server, pg_db))
    assert findings_of(result) == []
    [(catalog, what, why)] = not_examined(result)
    assert what == "capacity.identity_exhaustion: 1 sequence" and "SELECT on the sequences" in why


def test_mariadb_auto_increment(mariadb_signals):
    findings = findings_of(run_check("capacity.identity_exhaustion", db_config(mariadb_signals.primary, None)))
    assert [(f.object, f.severity) for f in findings] == [(f"{BAD}.invoice.id", "warning")]
    assert findings[0].recommendation.startswith(f"ALTER TABLE `{BAD}`.`invoice` MODIFY `id` BIGINT NOT NULL")


def test_mariadb_without_table_visibility_is_not_examined(mariadb_signals):
    with mariadb_revoked(mariadb_signals.primary, "SHOW VIEW, REFERENCES"):
        result = run_check("capacity.identity_exhaustion", db_config(mariadb_signals.primary, None))
    assert findings_of(result) == []
    assert [w for _, w, _ in not_examined(result)] == ["capacity.identity_exhaustion"]


def identity(table, column_type, last_value, precision=10, increment=1.0):
    return {"schema_name": "dbo", "table_name": table, "column_name": "ID", "column_type": column_type,
            "precision": precision, "last_value": last_value, "increment_value": increment}


def online(name):
    return {"name": name, "state_desc": "ONLINE", "user_access_desc": "MULTI_USER", "is_in_standby": 0,
            "updateability": "READ_WRITE", "has_access": 1, "is_secondary": 0}


def test_mssql_identity_rows():
    rows = {"catalog_state": [online("workcube_cf"), {**online("erp_old"), "state_desc": "OFFLINE"}],
            "identity": [identity("ORDERS", "int", 2_100_000_000.0), identity("ITEMS", "bigint", 5e9, 19),
                         identity("TINY", "smallint", 32000.0, 5)]}
    findings, db = run_mssql("capacity.identity_exhaustion", rows, databases=["erp_old", "workcube_cf"])
    assert [(f.object, f.severity) for f in findings] == [("workcube_cf.dbo.ORDERS.ID", "critical"),
                                                          ("workcube_cf.dbo.TINY.ID", "critical")]
    assert "ALTER TABLE [dbo].[ORDERS] ALTER COLUMN [ID] bigint NOT NULL" in findings[0].recommendation
    assert [(name, c) for name, _, c in db.calls if name == "identity"] == [("identity", "workcube_cf")]
