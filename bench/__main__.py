"""Benchmark: `python -m bench --customers 1000000` generates the demo at scale, loads it with the real importer,
times every page's metric set cold and warm, compares a core set with plain pandas, and writes bench/RESULTS.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.pages import PAGE_STEPS
from bench.pandas_baseline import PAGE_SETS as PAGE_SETS_FOR_RESULTS

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("default", "one_region", "one_tier")


def median_p90(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), float(np.percentile(values, 90))


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPUs, {memory:.0f} GiB memory, {platform.machine()}, Python {platform.python_version()}"


def generate(out: Path, customers: int, tickets_per_customer: float) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ingest", "demo", "--out", str(out), "--customers", str(customers),
                    "--tickets-per-customer", str(tickets_per_customer)], check=True, cwd=ROOT)
    return time.perf_counter() - started


def load(out: Path, db: Path) -> dict:
    report = db.with_suffix(".json")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ingest", "load", str(out), "--db", str(db), "--report", str(report)],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    tables = json.loads(report.read_text(encoding="utf-8"))["tables"]
    rows = sum(t["read"] for t in tables.values())
    return {"seconds": seconds, "rows": rows, "rows_per_second": rows / seconds, "peak_mib": peak, "tables": tables}


def page_runs(db: Path, repeats: int) -> list[dict]:
    results = []
    for page in PAGE_STEPS:
        for variant in VARIANTS:
            colds, warm, peak = [], [], 0.0
            for i in range(repeats):
                out = subprocess.run([sys.executable, "-m", "bench.run_page", str(db), page, variant,
                                      str(repeats if i == 0 else 0)], check=True, cwd=ROOT, capture_output=True,
                                     text=True).stdout.strip().splitlines()[-1]
                run = json.loads(out)
                colds.append(run["cold"])
                warm.extend(run["warm"])
                peak = max(peak, run["peak_mib"])
            results.append({"page": page, "variant": variant, "cold": median_p90(colds), "warm": median_p90(warm),
                            "peak_mib": peak})
            print(f"{page:16} {variant:11} cold median {results[-1]['cold'][0]:.3f} s, warm {results[-1]['warm'][0]:.4f} s",
                  flush=True)
    return results


def pandas_comparison(db: Path, repeats: int) -> dict:
    """Each page's headline numbers in plain pandas (median of up to 3 runs; the tables already in memory) and with
    the metrics package (median of `repeats` runs, each on a fresh connection, nothing cached), and whether they
    agree."""
    import metrics
    from bench.pandas_baseline import PAGE_SETS, load_frames, mismatches, page_duckdb, page_pandas
    from bench.run_page import filters_for
    from dashboard import data

    data.WAREHOUSE = db
    f = filters_for("default")
    frames, load_seconds = load_frames(str(db))
    pages = {}
    for page in PAGE_SETS:
        pandas_times = []
        for _ in range(min(repeats, 3)):
            started = time.perf_counter()
            expected = page_pandas(frames, f, page)
            pandas_times.append(time.perf_counter() - started)
        pandas_seconds = statistics.median(pandas_times)
        fresh, open_ = [], []
        for _ in range(repeats):
            with metrics.connect(db) as con:
                for times in (fresh, open_):  # first on the fresh connection, then again on it (still no result cache)
                    started = time.perf_counter()
                    actual = page_duckdb(con, f, page)
                    times.append(time.perf_counter() - started)
        pages[page] = {"pandas": pandas_seconds, "duckdb": statistics.median(fresh),
                       "duckdb_open": statistics.median(open_), "mismatches": mismatches(expected, actual)}
        print(f"{page:16} pandas {pandas_seconds:.2f} s, metrics {pages[page]['duckdb']:.3f} s "
              f"({pages[page]['duckdb_open']:.3f} s on an open connection)", flush=True)
    return {"pandas_load_seconds": load_seconds, "pages": pages}


def browser_cold_start(db: Path, chromium: str = "/usr/bin/chromium") -> dict | None:
    """Seconds from starting `streamlit run` to the scorecard's title, its first KPI tile and the whole page, in
    headless Chromium. The browser is started first: its own start is not part of the app's cold start."""
    if not Path(chromium).exists():
        return None
    import socket
    import urllib.request

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                                                    "--disable-background-networking"])
        page = browser.new_page()
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                   "--server.headless", "true"], cwd=ROOT,
                                  env=dict(os.environ, SCORECARD_WAREHOUSE=str(db)),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("h1", timeout=120_000)
            title = time.perf_counter() - started
            page.wait_for_selector("[data-testid=stMetric]", timeout=120_000)
            first_tile = time.perf_counter() - started
            page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=300_000)
            whole = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait()
            browser.close()
    return {"title": title, "first_tile": first_tile, "whole_page": whole}


