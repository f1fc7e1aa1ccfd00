"""Benchmark: `python -m bench --customers 1000000` generates the demo at scale, loads it with the real importer,
times every page's metric set cold and warm, compares a core set with plain pandas, and writes bench/RESULTS.md.
`python -m bench --load-test` only runs the load test (many sessions at once on loopback, bench/load_test.py) and
adds its figures to the same results."""

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
from typing import Any

import numpy as np

from bench.briefing_book import briefing_book_lines, briefing_books
from bench.pages import PAGE_STEPS
from bench.pandas_baseline import PAGE_SETS

ROOT = Path(__file__).resolve().parent.parent
LOADING = ROOT / "bench" / "LOADING.json"  # the load benchmarks' measurements (bench/loading.py)
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
    loaded = json.loads(report.read_text(encoding="utf-8"))
    rows = sum(t["read"] for t in loaded["tables"].values())
    return {"seconds": seconds, "rows": rows, "rows_per_second": rows / seconds, "peak_mib": peak,
            "tables": loaded["tables"], "phases": loaded["phase_seconds"]}


def phase_summary(phases: dict[str, float]) -> str:
    """The importer's own timings: reading the files, checking and loading the tables, and each query-model step."""
    read = sum(s for name, s in phases.items() if name.startswith("read "))
    check = sum(s for name, s in phases.items() if name.startswith("check and load "))
    model = {name.removeprefix("query model: "): s for name, s in phases.items() if name.startswith("query model: ")}
    steps = ", ".join(f"{name} {s:.0f}" for name, s in sorted(model.items(), key=lambda kv: -kv[1]))
    return (f"Reading and decoding the files {read:.0f} s, row rules and loading {check:.0f} s, query model "
            f"{sum(model.values()):.0f} s ({steps}).")


def machine_speed() -> dict[str, float]:
    """Seconds for two fixed workloads (median of 3), taken before and after the page runs: this machine is a shared
    virtual one whose speed varies by tens of percent over minutes, so the figures above can be read against it."""
    import duckdb

    def timed(work) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    con = duckdb.connect()
    duck = timed(lambda: con.execute("SELECT quantile_cont(i * 0.5, 0.5), count(*) FROM range(10000000) t(i)")
                 .fetchall())
    python = timed(lambda: sum(i * i for i in range(3_000_000)))
    con.close()
    return {"duckdb": duck, "python": python}


def page_runs(db: Path, repeats: int) -> list[dict]:
    results: list[dict[str, Any]] = []
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
            print(f"{page:16} {variant:11} cold median {results[-1]['cold'][0]:.3f} s, "
                  f"warm {results[-1]['warm'][0]:.4f} s", flush=True)
    return results


def read_through(db: Path) -> None:
    """Read the warehouse file once, so that the operating system's page cache holds it as it does for a dashboard
    in use: this shared machine trims the cache from outside (3.4 of 9 GB left minutes after a whole read, seen
    2026-12-03), and a cold run that waits on the disk measures the disk, not the queries."""
    with open(db, "rb") as file:
        while file.read(1 << 24):
            pass


def window_runs(db: Path, repeats: int, pages: list[str], variants: list[str]) -> list[dict]:
    """Every page's metric set for each window shape and filter combination (bench.run_page WINDOWS, FILTER_SETS),
    cold in `repeats` fresh processes and warm; the load average when each was measured (the machine is shared).
    The file is read through before each page's runs (read_through)."""
    results = []
    for page in pages:
        read_through(db)
        for variant in variants:
            colds, warm = [], []
            for i in range(repeats):
                out = subprocess.run([sys.executable, "-m", "bench.run_page", str(db), page, variant,
                                      str(3 if i == 0 else 0)], check=True, cwd=ROOT, capture_output=True,
                                     text=True).stdout.strip().splitlines()[-1]
                run = json.loads(out)
                colds.append(run["cold"])
                warm.extend(run["warm"])
            results.append({"page": page, "variant": variant, "cold": statistics.median(colds),
                            "warm": statistics.median(warm), "load": os.getloadavg()[0]})
            print(f"{page:16} {variant:14} cold median {results[-1]['cold']:.3f} s, warm {results[-1]['warm']:.4f} s, "
                  f"load {results[-1]['load']:.1f}", flush=True)
    return results


