"""Schema diagnostics vs catalog size, on PostgreSQL and MariaDB: seconds for all eight
``schema.*`` checks against the number of tables (1,000 -> 50,000) and of columns per table,
what the diagnose queries cost the database itself, and a full ``diagnose`` (every check) on
the same catalogs.

Starts throwaway servers (tests/support/dbservers) and grows ERP-like tables set-based, in the
shape of the schema tests' generator (tests/diagnostics/schema_support.GENERATE_TABLES):
families of 120 monthly tables ``mod<k>_<year>_<month>``, 1 in 20 with a primary key, 1 in 20
with a foreign key to ``companies``; the columns curve adds varchar/int columns to each.
``run_diagnostics(config, ["schema"])`` is timed in this process, as ``l4agent diagnose
--check schema`` runs it (catalog read + analysis; median of the repetitions); per-check times
come from the runner's debug log.

MariaDB is measured **cold** at every table count: the server is restarted (default
``table_definition_cache``) before the first schema run, whose time is the one reported (and
compared with PostgreSQL's median); the warm median follows. Then, after another restart, the
capacity checks run once and their server time is read from the statistics below.

The database's own cost of one run is read from its statistics, for the monitor user only:
PostgreSQL ``pg_stat_statements`` (calls, total_exec_time, rows returned, shared blocks hit +
read), MariaDB ``performance_schema.events_statements_summary_by_user_by_event_name`` (count,
timer, rows examined, rows sent). MariaDB's ODBC driver runs every statement as a server-side
prepared statement, which performance_schema records without SQL text or digest, so there the
cost is per statement kind (statement/com/Execute ...), not per statement.

    python -m bench schema [--quick]                  with the other benchmarks' report and JSON
    .venv/bin/python bench/schema_scale.py [N ...]     PostgreSQL schema checks only, just the table
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Report, Skip, curve_fit, num  # noqa: E402

TABLES_FULL = (1000, 5000, 20000, 50000)
TABLES_QUICK = (500, 1000, 2000)
COLUMNS_FULL = (5, 20, 50, 100)  # extra columns per table, on COLUMNS_TABLES tables
COLUMNS_QUICK = (5, 20)
COLUMNS_TABLES_FULL, COLUMNS_TABLES_QUICK = 1000, 300
TARGET_SECONDS_AT_20000 = {"postgresql": 1.5, "mysql": 2.5}  # issue 20
TARGET_RATIO_AT_20000 = 1.5  # MariaDB / PostgreSQL
TARGET_CAPACITY_SERVER_SECONDS = 1.0
DATABASE = "l4bench_erp"
PASSWORD_ENV = {"postgresql": "L4BENCH_PG_PASSWORD", "mysql": "L4BENCH_MARIADB_PASSWORD"}
ENGINE_LABEL = {"postgresql": "PostgreSQL", "mysql": "MariaDB"}

# -- generating the catalog, set-based ------------------------------------------------------------

# One DO block per growth step: tables first..last, committing every 500 (a lock per table).
PG_GENERATE = """
DO $$
DECLARE
  extra text := (SELECT coalesce(string_agg(format(', c%s %s', j, CASE WHEN j % 2 = 0 THEN 'int'
                                                                      ELSE 'varchar(20)' END), ''), '')
                 FROM generate_series(1, {extra}) AS j);
BEGIN
  FOR i IN {first}..{last} LOOP
    EXECUTE format(
      'CREATE TABLE %I (id int%s, company_id int%s, qty int, created date%s)',
      'mod' || (i / 120) || '_' || (2010 + (i % 120) / 12) || '_' || lpad(((i % 12) + 1)::text, 2, '0'),
      CASE WHEN i % 20 = 0 THEN ' PRIMARY KEY' ELSE '' END,
      CASE WHEN i % 20 = 10 THEN ' REFERENCES companies (id)' ELSE '' END,
      extra);
    IF i % 500 = 499 THEN
      COMMIT;
    END IF;
  END LOOP;
