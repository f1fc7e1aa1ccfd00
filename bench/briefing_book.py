"""Briefing-book timings (`python -m bench --report`): the company book for a month in a fresh process, and every
region's book in one `--each-region` run (one Chromium for all), as `python -m report` prints them."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK_LINE = re.compile(r": (\d{4}-\d{2}), (.+), ([\d.]+) s$")


def _run(args: list[str]) -> tuple[float, list[tuple[str, float]]]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "report", *args], cwd=ROOT, check=True, capture_output=True, text=True)
    books = [(m.group(2), float(m.group(3))) for m in map(BOOK_LINE.search, done.stderr.splitlines()) if m]
    return time.perf_counter() - started, books


def briefing_books(db: Path, month: str, lang: str = "zh") -> dict:
    with tempfile.TemporaryDirectory() as out:
        company_wall, company = _run(["--db", str(db), "--month", month, "--lang", lang,
                                      "--out", str(Path(out) / "company.pdf")])
        regions_wall, regions = _run(["--db", str(db), "--month", month, "--lang", lang, "--each-region",
                                      "--out", str(Path(out) / "regions")])
    seconds = [s for _name, s in regions]
    return {"warehouse": str(db), "month": month, "lang": lang, "company_wall": company_wall,
            "company_book": company[0][1], "regions_wall": regions_wall, "regions": len(regions),
            "region_median": sorted(seconds)[len(seconds) // 2], "region_max": max(seconds),
            "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def briefing_book_lines(run: dict | None) -> list[str]:
    """The briefing book's section of RESULTS.md."""
    if not run:
        return []
    return [
        "## Briefing book (PDF)", "",
        f"`python -m report --month {run['month']} --lang {run['lang']}` on `{run['warehouse']}`, measured "
        f"{run['at']}: the company book {run['company_book']:.1f} s (gathering the figures and printing through "
        f"Chromium), {run['company_wall']:.1f} s for the whole fresh process (imports and Chromium's start "
        f"included). `--each-region`: {run['regions']} region books in {run['regions_wall']:.1f} s, each "
        f"{run['region_median']:.1f} s (median), at most {run['region_max']:.1f} s.", ""]