def window_lines(runs: list[dict], repeats: int) -> list[str]:
    return ["## Every window shape and filter combination", "",
            f"`python -m bench --windows --db DB`: each page's metric set, cold (median of {repeats} fresh processes, "
            "the file read through before each page's runs so that the page cache holds it) "
            "and warm; windows end on the last whole month (m1..m36 whole months, ytd January to it, mid from the "
            "10th of a month to the 20th of the last); filters: none, one region, one tier, one voltage level, and "
            "all sidebar filters at once with ticket type and channel. Load: the 1-minute load average then "
            "(2 cores, shared).", "",
            "| page | window+filters | cold median (s) | warm median (s) | load |", "|---|---|---|---|---|",
            *[f"| {r['page']} | {r['variant']} | {r['cold']:.3f} | {r['warm']:.4f} | {r['load']:.1f} |" for r in runs],
            ""]


def pandas_comparison(db: Path, repeats: int) -> dict:
    """Each page's headline numbers in plain pandas (median of up to 3 runs; the tables already in memory) and with
    the metrics package (median of `repeats` runs, each on a fresh connection, nothing cached), and whether they
    agree."""
    import metrics
    from bench.pandas_baseline import load_frames, mismatches, page_duckdb, page_pandas
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
        fresh: list[float] = []
        open_: list[float] = []
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


# Streamlit's own floor on this machine: an app that draws a title and one tile and does nothing else.
ONE_TILE_APP = 'import streamlit as st\n\nst.title("Scorecard")\nst.metric("Tile", 1)\n'


def browser_cold_start(app_dir: Path, db: Path, chromium: str) -> dict:
    """Seconds from starting `streamlit run app.py` in `app_dir` to the page's title, its first tile (a KPI tile on
    the scorecard) and the whole page, in headless Chromium. The browser is started first: its own start is not
    part of the app's cold start."""
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
                                   "--server.headless", "true"], cwd=app_dir,
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
            # Streamlit marks its root with the script's state; "notRunning" once the page's script has finished.
            page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=300_000)
            whole = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait()
            browser.close()
    return {"title": title, "first_tile": first_tile, "whole_page": whole}


def browser_cold_starts(db: Path, repeats: int, chromium: str = "/usr/bin/chromium") -> dict | None:
    """Median of each browser timing over `repeats` cold starts of the scorecard and, alternating with them so both
    see the machine at the same speed, of the one-tile app."""
    if not Path(chromium).exists():
        return None
    import tempfile

    runs: dict[str, list[dict]] = {"scorecard": [], "one_tile_app": []}
    with tempfile.TemporaryDirectory() as one_tile_dir:
        (Path(one_tile_dir) / "app.py").write_text(ONE_TILE_APP, encoding="utf-8")
        for _ in range(repeats):
            runs["scorecard"].append(browser_cold_start(ROOT, db, chromium))
            runs["one_tile_app"].append(browser_cold_start(Path(one_tile_dir), db, chromium))
    return {app: {key: statistics.median(run[key] for run in app_runs) for key in app_runs[0]}
            for app, app_runs in runs.items()}


