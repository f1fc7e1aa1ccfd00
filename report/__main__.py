"""python -m report: write the monthly briefing book(s) as PDF.

    python -m report --month 2026-10 --out book.pdf                        # the company book, in English
    python -m report --month 2026-10 --region 台州 --lang zh --out books/    # one region, in Chinese
    python -m report --month last --each-region --out books/                # one book per region
    python -m report --month last --user li_na --out books/                 # as li_na sees the data
    python -m report --month last --if-first-working-day --out books/       # from cron: only on the first working day
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
from pathlib import Path

import metrics
import store
from dashboard import i18n
from dashboard.users import USERS_FILE, Identity, UsersFileError, identity_for, read_users
from metrics import warehouse
from metrics.filters import Filters
from metrics.scorecard import load_config
from report import gather, printer, render
from report.notes import Reader, book_notes, store_url
from report.schedule import first_working_day, last_month

ROOT = Path(__file__).resolve().parent.parent
WAREHOUSE = Path(os.environ.get("SCORECARD_WAREHOUSE", ROOT / "data" / "warehouse.duckdb"))


def month_arg(text: str) -> str | dt.date:
    if text == "last":
        return text
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a month: write YYYY-MM (e.g. 2026-10) or 'last'") from None


def file_name(month: dt.date, scope: tuple[str, ...] | None, lang: str) -> str:
    """briefing_2026-10_company_en.pdf; region names kept (they are Chinese), path separators and the like not."""
    place = "company" if scope is None else "+".join(scope)
    place = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", place).lstrip(".") or "region"
    return f"briefing_{month:%Y-%m}_{place}_{lang}.pdf"


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m report", description="Write the monthly briefing book as PDF.")
    ap.add_argument("--month", type=month_arg, required=True, help="YYYY-MM, or 'last' for the month just ended")
    ap.add_argument("--region", action="append", help="a region's book (repeat for several regions in one book)")
    ap.add_argument("--each-region", action="store_true", help="one book per region (--out is a folder)")
    ap.add_argument("--lang", choices=sorted(i18n.LANGUAGES), default=i18n.DEFAULT_LANGUAGE)
    ap.add_argument("--user", help="build the book as this user of the users file sees the data")
    ap.add_argument("--users-file", type=Path, default=USERS_FILE, help=f"default {USERS_FILE}")
    ap.add_argument("--db", type=Path, default=WAREHOUSE, help=f"warehouse file (default {WAREHOUSE})")
    ap.add_argument("--if-first-working-day", action="store_true",
                    help="do nothing unless today is the first working day of the month (for cron / systemd timers)")
    ap.add_argument("--out", type=Path, required=True, help="a .pdf file, or a folder for the books")
    return ap


def main(argv: list[str] | None = None, today: dt.date | None = None) -> int:
    args = parser().parse_args(argv)
    today = today or dt.date.today()
    if args.each_region and args.region:
        raise SystemExit("--each-region writes every region's book; leave out --region, or drop --each-region")
    if args.each_region and args.out.suffix.lower() == ".pdf":
        raise SystemExit(f"--each-region writes several books: --out must be a folder, not {args.out}")
    try:
        con = metrics.connect(args.db)
    except (FileNotFoundError, metrics.WarehouseOutdated) as exc:
        raise SystemExit(str(exc)) from None
    if args.if_first_working_day:
        first = first_working_day(con, today)
        if today != first:
            print(f"Today ({today:%Y-%m-%d}) is not the first working day of the month ({first:%Y-%m-%d}); "
                  "no book written.", file=sys.stderr)
            return 0

    base = Filters(start=today, end=today)
    reader: str | None = None
    actor: Reader | Identity = Reader()
    if args.user:
        try:
            users = read_users(args.users_file)
        except UsersFileError as exc:
            raise SystemExit(str(exc)) from None
        if args.user not in users.users:
            raise SystemExit(f"{args.users_file}: no user named '{args.user}'")
        who = identity_for(args.user, users.users[args.user], warehouse.service_center_regions(con))
        base = base.model_copy(update={"allowed_regions": who.allowed_regions,
                                       "allowed_service_centers": who.allowed_service_centers})
        reader, actor = who.display_name, who
    visible = warehouse.dimension_values(con, base.allowed_regions)["region"]
    if args.region:
        hidden = [r for r in args.region if r not in visible]
        if hidden:
            whose = f"user '{args.user}' may not see" if args.user else "the warehouse has no"
            raise SystemExit(f"{whose} region {', '.join(hidden)}; regions: {', '.join(visible)}")

    if args.month == "last":
        try:
            span = warehouse.data_range(con)
            month, note = last_month(span[1] if span else None, today)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
        if note:
            print(f"Note: {note}.", file=sys.stderr)
    else:
        month = args.month

    scopes: list[tuple[str, ...] | None]
    if args.each_region:
        scopes = [(r,) for r in visible]
    elif args.region:
        scopes = [tuple(sorted(set(args.region)))]
    else:  # the company book, or all that a limited user may see
        scopes = [None if base.allowed_regions is None else tuple(visible)]
    if args.out.suffix.lower() == ".pdf":
        targets = [args.out]
        args.out.parent.mkdir(parents=True, exist_ok=True)
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        targets = [args.out / file_name(month, scope, args.lang) for scope in scopes]

    config = load_config()
    try:
        notes = store.open(store_url(args.db))
    except Exception as exc:  # a store that cannot be opened: say which and why, write no book without its commentary
        raise SystemExit(f"the application store at {store_url(args.db)} cannot be opened: {exc}") from None
    with printer() as out:
        for scope, target in zip(scopes, targets):
            started = time.perf_counter()
            f = base if scope is None else base.model_copy(update={"regions": scope})
            commentary, actions = book_notes(notes, actor, month, scope)
            book = gather(con, month, f, config, scope=scope, reader=reader, commentary=commentary, actions=actions)
            target.write_bytes(render(book, args.lang, out))
            print(f"{target}: {month:%Y-%m}, {'company' if scope is None else ', '.join(scope)}, "
                  f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
