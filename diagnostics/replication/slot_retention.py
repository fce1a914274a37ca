"""replication.slot_retention (PostgreSQL): a replication slot keeping WAL on disk.

A slot keeps every WAL segment its consumer has not confirmed. A slot whose consumer is gone
(a dropped standby, a stopped CDC tool) keeps them forever: pg_wal grows until the disk is full
and the primary stops. A logical slot also holds back catalog_xmin (vacuum of the catalogs).
One finding per slot: inactive with WAL retained, or retaining more than the threshold.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.collectors.database.postgresql import REPLICATION_SLOTS
from l4agent.core.units import format_bytes
from l4agent.dbaccess.values import number, truthy
from l4agent.diagnostics.base import Check, CheckContext, Finding


class SlotRetention(Check):
    id = "replication.slot_retention"
    engines = frozenset({"postgresql"})
    title = "Replication slot inactive or retaining too much WAL"
    queries = {"postgresql": {"slots": REPLICATION_SLOTS}}
    defaults = {"warning_bytes": 1 << 30, "critical_bytes": 10 << 30}
    max_rows = 200

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        rows = ctx.query(self, "slots")
        ctx.examined("replication slots", len(rows))
        warning, critical = ctx.options["warning_bytes"], ctx.options["critical_bytes"]
        for row in rows:
            retained = number(row["retained_bytes"], None) or 0.0
            active = truthy(row["active"])
            if active and retained < warning:
                continue
            if not active and retained <= 0:
                continue
            severity = "critical" if retained >= critical or str(row["wal_status"]) in ("unreserved", "lost") \
                else "warning"
            slot = str(row["slot_name"])
            yield self.finding(
                ctx, severity, f"slot {slot}",
                f"{row['slot_type']} replication slot {slot} is {'active' if active else 'inactive (no consumer)'} "
                f"and keeps {format_bytes(retained)} of WAL on disk"
                + (f"; it holds catalog_xmin back {int(number(row['catalog_xmin_age'])):,} transactions"
                   if row["catalog_xmin_age"] is not None else ""),
                (f"if its consumer is gone for good: SELECT pg_drop_replication_slot('{slot}'); otherwise bring the "
                 "consumer back. Set max_slot_wal_keep_size so a forgotten slot cannot fill the disk"
                 if not active else
                 "the consumer is connected but behind: find why (network, a slow standby or CDC tool); set "
                 "max_slot_wal_keep_size as a safety limit"),
                slot=slot, slot_type=row["slot_type"], catalog=row["database"], active=active,
                retained_bytes=int(retained), wal_status=row["wal_status"], xmin_age=row["xmin_age"],
                catalog_xmin_age=row["catalog_xmin_age"],
            )