END $$
"""


def table_name(i: int) -> str:
    return f"mod{i // 120}_{2010 + (i % 120) // 12}_{(i % 12) + 1:02d}"


def mariadb_generate(first: int, last: int, extra: int) -> str:
    """The same tables as PG_GENERATE for MariaDB, as one script for the mariadb client."""
    # varchar(20): InnoDB keeps short varchars in the row, and a row is at most ~8 KB
    columns = "".join(f", c{j} {'int' if j % 2 == 0 else 'varchar(20)'}" for j in range(1, extra + 1))
    statements = []
    for i in range(first, last + 1):
        key = " PRIMARY KEY" if i % 20 == 0 else ""
        foreign = ", FOREIGN KEY (company_id) REFERENCES companies (id)" if i % 20 == 10 else ""
        statements.append(f"CREATE TABLE `{table_name(i)}` (id int{key}, company_id int, qty int, "
                          f"created date{columns}{foreign});")
    return "\n".join(statements)


class Catalog:
    """A database on a throwaway server that grows to a number of tables; ``config`` diagnoses it."""

    def __init__(self, server, directory: Path, name: str, extra_columns: int = 0):
        self.server, self.engine, self.name, self.extra = server, server.engine, name, extra_columns
        self.tables = 0
        server.create_database(name)
        # The grants the README asks for, so that every check runs (security.* read the account
        # and authentication catalogs); MariaDB lists a schema's tables only with REFERENCES on it.
        if self.engine == "postgresql":  # (catalog grants are per database: in the one diagnosed)
            server.execute_admin(["CREATE TABLE companies (id int PRIMARY KEY)",
                                  f"GRANT SELECT ON pg_catalog.pg_hba_file_rules TO {server.monitor_user}",
                                  f"GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO {server.monitor_user}"],
                                 name)
        else:
            server.execute_text("CREATE TABLE companies (id int PRIMARY KEY);", name)
            for host in ("127.0.0.1", "localhost"):
                server.execute_admin([f"GRANT REFERENCES ON `{name}`.* TO '{server.monitor_user}'@'{host}'",
                                      f"GRANT SELECT ON mysql.global_priv TO '{server.monitor_user}'@'{host}'"])
        os.environ[PASSWORD_ENV[self.engine]] = server.monitor_password
        self.config_path = directory / f"{self.engine}-{name}.toml"
        dsn = server.agent_dsn(name if self.engine == "postgresql" else None)
        self.config_path.write_text(textwrap.dedent(f"""\
            [agent]
            state_dir = "{directory / 'state'}"

            [[databases]]
            name = "erp"
            engine = "{self.engine}"
            dsn = "{dsn}"
            password_env = "{PASSWORD_ENV[self.engine]}"
            databases = ["{name}"]
            query_timeout = "600s"
            """))
        self.config_path.chmod(0o600)
        from l4agent.agent.configuration import load_config

        self.config = load_config(str(self.config_path))

    def grow(self, tables: int) -> float:
        """Add tables up to ``tables``; returns the seconds it took."""
        started = time.monotonic()
        if tables > self.tables:
            if self.engine == "postgresql":
                self.server.execute_admin(PG_GENERATE.format(first=self.tables, last=tables - 1, extra=self.extra),
                                          self.name)
            else:
                for first in range(self.tables, tables, 2000):
                    self.server.execute_text(mariadb_generate(first, min(first + 2000, tables) - 1, self.extra),
                                             self.name, timeout=1800)
            self.tables = tables
        return time.monotonic() - started

    def drop(self) -> None:
        self.server.drop_database(self.name)


# -- the database's own statistics for the monitor user ------------------------------------------

def reset_statistics(server) -> None:
    if server.engine == "postgresql":
        server.execute_admin("SELECT pg_stat_statements_reset()")
    else:
        server.execute_admin("TRUNCATE TABLE performance_schema.events_statements_summary_by_user_by_event_name")


PG_COST = """
SELECT count(*) AS statements, coalesce(sum(calls), 0) AS calls,
       coalesce(sum(total_exec_time), 0) / 1000.0 AS exec_seconds, coalesce(sum(rows), 0) AS rows,
       coalesce(sum(shared_blks_hit + shared_blks_read), 0) AS blocks
