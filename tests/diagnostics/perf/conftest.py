"""The index advisor's workload (issue 18), shared by perf.missing_index and perf.top_query:
an ``orders`` table with many primary-key lookups and statements scanning it on unindexed
columns, a ``customer`` table looked up by email, and a clean twin (``invoices``) read only
through its index. One PostgreSQL and one MariaDB server per test package run."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator

import pytest

from tests.support.db_fixtures import _serve
from tests.support.dbservers import MariaDbServer, PostgresServer

STATUSES = 25
PG_CATALOG = "erp"

PG_SCHEMA = [
    "CREATE TABLE customer (id int PRIMARY KEY, email text NOT NULL, name text NOT NULL)",
    "INSERT INTO customer SELECT g, 'user' || g || '@example.com', 'Customer ' || g FROM generate_series(1, 50000) g",
    "CREATE TABLE orders (id int PRIMARY KEY, order_no text NOT NULL, customer_id int NOT NULL, status text NOT NULL, "
    "created_at timestamptz NOT NULL, total numeric(12,2) NOT NULL)",
    f"INSERT INTO orders SELECT g, 'ORD' || lpad(g::text, 8, '0'), 1 + (g * 7919) % 50000, 's' || (g % {STATUSES}), "
    "timestamptz '2026-01-01' + g * interval '1 minute', (g % 1000) / 10.0 FROM generate_series(1, 200000) g",
    "CREATE INDEX ix_orders_order_no_created ON orders (order_no, created_at)",
    # the clean twin: same shape, read only through its customer_id index
    "CREATE TABLE invoices (LIKE orders INCLUDING ALL)",
    "INSERT INTO invoices SELECT * FROM orders",
    "CREATE INDEX ix_invoices_customer_id ON invoices (customer_id)",
    "ANALYZE",
]


def _pg_workload(server: PostgresServer, db: str) -> None:
    rnd = random.Random(18)
    with contextlib.closing(server.admin_connect(db)) as conn:
        cur = conn.cursor()
        cur.execute("SELECT pg_stat_reset()")
        cur.execute("SELECT pg_stat_statements_reset()")
        cur.execute("SET max_parallel_workers_per_gather = 0")  # modest load on a shared machine
        for _ in range(3000):
            cur.execute("SELECT id, order_no, total FROM orders WHERE id = ?", rnd.randint(1, 200000)).fetchall()
        for _ in range(300):
            cur.execute("SELECT id, total FROM invoices WHERE customer_id = ?", rnd.randint(1, 50000)).fetchall()
        for _ in range(200):
            cur.execute("SELECT id, total FROM orders WHERE order_no = ?", f"ORD{rnd.randint(1, 200000):08d}").fetchall()
        for _ in range(30):
            cur.execute("SELECT id, order_no, total FROM orders WHERE customer_id = ?", rnd.randint(1, 50000)).fetchall()
        for _ in range(40):
            cur.execute("SELECT id, name FROM customer WHERE email = ?", f"user{rnd.randint(1, 50000)}@example.com").fetchall()
        for _ in range(20):
            cur.execute("SELECT id, total FROM orders WHERE status = ? AND created_at > ?",
                        f"s{rnd.randrange(STATUSES)}", "2026-05-01").fetchall()
        cur.execute("SELECT pg_stat_force_next_flush()")


@pytest.fixture(scope="package")
def advisor_pg() -> Iterator[PostgresServer]:
    """PostgreSQL with catalog ``erp`` after the workload (hypopg installable, not installed)."""
    for server in _serve(PostgresServer):
        server.create_database(PG_CATALOG)
        server.execute_admin(PG_SCHEMA, PG_CATALOG)
        _pg_workload(server, PG_CATALOG)
        time.sleep(0.5)
        yield server


MY_SCHEMA = [
    "CREATE DATABASE cat_a", "CREATE DATABASE cat_b",
    "CREATE TABLE cat_b.customer (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, name VARCHAR(100) NOT NULL)",
    "INSERT INTO cat_b.customer SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('Customer ', seq) "
    "FROM cat_a.seq_1_to_50000",
    "CREATE TABLE cat_a.orders (id INT PRIMARY KEY, order_no VARCHAR(20) NOT NULL, customer_id INT NOT NULL, "
    "status VARCHAR(10) NOT NULL, created_at DATETIME NOT NULL, total DECIMAL(12,2) NOT NULL, "
    "KEY ix_orders_order_no_created (order_no, created_at))",
    f"INSERT INTO cat_a.orders SELECT seq, CONCAT('ORD', LPAD(seq, 8, '0')), 1 + (seq * 7919) % 50000, "
    f"CONCAT('s', seq % {STATUSES}), '2026-01-01' + INTERVAL seq MINUTE, (seq % 1000) / 10.0 FROM cat_a.seq_1_to_200000",
    "CREATE TABLE cat_a.invoices LIKE cat_a.orders",
    "INSERT INTO cat_a.invoices SELECT * FROM cat_a.orders",
    "ALTER TABLE cat_a.invoices ADD INDEX ix_invoices_customer_id (customer_id)",
    "ANALYZE TABLE cat_a.orders, cat_a.invoices, cat_b.customer",
]

#: run with no default schema: one statement naming two catalogs, one naming none
MY_SCHEMALESS_JOIN = ("SELECT COUNT(*) FROM cat_a.orders o JOIN cat_b.customer c ON c.id = o.customer_id "
                      "WHERE c.name LIKE '%{n}%'")
MY_NO_CATALOG = "SELECT BENCHMARK({n}, MD5('l4agent'))"


@pytest.fixture(scope="package")
def advisor_mariadb() -> Iterator[MariaDbServer]:
    """MariaDB with catalogs ``cat_a`` (orders, invoices) and ``cat_b`` (customer) after the workload."""
    for server in _serve(MariaDbServer):
        server.execute_admin(MY_SCHEMA)
        rnd = random.Random(18)
        lines = ["TRUNCATE performance_schema.events_statements_summary_by_digest;",
                 "TRUNCATE performance_schema.table_io_waits_summary_by_index_usage;"]
        lines += [f"SELECT id, order_no, total FROM orders WHERE id = {rnd.randint(1, 200000)};" for _ in range(2000)]
        lines += [f"SELECT id, total FROM invoices WHERE customer_id = {rnd.randint(1, 50000)};" for _ in range(200)]
        lines += [f"SELECT id, total FROM orders WHERE order_no = 'ORD{rnd.randint(1, 200000):08d}';" for _ in range(100)]
        lines += [f"SELECT id, order_no, total FROM orders WHERE customer_id = {rnd.randint(1, 50000)};" for _ in range(20)]
        lines += [f"SELECT id, name FROM cat_b.customer WHERE email = 'user{rnd.randint(1, 50000)}@example.com';"
                  for _ in range(30)]
        lines += [f"SELECT id, total FROM orders WHERE status = 's{rnd.randrange(STATUSES)}' "
                  "AND created_at > '2026-05-01';" for _ in range(15)]
        server.execute_text("\n".join(lines), database="cat_a", timeout=300)
        schemaless = [MY_SCHEMALESS_JOIN.format(n=rnd.randint(1000, 9999)) + ";" for _ in range(6)]
        schemaless += [MY_NO_CATALOG.format(n=3_000_000) + ";"]
        server.execute_text("\n".join(schemaless), database=None, timeout=300)
        yield server
