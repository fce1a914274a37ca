"""``python -m bench [NAME...] [--quick]``: run the benchmarks, print their tables, write JSON.

With no NAME every benchmark runs, in the order listed by ``--list``. ``--quick`` runs a
shorter variant of each (fewer repetitions, smaller curves, 60s instead of 5 minutes).
Exit status: 0 when every benchmark ran (or was skipped with a reason), 1 when one failed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from bench.common import REPO, RESULTS, Report, Skip, machine, print_report, versions, write_json

# name -> module with run(quick: bool) -> Report; cheapest first.
BENCHMARKS = {
    "coldstart": "bench.coldstart",
    "scrape": "bench.scrape",
    "growth": "bench.growth",
    "steady": "bench.steady",
    "schema": "bench.schema_scale",
    "fleet": "bench.fleet",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="shorter runs (smaller N, 60s steady state)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--results", metavar="DIR", default=None,
                        help=f"write the JSON here instead of {RESULTS.relative_to(REPO)}/")
    args = parser.parse_args(argv)
    if args.list:
        for name, module in BENCHMARKS.items():
            doc = (importlib.import_module(module).__doc__ or "").strip().splitlines()[0]
            print(f"{name:10} {doc}")
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    context = {"machine": machine(), "versions": versions()}
    print("machine: {cpu_model}, {cores} cores, {ram} GiB RAM, kernel {kernel}, load {load}".format(
        ram=round((context["machine"]["ram_bytes"] or 0) / 2**30, 1),
        load=" ".join(f"{x:.2f}" for x in context["machine"]["loadavg_at_start"]), **context["machine"]))
    print("versions: " + ", ".join(f"{k} {v}" for k, v in context["versions"].items() if v))
    failed = []
    for name in args.names or list(BENCHMARKS):
        started = time.monotonic()
        try:
            report = importlib.import_module(BENCHMARKS[name]).run(args.quick)
        except Skip as exc:
            report = Report(name, args.quick, skipped=[str(exc)])
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
            continue
        report.seconds = time.monotonic() - started
        print_report(report)
        path = write_json(report, context, Path(args.results) if args.results else RESULTS)
        print(f"results: {path}", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
