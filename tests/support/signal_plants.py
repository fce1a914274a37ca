"""The issue-19 defects planted once per session on the replica pairs, each beside a clean twin.

``plant_pg(primary)`` (catalogs ``l4_bad`` / ``l4_good``):
- a bigint sequence near 2^31-1 feeding an int4 key (twin: bigserial and an int4 identity, fresh);
- XID age: 50,000 transactions burnt (half PgPrimary's autovacuum_freeze_max_age), then every
  catalog frozen except table ``old_orders`` of l4_bad; multixacts on that table too;
- a unique index left invalid by a failed CREATE INDEX CONCURRENTLY (twin: the same build, valid);
- a disabled user trigger and DISABLE TRIGGER ALL (foreign keys off) (twin: enabled);
- a sort spilling to a temporary file (twin: none);
- replication slots whose consumers are gone: ``stale_physical`` (8 MB of WAL kept) and
  ``stale_logical`` in l4_bad; the standby's own slot ``standby1`` is the active twin.

``plant_mariadb(primary)`` (schemas ``l4_bad`` / ``l4_good``, replicated to the replica):
- an int AUTO_INCREMENT at 2,000,000,000 (twin: bigint unsigned, fresh);
- MyISAM and Aria tables in an InnoDB schema (twin: InnoDB only).
"""

from __future__ import annotations

import contextlib

import pyodbc

from tests.support import replicas as r

BAD, GOOD = "l4_bad", "l4_good"
# Below PgPrimary's autovacuum_freeze_max_age (100,000): above it, anti-wraparound autovacuum runs
# even with autovacuum off and freezes the planted table behind the test's back.
XID_BURN = 50_000


def plant_pg(p: r.PgPrimary) -> None:
    for name in (BAD, GOOD):
        p.create_database(name)
    p.execute_admin([
        "CREATE TABLE invoice (id int PRIMARY KEY, note text)",
        "CREATE SEQUENCE invoice_id_seq AS bigint OWNED BY invoice.id",
        "ALTER TABLE invoice ALTER id SET DEFAULT nextval('invoice_id_seq')",
        "SELECT setval('invoice_id_seq', 2000000000)",
        "INSERT INTO invoice (note) VALUES ('near the int4 end')",
        "CREATE TABLE old_orders (id int PRIMARY KEY, qty int)",
        "INSERT INTO old_orders SELECT g, 1 FROM generate_series(1, 10) g",
    ], BAD)
    p.execute_admin([
        "CREATE TABLE invoice (id bigserial PRIMARY KEY, note text)",
        "CREATE TABLE item (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, sku text)",
        "INSERT INTO invoice (note) VALUES ('fresh')",
        "INSERT INTO item (sku) VALUES ('a')",
    ], GOOD)
    p.execute_admin(["CREATE TABLE dup (v int)", "INSERT INTO dup VALUES (1), (1), (2)"], BAD)
    with contextlib.suppress(pyodbc.Error):  # "could not create unique index": left invalid
        p.execute_admin("CREATE UNIQUE INDEX CONCURRENTLY dup_v_uq ON dup (v)", BAD)
    p.execute_admin(["CREATE TABLE dup (v int)", "INSERT INTO dup VALUES (1), (2)",
                     "CREATE UNIQUE INDEX CONCURRENTLY dup_v_uq ON dup (v)"], GOOD)
    for db in (BAD, GOOD):
        p.execute_admin([
            "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
            "CREATE TABLE audited (id int PRIMARY KEY)",
            "CREATE TRIGGER audited_touch BEFORE INSERT ON audited FOR EACH ROW EXECUTE FUNCTION touch()",
            "CREATE TABLE line (id int PRIMARY KEY, invoice_id int REFERENCES audited (id))",
        ], db)
    p.execute_admin(["ALTER TABLE audited DISABLE TRIGGER audited_touch", "ALTER TABLE line DISABLE TRIGGER ALL"],
                    BAD)
    with contextlib.closing(p.admin_connect(BAD)) as conn:
        conn.cursor().execute("SET work_mem = '64kB'")
        conn.cursor().execute(
            "SELECT count(*) FROM (SELECT md5(g::text) m FROM generate_series(1, 100000) g ORDER BY 1) s").fetchall()
    c1, c2 = p.admin_connect(BAD, autocommit=False), p.admin_connect(BAD, autocommit=False)
    try:
        for _ in range(20):
            for c in (c1, c2):
                c.cursor().execute("SELECT id FROM old_orders WHERE id = 1 FOR SHARE").fetchall()
            c1.commit()
            c2.commit()
    finally:
        c1.close()
        c2.close()
    p.execute_admin(f"DO $$BEGIN FOR i IN 1..{XID_BURN} LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END$$")
    freeze_everything_but_old_orders(p)
    r.pg_plant_stale_slot(p, "stale_physical", wal_mb=8)
    r.pg_plant_stale_slot(p, "stale_logical", logical_database=BAD, wal_mb=1)


def freeze_everything_but_old_orders(p: r.PgPrimary) -> None:
    """VACUUM FREEZE every catalog (template0 too, briefly opened), l4_bad all but old_orders."""
    p.execute_admin("ALTER DATABASE template0 ALLOW_CONNECTIONS true")
    try:
        for db in ("template0", "template1", "postgres", GOOD):
            p.execute_admin("VACUUM (FREEZE)", db)
    finally:
        p.execute_admin("ALTER DATABASE template0 ALLOW_CONNECTIONS false")
    others = p.execute_admin("SELECT string_agg(oid::regclass::text, ', ') FROM pg_class "
                             "WHERE relkind IN ('r', 'm') AND relname <> 'old_orders'", BAD)[0][0]
    p.execute_admin(f"VACUUM (FREEZE) {others}", BAD)


def plant_mariadb(p: r.MariaPrimary) -> None:
    for name in (BAD, GOOD):
        p.create_database(name)
    p.execute_admin([
        f"CREATE TABLE {BAD}.invoice (id int AUTO_INCREMENT PRIMARY KEY, note varchar(20)) "
        "ENGINE=InnoDB AUTO_INCREMENT=2000000000",
        f"INSERT INTO {BAD}.invoice (note) VALUES ('x')",
        f"CREATE TABLE {BAD}.legacy (id int PRIMARY KEY) ENGINE=MyISAM",
        f"CREATE TABLE {BAD}.cache (id int PRIMARY KEY) ENGINE=Aria",
        f"CREATE TABLE {GOOD}.invoice (id bigint unsigned AUTO_INCREMENT PRIMARY KEY, note varchar(20)) ENGINE=InnoDB",
        f"INSERT INTO {GOOD}.invoice (note) VALUES ('x')",
        f"CREATE TABLE {GOOD}.ok (id int PRIMARY KEY) ENGINE=InnoDB",
    ])