def load_test_lines(runs: list[dict]) -> list[str]:
    """The load tests' section of RESULTS.md: one row per warehouse, session count and process count."""
    if not runs:
        return []

    def seconds(value) -> str:
        return "–" if value is None else f"{value:.2f}"

    lines = [
        "## Many users at once", "",
        "`python -m bench --load-test`: `streamlit run app.py` on loopback (one or more processes; sessions spread "
        "over them in turn, or through nginx with `deploy/nginx-multiprocess.conf`), every result cached by one "
        "session first; then N "
        "sessions at once, each opening " + ", ".join(runs[-1]["pages"]) + " in turn over Streamlit's websocket "
        "protocol. Page time: from the page request to the server's \"script finished\". An error: an exception "
        "shown, a run that did not finish, or no answer within the timeout. CPU per cached page: the server's CPU "
        "seconds for one page opened by one session at a time.", "",
        "| warehouse | sessions | processes | pages | errors | p50 (s) | p95 (s) | max (s) | wall (s) "
        "| server CPU (s) | CPU per cached page (s) | server memory (MiB) | at |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        cpu = ", ".join(f"{page} {value:.3f}" for page, value in run["cpu_seconds_per_cached_page"].items())
        processes = f"{run['processes']} behind nginx" if run.get("nginx") else str(run["processes"])
        lines.append(f"| {run['warehouse']} ({run['customers']:,} customers) | {run['sessions']} | {processes} | "
                     f"{run['opened']} | "
                     f"{run['errors']} | {seconds(run['p50'])} | {seconds(run['p95'])} | {seconds(run['max'])} | "
                     f"{run['wall_seconds']:.1f} | {run['server_cpu_seconds']:.1f} | {cpu} | "
                     f"{run['server_rss_mib']:,.0f} | {run['at']} |")
    errors = sorted({e for run in runs for e in run["error_samples"]})
    if errors:
        lines += ["", "Errors seen: " + "; ".join(errors)]
    return lines + [""]


def record_load_test(measurements: Path, run: dict) -> dict:
    """RESULTS.json with this load test added (replacing an earlier one of the same warehouse, sessions, processes
    and proxy)."""
    measured = json.loads(measurements.read_text(encoding="utf-8"))
    def key(r: dict) -> tuple:
        return r["warehouse"], r["sessions"], r["processes"], r.get("nginx", False)

    measured["load_tests"] = [r for r in measured.get("load_tests", []) if key(r) != key(run)] + [run]
    measurements.write_text(json.dumps(measured, indent=1, ensure_ascii=False), encoding="utf-8")
    return measured


def loading_section() -> list[str]:
    from bench.loading import loading_lines

    return loading_lines(json.loads(LOADING.read_text(encoding="utf-8")) if LOADING.exists() else None)


def write_results(path: Path, measured: dict) -> None:
    """RESULTS.md from the measurements (kept beside it as JSON) and HISTORY.md, the notes on what each change
    bought."""
    customers, repeats, generation = measured["customers"], measured["repeats"], measured["generation"]
    loaded, pages, compare = measured["loaded"], measured["pages"], measured["compare"]
    browser, speed = measured["browser"], measured["speed"]
    lines = [
        "# Benchmark results", "",
        f"Produced by `python -m bench --customers {customers}` on {measured['machine']}, at {measured['at']}.", "",
        "## Generation and load", "",
        f"- Demo exports for {customers:,} customers: " +
        (f"generated in {generation:.0f} s." if generation is not None else "reused from an earlier run."),
        f"- Load with the real importer: {loaded['rows']:,} rows in {loaded['seconds']:.1f} s = "
        f"**{loaded['rows_per_second']:,.0f} rows/s**, peak memory {loaded['peak_mib']:,.0f} MiB. "
        f"{phase_summary(loaded['phases'])}", "",
        "| table | rows |", "|---|---|",
        *[f"| {t} | {v['read']:,} |" for t, v in loaded["tables"].items()], "",
        "## Page metric sets", "",
        f"Cold: a fresh process, nothing cached (median and p90 of {repeats} processes). Warm: the same calls "
        "again through the app's `st.cache_data` functions.", "",
        "| page | filters | cold median (s) | cold p90 (s) | warm median (s) | warm p90 (s) | peak memory (MiB) |",
        "|---|---|---|---|---|---|---|",
        *[f"| {r['page']} | {r['variant']} | {r['cold'][0]:.3f} | {r['cold'][1]:.3f} | {r['warm'][0]:.4f} | "
          f"{r['warm'][1]:.4f} | {r['peak_mib']:,.0f} |" for r in pages], "",
        "Machine speed before and after these runs (fixed workloads, median of 3; lower is faster): a DuckDB "
        f"median over 10 M numbers {speed[0]['duckdb']:.3f} s and {speed[1]['duckdb']:.3f} s, a Python loop "
        f"{speed[0]['python']:.3f} s and {speed[1]['python']:.3f} s.", "",
        "## Scorecard in the browser after a cold start", "",
        (f"Seconds from `streamlit run` to, in headless Chromium already running on the same two cores (median of "
         f"{repeats} starts): the page title {browser['scorecard']['title']:.2f} s, the first KPI tile "
         f"{browser['scorecard']['first_tile']:.2f} s, the whole page {browser['scorecard']['whole_page']:.2f} s. "
         "Streamlit's own floor, from starts alternating with those of an app that only draws a title and one "
         f"tile: title {browser['one_tile_app']['title']:.2f} s, tile {browser['one_tile_app']['first_tile']:.2f} s."
         if browser else "Not measured: no Chromium at /usr/bin/chromium."), "",
        "## Against plain pandas", "",
        "Each page's headline numbers (the scorecard's KPIs, the other pages' tiles, and the complaints page's "
        "breakdowns; `bench/pandas_baseline.py`) "
        "under the default filters, written again in plain pandas on the loaded tables (read into DataFrames "
        f"once, {compare['pandas_load_seconds']:.1f} s, not counted) and computed by the metrics package on a fresh "
        "connection with nothing cached, and again on that connection once open (the app keeps one open; "
        "no results cached either way). Medians:", "",
        "| page | numbers | pandas (s) | metrics, fresh connection (s) | ratio | metrics, open connection (s) "
        "| ratio | same numbers |", "|---|---|---|---|---|---|---|---|",
        *[f"| {page} | {', '.join(PAGE_SETS[page])} | {r['pandas']:.3f} | {r['duckdb']:.3f} | "
          f"**{r['pandas'] / r['duckdb']:.1f}x** | {r['duckdb_open']:.3f} | {r['pandas'] / r['duckdb_open']:.1f}x | "
          f"{'yes' if not r['mismatches'] else 'NO: ' + json.dumps(r['mismatches'], ensure_ascii=False)} |"
          for page, r in compare["pages"].items()], "",
    ]
    if measured.get("windows"):
        lines += window_lines(measured["windows"]["runs"], measured["windows"]["repeats"])
    lines += load_test_lines(measured.get("load_tests", []))
    lines += briefing_book_lines(measured.get("briefing_books"))
    lines += loading_section()
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
    parser.add_argument("--render", action="store_true",
                        help="only write RESULTS.md again from the last measurements (RESULTS.json) and HISTORY.md")
    parser.add_argument("--load-test", action="store_true",
                        help="only run the load test (loopback) and add it to RESULTS.json and RESULTS.md")
    parser.add_argument("--load-db", type=Path, default=ROOT / "data" / "warehouse.duckdb",
                        help="warehouse for the load test (default: the demo warehouse the app builds)")
    parser.add_argument("--sessions", type=int, default=20, help="load test: sessions at once")
    parser.add_argument("--processes", type=int, default=1, help="load test: Streamlit server processes")
    parser.add_argument("--loading", action="store_true",
                        help="only the load benchmarks (bench/loading.py): floor, full load, monthly increment, peak "
                             "memory, for --customers; added to bench/LOADING.json and RESULTS.md")
    parser.add_argument("--exports", type=Path, default=None,
                        help="loading: demo exports to split and load (default: generate them in --work)")
    parser.add_argument("--nginx", action="store_true",
                        help="load test: sessions through nginx with deploy/nginx-multiprocess.conf")
    parser.add_argument("--report", metavar="YYYY-MM",
                        help="only time the briefing books of that month on --load-db and add them to the results")
    parser.add_argument("--windows", action="store_true",
                        help="only time every page for every window shape and filter combination on --db, and add "
                             "the table to RESULTS.md")
    parser.add_argument("--db", type=Path, help="--windows: the warehouse to time")
    parser.add_argument("--pages", default=",".join(PAGE_STEPS), help="--windows: pages, comma-separated")
    parser.add_argument("--variants", default="", help="--windows: WINDOW+FILTERS, comma-separated (default all)")
    args = parser.parse_args()
    measurements = args.results.with_suffix(".json")
    if args.windows:
        from bench.run_page import FILTER_SETS, WINDOWS

        variants = args.variants.split(",") if args.variants else [f"{w}+{s}" for w in WINDOWS for s in FILTER_SETS]
        runs = window_runs(args.db, args.repeats, args.pages.split(","), variants)
        measured = json.loads(measurements.read_text(encoding="utf-8")) if measurements.exists() else {}
        measured["windows"] = {"repeats": args.repeats, "runs": runs,
                               "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        measurements.write_text(json.dumps(measured, indent=1, ensure_ascii=False), encoding="utf-8")
        if "customers" in measured:  # beside a whole benchmark run's results
            write_results(args.results, measured)
        else:  # a results file of its own (e.g. --results /tmp/k100.md)
            args.results.write_text("\n".join(window_lines(runs, args.repeats)), encoding="utf-8")
        print(f"wrote {args.results}")
        return
    if args.report:
        measured = json.loads(measurements.read_text(encoding="utf-8"))
        measured["briefing_books"] = briefing_books(args.load_db, args.report)
        print(json.dumps(measured["briefing_books"], indent=1, ensure_ascii=False))
        measurements.write_text(json.dumps(measured, indent=1, ensure_ascii=False), encoding="utf-8")
        write_results(args.results, measured)
        print(f"wrote {args.results}")
        return
    if args.loading:
        from bench.loading import measure, record

        exports = args.exports
        if exports is None:
            exports = args.work / f"exports_{args.customers}"
            if not (args.reuse and exports.exists()):
                generate(exports, args.customers, args.tickets_per_customer)
        result = measure(exports, args.work / f"loading_{args.customers}", args.customers)
        record(LOADING, result)
        print(json.dumps({k: v for k, v in result.items() if k != "floor"}, indent=1, ensure_ascii=False)[:4000])
        if measurements.exists():
            write_results(args.results, json.loads(measurements.read_text(encoding="utf-8")))
        print(f"wrote {LOADING}")
        return
    if args.load_test:
        from bench.load_test import load_test

        if not args.load_db.exists():
            parser.error(f"no warehouse at {args.load_db}: start the app once (it builds the demo) or name one")
        run = load_test(args.load_db, sessions=args.sessions, processes=args.processes, nginx=args.nginx)
        print(json.dumps(run, indent=1, ensure_ascii=False))
        write_results(args.results, record_load_test(measurements, run))
        print(f"wrote {args.results}")
        return
    if args.render:
        write_results(args.results, json.loads(measurements.read_text(encoding="utf-8")))
        print(f"wrote {args.results} from {measurements}")
        return
    exports, db = args.work / "exports", args.work / "warehouse.duckdb"
    generation = (None if args.reuse and exports.exists()
                  else generate(exports, args.customers, args.tickets_per_customer))
    loaded = load(exports, db)
    print(f"loaded {loaded['rows']:,} rows at {loaded['rows_per_second']:,.0f} rows/s", flush=True)
    before = machine_speed()
    pages = page_runs(db, args.repeats)
    speed = (before, machine_speed())
    print(f"machine speed before/after: {speed}", flush=True)
    compare = pandas_comparison(db, args.repeats)
    browser = browser_cold_starts(db, args.repeats)
    measured = {"customers": args.customers, "repeats": args.repeats, "machine": machine(),
                "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "generation": generation, "loaded": loaded,
                "pages": pages, "compare": compare, "browser": browser, "speed": speed}
    if measurements.exists():  # load tests are run on their own (--load-test); keep the last ones
        earlier = json.loads(measurements.read_text(encoding="utf-8"))
        measured["load_tests"] = earlier.get("load_tests", [])
        if "briefing_books" in earlier:
            measured["briefing_books"] = earlier["briefing_books"]
    measurements.write_text(json.dumps(measured, indent=1, ensure_ascii=False), encoding="utf-8")
    write_results(args.results, measured)
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
