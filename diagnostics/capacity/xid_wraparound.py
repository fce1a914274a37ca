"""capacity.xid_wraparound (PostgreSQL): transaction-ID or multixact wraparound ahead.

A catalog's age(datfrozenxid) counts the transactions since its oldest unfrozen row; at 2^31
(less a safety margin) the server stops accepting writes until a VACUUM has frozen the old
rows. Autovacuum starts freezing at autovacuum_freeze_max_age (default 200 million), so an age
far beyond that means freezing cannot keep up or is held back (a long transaction, an abandoned
replication slot or prepared transaction, autovacuum off). One finding per catalog, with the
tables holding it back (read in the catalog itself).
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.connection import DatabaseError
from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding

WRAPAROUND = 2**31

DATABASES = """
SELECT datname AS catalog, datallowconn,
       age(datfrozenxid) AS xid_age,
       mxid_age(datminmxid) AS multixact_age,
       current_setting('autovacuum_freeze_max_age')::bigint AS freeze_max_age,
       current_setting('autovacuum_multixact_freeze_max_age')::bigint AS multixact_freeze_max_age,
       current_setting('autovacuum') AS autovacuum
FROM pg_database
ORDER BY age(datfrozenxid) DESC
"""

# In the catalog: the tables whose relfrozenxid holds datfrozenxid back (a TOAST table is
# reported as its owner).
TABLES = """
SELECT coalesce(o.oid, c.oid)::regclass::text AS table_name,
       age(c.relfrozenxid) AS xid_age,
       mxid_age(c.relminmxid) AS multixact_age,
       pg_total_relation_size(coalesce(o.oid, c.oid)) AS total_bytes
FROM pg_class c
LEFT JOIN pg_class o ON c.relkind = 't' AND o.reltoastrelid = c.oid
WHERE c.relkind IN ('r', 'm', 't') AND c.relfrozenxid <> '0'::xid
ORDER BY greatest(age(c.relfrozenxid), mxid_age(c.relminmxid)) DESC
LIMIT 5
"""


class XidWraparound(Check):
    id = "capacity.xid_wraparound"
    engines = frozenset({"postgresql"})
    title = "Transaction-ID or multixact age heading for wraparound"
    queries = {"postgresql": {"databases": DATABASES, "tables": TABLES}}
    catalog_statements = frozenset({"tables"})
    #: ages (transactions) from which a catalog is reported
    defaults = {"warning_age": 500_000_000, "critical_age": 1_200_000_000}
    max_rows = 2000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = ctx.query(self, "databases")
        ctx.examined("catalogs", len(rows))
        warning, critical = ctx.options["warning_age"], ctx.options["critical_age"]
        for row in rows:
            xid, mxid = number(row["xid_age"]), number(row["multixact_age"])
            worst = max(xid, mxid)
            if worst < warning:
                continue
            catalog = str(row["catalog"])
            kind = "transaction ID" if xid >= mxid else "multixact"
            severity = "critical" if worst >= critical else "warning"
            tables: list[dict] = []
            if row["datallowconn"] in (True, 1, "1", "t"):
                try:
                    tables = ctx.query(self, "tables", catalog=catalog)
                except DatabaseError as error:
                    ctx.not_examined(f"{self.id}: tables", str(error), catalog=catalog)
            else:
                ctx.not_examined(f"{self.id}: tables", "the catalog does not allow connections", catalog=catalog)
            holders = ", ".join(f"{t['table_name']} ({int(number(t['xid_age'])):,})" for t in tables[:3])
            yield self.finding(
                ctx, severity, catalog,
                f"{kind} age {int(worst):,} is {worst / WRAPAROUND:.1%} of the way to wraparound "
                f"(autovacuum_freeze_max_age {int(number(row['freeze_max_age'])):,})"
                + (f"; held back by {holders}" if holders else ""),
                f"VACUUM (FREEZE, VERBOSE) the oldest tables in {catalog} now"
                + (f" ({', '.join(t['table_name'] for t in tables[:3])})" if tables else "")
                + "; end long transactions, drop abandoned replication slots and prepared transactions that "
                "hold the xmin horizon, and make sure autovacuum is on and not cancelled",
                xid_age=int(xid), multixact_age=int(mxid), freeze_max_age=row["freeze_max_age"],
                multixact_freeze_max_age=row["multixact_freeze_max_age"], autovacuum=row["autovacuum"],
                wraparound_at=WRAPAROUND, tables=tables,
            )