def browser_cold_starts(db: Path, repeats: int) -> dict | None:
    """Median of each browser timing over `repeats` cold starts."""
    runs = [browser_cold_start(db) for _ in range(repeats)]
    if runs[0] is None:
        return None
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def write_results(path: Path, args, generation: float | None, loaded: dict, pages: list[dict], compare: dict,
                  browser: dict | None) -> None:
    lines = [
        "# Benchmark results", "",
        f"Produced by `python -m bench --customers {args.customers}` on {machine()}.", "",
        "## Generation and load", "",
        f"- Demo exports for {args.customers:,} customers: " +
        (f"generated in {generation:.0f} s." if generation is not None else "reused from an earlier run."),
        f"- Load with the real importer: {loaded['rows']:,} rows in {loaded['seconds']:.1f} s = "
        f"**{loaded['rows_per_second']:,.0f} rows/s**, peak memory {loaded['peak_mib']:,.0f} MiB.", "",
        "| table | rows |", "|---|---|",
        *[f"| {t} | {v['read']:,} |" for t, v in loaded["tables"].items()], "",
        "## Page metric sets", "",
        f"Cold: a fresh process, nothing cached (median and p90 of {args.repeats} processes). Warm: the same calls "
        "again through the app's `st.cache_data` functions.", "",
        "| page | filters | cold median (s) | cold p90 (s) | warm median (s) | warm p90 (s) | peak memory (MiB) |",
        "|---|---|---|---|---|---|---|",
        *[f"| {r['page']} | {r['variant']} | {r['cold'][0]:.3f} | {r['cold'][1]:.3f} | {r['warm'][0]:.4f} | "
          f"{r['warm'][1]:.4f} | {r['peak_mib']:,.0f} |" for r in pages], "",
        "## Scorecard in the browser after a cold start", "",
        (f"Seconds from `streamlit run` to, in headless Chromium already running (median of {args.repeats} starts): "
         "the page title "
         f"{browser['title']:.1f} s, the first KPI tile {browser['first_tile']:.1f} s, the whole page "
         f"{browser['whole_page']:.1f} s." if browser else "Not measured: no Chromium at /usr/bin/chromium."), "",
        "## Against plain pandas", "",
        "Each page's headline numbers (the scorecard's KPIs, the other pages' tiles, and the complaints page's "
        "breakdowns; `bench/pandas_baseline.py`) "
        "under the default filters, written again in plain pandas on the loaded tables (read into DataFrames "
        f"once, {compare['pandas_load_seconds']:.1f} s, not counted) and computed by the metrics package on a fresh "
        "connection with nothing cached, and again on that connection once open (the app keeps one open; "
        "no results cached either way). Medians:", "",
        "| page | numbers | pandas (s) | metrics, fresh connection (s) | ratio | metrics, open connection (s) "
        "| ratio | same numbers |", "|---|---|---|---|---|---|---|---|",
        *[f"| {page} | {', '.join(PAGE_SETS_FOR_RESULTS[page])} | {r['pandas']:.3f} | {r['duckdb']:.3f} | "
          f"**{r['pandas'] / r['duckdb']:.1f}x** | {r['duckdb_open']:.3f} | {r['pandas'] / r['duckdb_open']:.1f}x | "
          f"{'yes' if not r['mismatches'] else 'NO: ' + json.dumps(r['mismatches'], ensure_ascii=False)} |"
          for page, r in compare["pages"].items()], "",
    ]
    history = path.parent / "HISTORY.md"
    if history.exists():
        lines.append(history.read_text(encoding="utf-8"))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--tickets-per-customer", type=float, default=10.0)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work", help="folder for exports and warehouse")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="reuse exports already in --work")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    exports, db = args.work / "exports", args.work / "warehouse.duckdb"
    generation = None if args.reuse and exports.exists() else generate(exports, args.customers, args.tickets_per_customer)
    loaded = load(exports, db)
    print(f"loaded {loaded['rows']:,} rows at {loaded['rows_per_second']:,.0f} rows/s", flush=True)
    pages = page_runs(db, args.repeats)
    compare = pandas_comparison(db, args.repeats)
    browser = browser_cold_starts(db, args.repeats)
    write_results(args.results, args, generation, loaded, pages, compare, browser)
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
