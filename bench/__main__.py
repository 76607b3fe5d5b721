"""``python -m bench --scale small|full [--only NAME] [--db sqlite|postgres] [--database-url URL]``

Runs every benchmark of BENCHMARKS (later issues append theirs), then prints one table: each
figure beside its target, OK or MISS (BELOW for a measurement, such as ``ceiling``'s ratios, which
never fails the run). Exit status 1 when a target is missed or a benchmark fails.
``small`` keeps each issue's data size and times fewer requests; ``full`` times more.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sqlite3
import sys
import time
import traceback

from bench.common import BenchError, Context, Result

BENCHMARKS = (
    "bench.bench_pages",
    "bench.bench_audiences",
    "bench.bench_notifications",
    "bench.bench_feed",
    "bench.bench_events",
    "bench.bench_fvt",
    "bench.bench_fvt_tab",
    "bench.bench_documents",
    "bench.bench_ceiling",
)


def print_table(results: list[Result]) -> None:
    rows = [("benchmark", "figure", "target", "")] + [
        (r.benchmark, r.figure, r.target, "OK" if r.ok else ("BELOW" if r.advisory else "MISS")) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for k, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths) + "  ----")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[2])
    parser.add_argument("--scale", choices=("small", "full"), default="small")
    parser.add_argument("--only", metavar="NAME", help="run only this benchmark (e.g. pages)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite",
                        help="postgres: the database of INTRANET_BENCH_POSTGRES_URL or INTRANET_TEST_POSTGRES_URL "
                             "(its schema public is dropped)")
    parser.add_argument("--database-url", metavar="URL",
                        help="postgresql+psycopg://…: --db postgres on that database (instead of the variables)")
    args = parser.parse_args(argv)
    if args.database_url:
        os.environ["INTRANET_BENCH_POSTGRES_URL"] = args.database_url  # read by bench.common.postgres_url
        args.db = "postgres"

    modules = [importlib.import_module(name) for name in BENCHMARKS]
    if args.only:
        modules = [m for m in modules if m.NAME == args.only]
        if not modules:
            parser.error(f"no benchmark named {args.only!r}; known: "
                         f"{', '.join(importlib.import_module(n).NAME for n in BENCHMARKS)}")

    ctx = Context(scale=args.scale, db=args.db)
    print(f"bench: scale {ctx.scale}, database {ctx.db}"
          + (f" (SQLite {sqlite3.sqlite_version})" if ctx.db == "sqlite" else "")
          + f", Python {platform.python_version()}, {os.cpu_count()} CPU, one process, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print("bench: the machine is busy (load above the CPU count): timings will be higher than on an idle one")
    results: list[Result] = []
    failed = False
    for module in modules:
        start = time.perf_counter()
        try:
            results.extend(module.run(ctx))
        except BenchError as exc:
            print(f"[{module.NAME}] cannot run: {exc}", file=sys.stderr)
            failed = True
        except Exception:
            traceback.print_exc()
            print(f"[{module.NAME}] failed", file=sys.stderr)
            failed = True
        print(f"[{module.NAME}] done in {time.perf_counter() - start:.1f} s")
    print()
    print_table(results)
    missed = sum(not r.ok and not r.advisory for r in results)
    below = sum(not r.ok and r.advisory for r in results)
    print()
    print(f"{len(results) - missed - below} OK, {missed} MISS"
          + (f", {below} BELOW (measurements)" if below else "") + (", a benchmark failed" if failed else "")
          + f"; load average {os.getloadavg()[0]:.1f} at the end")
    if any(r.timing and not r.ok and not r.advisory for r in results) and os.getloadavg()[0] > (os.cpu_count() or 1):
        print("A timing missed while the machine was busy: compare with the CPU p95 printed above, "
              "and run again on an idle machine before blaming the code.")
    return 1 if missed or failed else 0


if __name__ == "__main__":
    sys.exit(main())
