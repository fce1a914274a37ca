"""Schema checks vs catalog size: seconds for all eight ``schema.*`` checks on PostgreSQL
catalogs of growing table counts (read in five set-based statements, analysed in Python).

Starts a throwaway PostgreSQL (tests/support), generates N ERP-like tables per step with the
tests' set-based generator (families of 120 monthly tables, 1 in 20 with a primary key, 1 in 20
with a foreign key), and times ``run_diagnostics(config, ["schema"])`` on it: the catalog read
plus the analysis, as ``l4agent diagnose --check schema`` does (median of the repetitions).

    python -m bench schema [--quick]         with the other benchmarks' report and JSON
    .venv/bin/python bench/schema_scale.py [N ...]   just the table
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diagnostics.runner import run_diagnostics  # noqa: E402
from tests.diagnostics.schema_support import generate_tables_sql, planted  # noqa: E402
from tests.support.dbservers import BinaryNotFound, PostgresServer  # noqa: E402

FULL = (1000, 5000, 20000, 40000)
QUICK = (1000, 5000, 20000)


def measure(counts, repeat: int) -> list[dict]:
    """One row per table count: generation seconds, check seconds (each run), findings."""
    server = PostgresServer()
    server.start()
    rows = []
    try:
        for count in counts:
            with tempfile.TemporaryDirectory(prefix="l4bench-schema-") as directory:
                started = time.monotonic()
                with planted(server, [generate_tables_sql(count)], Path(directory)) as erp:
                    generated = time.monotonic() - started
                    runs, findings = [], 0
                    for _ in range(repeat):
                        started = time.monotonic()
                        result = run_diagnostics(erp.config, ["schema"])
                        runs.append(time.monotonic() - started)
                        if result.errors:
                            raise RuntimeError(f"schema checks failed on {count} tables: {result.errors}")
                        findings = len(result.findings)
                    rows.append({"tables": count, "generate_seconds": generated, "check_seconds": runs,
                                 "findings": findings})
                    print(f"  {count} tables: {statistics.median(runs):.2f}s", file=sys.stderr, flush=True)
    finally:
        server.close()
    return rows


def run(quick: bool):
    from bench.common import Report, Skip, curve_fit

    try:
        rows = measure(QUICK if quick else FULL, 1 if quick else 3)
    except BinaryNotFound as exc:
        raise Skip(str(exc)) from None
    report = Report("schema", quick)
    medians = [statistics.median(r["check_seconds"]) for r in rows]
    fit = curve_fit([r["tables"] for r in rows], medians)
    report.table(
        "schema.* checks on PostgreSQL (catalog read + analysis, median)",
        ["tables", "checks s", "ms/table", "findings", "generate s"],
        [[r["tables"], f"{m:.2f}", f"{m * 1000 / r['tables']:.3f}", r["findings"], f"{r['generate_seconds']:.1f}"]
         for r, m in zip(rows, medians, strict=True)],
        notes=[f"growth: {fit['verdict']} (exponent {fit['slope_top'] or 0:.2f} over the top two sizes)"])
    report.data = {"rows": rows, "fit": fit}
    return report


def main(counts: list[int]) -> None:
    print(f"{'tables':>8}  {'checks s':>9}  {'findings':>8}  {'generate s':>10}")
    for row in measure(counts, 1):
        print(f"{row['tables']:>8}  {row['check_seconds'][0]:>9.2f}  {row['findings']:>8}  "
              f"{row['generate_seconds']:>10.1f}", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or list(QUICK))
