"""caching.planning_time: statements whose planning costs a large share of their time (PostgreSQL).

CFML pages that build SQL with ``#variables#`` instead of ``<cfqueryparam>`` send a new statement
text per value; PostgreSQL then plans every call. ``pg_stat_statements`` with
``pg_stat_statements.track_planning = on`` counts plans and planning time per statement family:
a family planned about as often as it runs, with planning a large share of its time, is sent
with literals (or without a prepared statement). When tracking is off the check says so
(coverage), it never reads as "nothing to report".
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import first_line
from l4agent.diagnostics.coverage import NotExamined

TRACK_PLANNING = ("SELECT current_setting('pg_stat_statements.track_planning', true) AS track_planning, "
                  "(SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements') AS installed")

# One row per statement family whose planning is a large share of its time, across the instance.
FAMILIES = """
SELECT d.datname AS catalog_name, s.queryid, s.calls, s.plans,
       s.total_plan_time AS total_plan_ms, s.total_exec_time AS total_exec_ms,
       s.total_plan_time / NULLIF(s.total_plan_time + s.total_exec_time, 0) AS plan_share,
       left(regexp_replace(s.query, '\\s+', ' ', 'g'), 300) AS sample,
       (SELECT count(*) FROM pg_stat_statements) AS statements
FROM pg_stat_statements AS s
JOIN pg_database AS d ON d.oid = s.dbid
WHERE s.plans >= ? AND s.total_plan_time >= ?
  AND s.total_plan_time / NULLIF(s.total_plan_time + s.total_exec_time, 0) >= ?
ORDER BY s.total_plan_time DESC
LIMIT ?
"""

ENABLE = ("ALTER SYSTEM SET pg_stat_statements.track_planning = on; SELECT pg_reload_conf();")
ADVICE = ("send it as a prepared statement with parameters (<cfqueryparam> in CFML: the JDBC driver then "
          "reuses a server-side statement and, after five runs, a generic plan); literals in the text make "
          "PostgreSQL plan every call")


class PlanningTime(Check):
    id = "caching.planning_time"
    engines = frozenset({"postgresql"})
    title = "statements planned on every call (literals instead of parameters), PostgreSQL"
    queries = {"postgresql": {"track_planning": TRACK_PLANNING, "families": FAMILIES}}
    defaults = {
        "min_plans": 1000,  # plans counted before a family is judged
        "min_plan_ms": 1000.0,  # total planning time (ms) worth a finding
        "min_share": 0.3,  # planning's share of the family's time
        "top_n": 10,
    }

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        [setting] = ctx.query(self, "track_planning")
        if setting["track_planning"] is None:
            raise NotExamined("pg_stat_statements is not loaded (shared_preload_libraries): planning time is "
                              "not measured")
        if not number(setting["installed"]):
            raise NotExamined("the pg_stat_statements extension is not created in the DSN's database "
                              "(CREATE EXTENSION pg_stat_statements)")
        if setting["track_planning"] != "on":
            raise NotExamined(f"pg_stat_statements.track_planning is off: planning time is not measured ({ENABLE})")
        options = ctx.options
        rows = ctx.query(self, "families", (int(options["min_plans"]), float(options["min_plan_ms"]),
                                            float(options["min_share"]), int(options["top_n"])))
        ctx.examined("statements", int(number(rows[0]["statements"])) if rows else 0)
        for row in rows:
            share = number(row["plan_share"])
            plans, calls = int(number(row["plans"])), int(number(row["calls"]))
            yield self.finding(
                ctx, "warning", f"{row['catalog_name']}:queryid {row['queryid']}",
                f"planning is {share:.0%} of this statement's time: {plans:,} plans for {calls:,} calls, "
                f"{number(row['total_plan_ms']) / 1000:,.1f}s planning: {first_line(row['sample'], 120)}",
                ADVICE,
                catalog=row["catalog_name"], queryid=str(row["queryid"]), calls=calls, plans=plans,
                plan_share=round(share, 3), total_plan_ms=round(number(row["total_plan_ms"]), 1),
                total_exec_ms=round(number(row["total_exec_ms"]), 1), sample=row["sample"],
            )