FROM pg_stat_statements
WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = ?)
"""
PG_TOP = """
SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS query, calls,
       total_exec_time / 1000.0 AS exec_seconds, rows
FROM pg_stat_statements
WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = ?)
ORDER BY total_exec_time DESC
LIMIT 5
"""
MARIADB_COST = """
SELECT event_name, count_star AS calls, sum_timer_wait / 1e12 AS exec_seconds,
       sum_rows_examined AS rows_examined, sum_rows_sent AS rows_sent
FROM performance_schema.events_statements_summary_by_user_by_event_name
WHERE user = ? AND count_star > 0
ORDER BY sum_timer_wait DESC
"""


def database_cost(server) -> dict:
    """What the monitor user's statements cost since the last reset (seconds, rows, blocks)."""
    user = server.monitor_user
    if server.engine == "postgresql":
        row = server.execute_admin(PG_COST, params=[user])[0]
        top = server.execute_admin(PG_TOP, params=[user])
        return {"statements": int(row[0]), "calls": int(row[1]), "exec_seconds": float(row[2]),
                "rows": int(row[3]), "blocks": int(row[4]),
                "top": [{"query": r[0], "calls": int(r[1]), "exec_seconds": float(r[2]), "rows": int(r[3])} for r in top]}
    rows = server.execute_admin(MARIADB_COST, params=[user]) or []
    kinds = [{"event": r[0], "calls": int(r[1]), "exec_seconds": float(r[2]), "rows_examined": int(r[3]),
              "rows_sent": int(r[4])} for r in rows]
    return {"statements": len(kinds), "calls": sum(k["calls"] for k in kinds),
            "exec_seconds": sum(k["exec_seconds"] for k in kinds),
            "rows": sum(k["rows_examined"] for k in kinds), "rows_sent": sum(k["rows_sent"] for k in kinds),
            "blocks": None, "top": kinds[:5]}


# -- running the checks ----------------------------------------------------------------------------

