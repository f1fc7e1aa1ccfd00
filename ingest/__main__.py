"""Command line: `python -m ingest demo ...` writes demo exports; `python -m ingest load ...` loads exports."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from ingest.demo import generate, last_full_month, split_increment
from ingest.errors import LoadError
from ingest.load import WAIT_SECONDS, LoadReport, load, rebuild_model
from ingest.mapping import load_mapping


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a month; use YYYY-MM") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Load the marketing and customer-service exports into the scorecard's DuckDB warehouse.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="write deterministic demo export files",
                          description="Write demo exports (CSV in GB18030/UTF-8/UTF-16, Excel) that load like real "
                                      "ones.")
    demo.add_argument("--out", type=Path, required=True, help="folder to write the export files to")
    demo.add_argument("--customers", type=int, default=5000, help="number of customer accounts (default 5000)")
    demo.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same files (default 7)")
    demo.add_argument("--end-month", type=_month, default=None,
                      help=f"last month of the three years, YYYY-MM (default: last full month, "
                           f"{last_full_month():%Y-%m})")
    demo.add_argument("--tickets-per-customer", type=float, default=10.0,
                      help="average service tickets per customer over the three years (default 10)")

    inc = sub.add_parser("demo-increment", help="split demo exports into a base and the last month's increment",
                         description="Split demo exports into what was exported a month earlier (--base) and the "
                                     "last month's increment (--increment): its bills, and its tickets with the "
                                     "earlier ones still open at its start in their final state. Load the base, then "
                                     "append the increment (--mode append).")
    inc.add_argument("exports", type=Path, help="folder of demo exports (python -m ingest demo)")
    inc.add_argument("--base", type=Path, required=True, help="folder to write the base to (other files are linked)")
    inc.add_argument("--increment", type=Path, required=True, help="folder to write the increment to")

    ld = sub.add_parser("load", help="validate export files and load them into a warehouse",
                        description="Validate export files against the table contracts and load them. "
                                    "Rows that break a rule are kept in the `rejects` table with their reason. "
                                    "Nothing is committed if a file cannot be used at all.")
    ld.add_argument("paths", nargs="+", type=Path, help="export files, or folders holding them")
    ld.add_argument("--db", type=Path, required=True,
                    help="warehouse file to build or update, e.g. data/warehouse.duckdb")
    ld.add_argument("--mode", choices=("replace", "append"), default="replace",
                    help="replace: full reload (default); append: add a monthly increment, updating rows whose key "
                         "exists")
    ld.add_argument("--mapping", type=Path, help="TOML file mapping this source's own headers to contract columns")
    ld.add_argument("--report", type=Path, help="also write the load report as JSON to this file")
    ld.add_argument("--wait", type=float, default=WAIT_SECONDS, metavar="SECONDS",
                    help=f"if another load of this warehouse is running, wait this long for it, then refuse "
                         f"(default {WAIT_SECONDS}; 0 refuses at once)")

    rb = sub.add_parser("rebuild", help="rebuild the query model of a warehouse after upgrading the scorecard",
                        description="Rebuild the derived tables (facts, roll-ups, tier snapshots, calendar) from the "
                                    "data already loaded; nothing is re-read from the exports.")
    rb.add_argument("--db", type=Path, required=True, help="warehouse file to rebuild")
    rb.add_argument("--wait", type=float, default=WAIT_SECONDS, metavar="SECONDS",
                    help=f"if a load of this warehouse is running, wait this long for it, then refuse "
                         f"(default {WAIT_SECONDS})")
    return parser


def print_summary(report: LoadReport) -> None:
    print(f"Load {report.load_id} ({report.mode}) committed in {report.duration_seconds:.1f} s"
          + (f"; warehouse written {report.swap}; query model built {report.model}" if report.swap else ""))
    print(f"{'table':<16}{'read':>12}{'loaded':>12}{'rejected':>10}{'superseded':>12}{'skipped':>9}")
    for table, row in report.tables().items():
        print(f"{table:<16}{row['read']:>12,}{row['loaded']:>12,}{row['rejected']:>10,}"
              f"{row['superseded']:>12,}{row['skipped']:>9,}")
    for table, reasons in report.top_reasons.items():
        print(f"\nTop reject reasons in {table}:")
        for reason, rows in reasons:
            print(f"  {rows:>8,}  {reason}")
    for f in report.files:
        print(f"\n{f.file} ({f.table}):")
        for line in f.notes():
            print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        started = time.perf_counter()
        files = generate(args.out, customers=args.customers, seed=args.seed, end_month=args.end_month,
                         tickets_per_customer=args.tickets_per_customer)
        print(f"Wrote {len(files)} files to {args.out} in {time.perf_counter() - started:.1f} s:")
        for path in files:
            print(f"  {path.name}")
        return 0
    if args.command == "demo-increment":
        base, increment = split_increment(args.exports, args.base, args.increment)
        print(f"Base: {len(base)} files in {args.base}; increment: {', '.join(p.name for p in increment)} "
              f"in {args.increment}")
        return 0
    if args.command == "rebuild":
        try:
            seconds = rebuild_model(args.db, wait_seconds=args.wait)
        except LoadError as exc:
            print(f"Nothing was rebuilt: {exc}", file=sys.stderr)
            return 1
        steps = ", ".join(f"{step} {s:.1f} s" for step, s in seconds.items())
        print(f"{args.db}: query model rebuilt in {sum(seconds.values()):.1f} s ({steps})")
        return 0
    try:
        report = load(args.paths, args.db, mode=args.mode, mapping=load_mapping(args.mapping), wait_seconds=args.wait,
                      progress=lambda event: print(event.message, file=sys.stderr, flush=True))
    except LoadError as exc:
        if args.report:
            args.report.write_text(json.dumps({"ok": False, "tables": {}, "error": str(exc)}, ensure_ascii=False,
                                              indent=2))
        print(f"Nothing was loaded: {exc}", file=sys.stderr)
        return 1
    print_summary(report)
    if args.report:
        args.report.write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