class _CheckTimes(logging.Handler):
    """Collects the runner's debug line "check %s on %s: %d finding(s) in %.2fs" as seconds per check."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("check %s on %s:") and len(record.args) == 4:
            self.seconds[record.args[0]] = float(record.args[3])


@contextlib.contextmanager
def check_times():
    logger = logging.getLogger("l4agent.diagnostics.runner")
    handler, level, propagate = _CheckTimes(), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield handler.seconds
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def diagnose(config, prefixes: list[str]) -> dict:
    """One run: wall seconds, findings, errors, seconds per check."""
    from l4agent.diagnostics.runner import run_diagnostics

    with check_times() as per_check:
        started = time.perf_counter()
        result = run_diagnostics(config, prefixes)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "findings": len(result.findings), "errors": list(result.errors),
            "per_check": dict(per_check)}


def cold(server) -> None:
    """MariaDB: restart, so that no table definition is cached (what a daemon's first run, or a
    catalog beyond table_definition_cache, meets). PostgreSQL keeps its catalog in shared
    buffers and the OS cache either way: not restarted."""
    if server.engine == "mysql":
        server.restart()


def measure_point(catalog: Catalog, repeat: int, full_diagnose: bool) -> dict:
    cold(catalog.server)
    runs = [diagnose(catalog.config, ["schema"]) for _ in range(repeat)]
    # MariaDB: the first (cold) run is the figure; PostgreSQL: the median
    first = runs[0]["seconds"]
    median = statistics.median(r["seconds"] for r in runs)
    point = {"tables": catalog.tables, "extra_columns": catalog.extra,
             "columns": catalog.tables * (4 + catalog.extra),
             "schema_seconds": [r["seconds"] for r in runs],
             "schema_cold": first, "schema_warm_median": statistics.median(r["seconds"] for r in runs[1:] or runs),
             "schema_median": first if catalog.engine == "mysql" else median,
             "findings": runs[-1]["findings"], "errors": runs[-1]["errors"], "per_check": runs[0]["per_check"]}
    reset_statistics(catalog.server)
    diagnose(catalog.config, ["schema"])
    point["schema_cost"] = database_cost(catalog.server)
    if full_diagnose:
        # the capacity checks on a cold server (sizes: MariaDB's mysql.innodb_table_stats)
        cold(catalog.server)
        reset_statistics(catalog.server)
        capacity = diagnose(catalog.config, ["capacity"])
        point["capacity"] = {**capacity, "cost": database_cost(catalog.server)}
        reset_statistics(catalog.server)
        everything = diagnose(catalog.config, [])
        point["diagnose"] = {**everything, "cost": database_cost(catalog.server)}
    return point


def _servers(engines):
    from tests.support.dbservers import BinaryNotFound, MariaDbServer, PostgresServer

    made = {}
    for engine in engines:
        try:
            if engine == "postgresql":
                made[engine] = PostgresServer(extra_settings={"max_locks_per_transaction": "1024"})
            else:
                made[engine] = MariaDbServer()
        except BinaryNotFound as exc:
            made[engine] = exc
    return made


def measure(quick: bool, engines=("postgresql", "mysql"), log=print) -> tuple[dict, list[str]]:
    """Every curve on every engine whose server can run: {engine: {"tables": [...], "columns": [...]}}."""
    tables_steps = TABLES_QUICK if quick else TABLES_FULL
    column_steps, column_tables = (COLUMNS_QUICK, COLUMNS_TABLES_QUICK) if quick else (COLUMNS_FULL, COLUMNS_TABLES_FULL)
    repeat = 1 if quick else 3
    results, skipped = {}, []
    for engine, server in _servers(engines).items():
        if isinstance(server, Exception):
            skipped.append(f"{ENGINE_LABEL[engine]}: {server}")
            continue
        results[engine] = {"tables": [], "columns": []}
        with tempfile.TemporaryDirectory(prefix="l4bench-schema-") as directory:
            try:
                _measure_engine(server, Path(directory), results[engine], tables_steps, column_steps, column_tables,
                                repeat, log)
            except Exception as exc:  # noqa: BLE001 - keep what was measured, say where it stopped
                skipped.append(f"{ENGINE_LABEL[engine]}: stopped early: {str(exc).strip()[-300:]}")
            finally:
                server.close()
    return results, skipped


def _measure_engine(server, directory: Path, results: dict, tables_steps, column_steps, column_tables, repeat,
                    log) -> None:
    """Both curves on one server, into ``results`` point by point (kept if a later one fails)."""
    label = ENGINE_LABEL[server.engine]
    server.start()
    warm = Catalog(server, directory, f"{DATABASE}_warm")
    diagnose(warm.config, [])  # first connection, imports, server caches
    warm.drop()
    for extra in column_steps:  # small catalogs first: they are dropped again
        catalog = Catalog(server, directory, f"{DATABASE}_c{extra}", extra_columns=extra)
        catalog.grow(column_tables)
        point = measure_point(catalog, repeat, full_diagnose=False)
        results["columns"].append(point)
        log(f"  {label} {column_tables} tables x {4 + extra} columns: schema {point['schema_median']:.2f}s")
        catalog.drop()
    # Not dropped at the end: MariaDB takes many minutes to drop 50,000 tables; closing the
    # server deletes its data directory instead.
    catalog = Catalog(server, directory, DATABASE)
    for step in tables_steps:
        generated = catalog.grow(step)
        point = measure_point(catalog, repeat, full_diagnose=True)
        point["generate_seconds"] = generated
        results["tables"].append(point)
        log(f"  {label} {step} tables: schema {point['schema_median']:.2f}s"
            f"{' cold' if server.engine == 'mysql' else ''} (warm {point['schema_warm_median']:.2f}s), "
            f"capacity server {point['capacity']['cost']['exec_seconds']:.3f}s, "
            f"diagnose {point['diagnose']['seconds']:.2f}s (generated in {generated:.0f}s)")


# -- the report --------------------------------------------------------------------------------------

def _fit_rows(points: list[dict], x_key: str) -> dict:
    return curve_fit([p[x_key] for p in points], [p["schema_median"] for p in points])


def run(quick: bool) -> Report:
    report = Report("schema", quick)
    results, skipped = measure(quick)
    report.skipped.extend(skipped)
    if not results:
        raise Skip("; ".join(skipped) or "no database server")
    report.data = {"engines": results}
    engines = list(results)

    # schema checks vs tables (an engine that stopped early has fewer points: "-")
    by_tables = {e: {p["tables"]: p for p in results[e]["tables"]} for e in engines}
    steps = sorted({t for points in by_tables.values() for t in points})
    rows, notes = [], []
    for tables in steps:
        row = [str(tables)]
        for engine in engines:
            point = by_tables[engine].get(tables)
            row += ["-"] * 4 if point is None else [
                num(point["schema_median"]), num(point["schema_median"] * 1000 / tables, 3), str(point["findings"]),
                str(len(point["errors"]))]
        rows.append(row)
    both = all(e in engines for e in ("postgresql", "mysql"))
    for row, tables in zip(rows, steps, strict=True):
        pg, maria = by_tables.get("postgresql", {}).get(tables), by_tables.get("mysql", {}).get(tables)
        if both:
            row.append(num(maria["schema_median"] / pg["schema_median"]) if pg and maria else "-")
        for engine in engines:
            point = by_tables[engine].get(tables)
            row.append("-" if point is None or "capacity" not in point
                       else num(point["capacity"]["cost"]["exec_seconds"], 3))
    fits = {engine: _fit_rows(results[engine]["tables"], "tables") for engine in engines}
    pad = [""] * ((1 if both else 0) + len(engines))
    rows.append(["exponent (all)"] + sum([[num(fits[e]["slope"]), "", "", ""] for e in engines], []) + pad)
    rows.append(["exponent (upper half)"] + sum([[num(fits[e]["slope_top"]), "", "", ""] for e in engines], []) + pad)
    headers = (["tables"] + sum([[f"{ENGINE_LABEL[e]} s", "ms/table", "findings", "errors"] for e in engines], [])
               + (["MariaDB/PostgreSQL"] if both else [])
               + [f"capacity server s {ENGINE_LABEL[e]}" for e in engines])
    for engine in engines:
        notes.append(f"{ENGINE_LABEL[engine]}: {fits[engine]['verdict']}")
        at = [p for p in results[engine]["tables"] if p["tables"] == 20000]
        if at:
            seconds, target = at[0]["schema_median"], TARGET_SECONDS_AT_20000[engine]
            notes.append(f"{ENGINE_LABEL[engine]} at 20,000 tables: {seconds:.2f}s, target <= {target}s: "
                         f"{'met' if seconds <= target else 'MISSED by %.2fs' % (seconds - target)}")
            if "capacity" in at[0]:
                server_s = at[0]["capacity"]["cost"]["exec_seconds"]
                notes.append(f"{ENGINE_LABEL[engine]} capacity checks' server time at 20,000 tables: {server_s:.3f}s, "
                             f"target <= {TARGET_CAPACITY_SERVER_SECONDS}s: "
                             f"{'met' if server_s <= TARGET_CAPACITY_SERVER_SECONDS else 'MISSED'}")
    if both and 20000 in by_tables["postgresql"] and 20000 in by_tables["mysql"]:
        ratio = by_tables["mysql"][20000]["schema_median"] / by_tables["postgresql"][20000]["schema_median"]
        notes.append(f"MariaDB / PostgreSQL at 20,000 tables: {ratio:.2f}, target <= {TARGET_RATIO_AT_20000}: "
                     f"{'met' if ratio <= TARGET_RATIO_AT_20000 else 'MISSED'}")
    notes.append("MariaDB: the first run after a server restart (cold, default table_definition_cache); "
                 "PostgreSQL: median of the runs. capacity server s: the monitor's statements in one "
                 "capacity run, from pg_stat_statements / performance_schema")
    report.table(f"schema.* checks vs tables (catalog read + analysis, wall s, {1 if quick else 3} runs)",
                 headers, rows, notes)
    report.data["fits_tables"] = fits

    # the slowest checks at the largest catalog
    rows = []
    for engine in engines:
        if not results[engine]["tables"]:
            continue
        last = results[engine]["tables"][-1]
        for check, seconds in sorted(last["per_check"].items(), key=lambda kv: -kv[1])[:4]:
            rows.append([ENGINE_LABEL[engine], str(last["tables"]), check, num(seconds)])
    report.table("Slowest schema checks at the largest catalog (the first one run also reads the catalog)",
                 ["engine", "tables", "check", "s"], rows)

    # schema checks vs columns
    rows = []
    column_points = {e: results[e]["columns"] for e in engines if results[e]["columns"]}
    if column_points:
        by_extra = {e: {p["extra_columns"]: p for p in points} for e, points in column_points.items()}
        for extra in sorted({x for points in by_extra.values() for x in points}):
            point = next(points[extra] for points in by_extra.values() if extra in points)
            row = [str(point["tables"]), str(4 + extra), str(point["columns"])]
            for engine in column_points:
                other = by_extra[engine].get(extra)
                row.append("-" if other is None else num(other["schema_median"]))
            rows.append(row)
        column_fits = {e: _fit_rows(points, "columns") for e, points in column_points.items()}
        rows.append(["exponent (all)", "", ""] + [num(column_fits[e]["slope"]) for e in column_points])
        rows.append(["exponent (upper half)", "", ""] + [num(column_fits[e]["slope_top"]) for e in column_points])
        report.table("schema.* checks vs columns per table (wall s)",
                     ["tables", "columns/table", "columns"] + [f"{ENGINE_LABEL[e]} s" for e in column_points], rows,
                     [f"{ENGINE_LABEL[e]}: {column_fits[e]['verdict']}" for e in column_points])
        report.data["fits_columns"] = column_fits

    # the database's own cost
    rows = []
    for engine in engines:
        for point in results[engine]["tables"]:
            costs = [("schema", point["schema_cost"])]
            if "capacity" in point:
                costs.append(("capacity (cold)", point["capacity"]["cost"]))
            for label, cost in (*costs, ("all checks", point["diagnose"]["cost"])):
                rows.append([ENGINE_LABEL[engine], str(point["tables"]), label, str(cost["calls"]),
                             num(cost["exec_seconds"], 3), str(cost["rows"]),
                             "-" if cost["blocks"] is None else str(cost["blocks"])])
    report.table("What the diagnose queries cost the database (monitor user's statements, one run)",
                 ["engine", "tables", "checks", "calls", "server s", "rows", "blocks"], rows,
                 ["rows: PostgreSQL rows returned (pg_stat_statements.rows); MariaDB rows examined "
                  "(performance_schema, by statement kind: its ODBC driver's prepared statements have no digest)",
                  "blocks: PostgreSQL shared blocks hit + read"])

    # the full diagnose
    rows = []
    for engine in engines:
        for point in results[engine]["tables"]:
            run_ = point["diagnose"]
            slowest = sorted(run_["per_check"].items(), key=lambda kv: -kv[1])[:2]
            rows.append([ENGINE_LABEL[engine], str(point["tables"]), num(run_["seconds"]), str(run_["findings"]),
                         str(len(run_["errors"])), ", ".join(f"{c} {s:.2f}s" for c, s in slowest)])
    report.table("Full diagnose (every check) vs tables", ["engine", "tables", "s", "findings", "errors", "slowest checks"],
                 rows)
    for engine in engines:
        for point in results[engine]["tables"]:
            for error in point["diagnose"]["errors"] + point["errors"]:
                report.notes.append(f"{ENGINE_LABEL[engine]} {point['tables']} tables: error {error}")
    return report


def main(counts: list[int]) -> None:
    """Standalone: PostgreSQL schema checks at each table count."""
    global TABLES_FULL, COLUMNS_FULL
    TABLES_FULL, COLUMNS_FULL = tuple(counts), ()
    results, skipped = measure(False, engines=("postgresql",), log=lambda line: print(line, file=sys.stderr))
    print(f"{'tables':>8}  {'checks s':>9}  {'findings':>8}  {'generate s':>10}")
    for point in results.get("postgresql", {}).get("tables", []):
        print(f"{point['tables']:>8}  {point['schema_median']:>9.2f}  {point['findings']:>8}  "
              f"{point['generate_seconds']:>10.1f}", flush=True)
    for reason in skipped:
        print(f"skipped: {reason}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or list(TABLES_QUICK))
