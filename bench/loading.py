"""Load benchmarks (issue 17): a full load against its floor, a monthly increment, peak memory, growth with size.

`python -m bench --loading --exports DIR` splits the exports into a base (all but the last month) and the last month's
increment (ingest.demo.split_increment), measures the floor (DuckDB's own typed read_csv of the same files into tables,
no checks), loads the base with the real importer, appends the increment, and adds the figures to bench/LOADING.json,
which RESULTS.md shows in its "Loading" section. Every load runs in a process of its own: its peak memory is that
process's maximum resident set (wait4), and the machine's load average is noted at the start and end of each run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR_SCRIPT = """
import json, sys, time, duckdb
from pathlib import Path
con = duckdb.connect(sys.argv[1])
con.execute("SET memory_limit = '2GiB'")
con.execute(f"SET temp_directory = '{sys.argv[1]}.spill'")
out = {}
for n, name in enumerate(sys.argv[2:]):
    path = Path(name)
    started = time.perf_counter()
    if path.suffix == ".parquet":
        source = "read_parquet($p)"
    elif path.suffix == ".csv":
        head = path.open("rb").read(2)
        if head in (b"\\xff\\xfe", b"\\xfe\\xff"):
            source = "read_csv($p, encoding = 'utf-16')"
        else:
            try:
                path.open(encoding="utf-8").read(1 << 20)
            except UnicodeDecodeError:
                continue  # GB18030: DuckDB reads it only with an extension this machine cannot download
            source = "read_csv($p)"
    else:
        continue
    rows = con.execute(f"CREATE TABLE t{n} AS SELECT * FROM {source}", {"p": str(path)}).fetchall()[0][0]
    out[path.name] = {"rows": rows, "seconds": time.perf_counter() - started}
print(json.dumps(out))
"""
# The query model's floor: its tables as the load left them, copied into a new file by DuckDB itself (each table
# written and checkpointed), no computation: what writing the model's output costs at the least.
MODEL_FLOOR_SCRIPT = """
import json, sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SET memory_limit = '2GiB'")
con.execute(f"SET temp_directory = '{sys.argv[1]}.spill'")
con.execute("ATTACH '" + sys.argv[2].replace("'", "''") + "' AS w (READ_ONLY)")
found = con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'w'").fetchall()
tables = {name for (name,) in found}
out = {}
for name in sys.argv[3:]:
    if name not in tables:
        continue
    started = time.perf_counter()
    rows = con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM w."{name}"').fetchall()[0][0]
    con.execute("CHECKPOINT")
    out[name] = {"rows": rows, "seconds": time.perf_counter() - started}
print(json.dumps(out))
"""


def load_average() -> float:
    return os.getloadavg()[0]


def peak_mib_of(args: list[str], env: dict | None = None) -> dict:
    """Run a child process to its end: its wall seconds, its own peak resident memory (MiB, from wait4: not the
    maximum over every child so far), its stderr and the load average before and after."""
    before = load_average()
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, **(env or {})))
    # read both pipes to their end without waiting on the process (wait4 must reap it to give its usage)
    import threading

    chunks: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda k=k, f=f: chunks.__setitem__(k, f.read()))
               for k, f in (("out", proc.stdout), ("err", proc.stderr))]
    for t in readers:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    for t in readers:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    err = chunks["err"].decode(errors="replace")
    if proc.returncode:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({proc.returncode}): {err[-2000:]}")
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024, "stderr": err,
            "load_average": [round(before, 1), round(load_average(), 1)]}


def floor_per_file(files: list[Path], work: Path) -> tuple[dict, dict]:
    db = work / "floor.duckdb"
    db.unlink(missing_ok=True)
    before = load_average()
    out = subprocess.run([sys.executable, "-c", FLOOR_SCRIPT, str(db), *map(str, files)], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    db.unlink(missing_ok=True)
    return json.loads(out.strip().splitlines()[-1]), {"load_average": [round(before, 1), round(load_average(), 1)]}


def model_floor(warehouse: Path, steps: list[str], work: Path) -> dict:
    """{table: rows, seconds} of each query-model step's table (a step that names no table is left out) copied from
    the loaded warehouse into a new file: the model's floor (MODEL_FLOOR_SCRIPT)."""
    db = work / "model_floor.duckdb"
    db.unlink(missing_ok=True)
    before = load_average()
    out = subprocess.run([sys.executable, "-c", MODEL_FLOOR_SCRIPT, str(db), str(warehouse), *steps], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    db.unlink(missing_ok=True)
    return {"tables": json.loads(out.strip().splitlines()[-1]),
            "load_average": [round(before, 1), round(load_average(), 1)]}


def importer(paths: list[Path], db: Path, mode: str) -> dict:
    report = db.with_suffix(f".{mode}.json")
    run = peak_mib_of([sys.executable, "-m", "ingest", "load", *map(str, paths), "--db", str(db), "--mode", mode,
                       "--report", str(report)])
    loaded = json.loads(report.read_text(encoding="utf-8"))
    run["rows"] = sum(t["read"] for t in loaded["tables"].values())
    run["tables"], run["phases"] = loaded["tables"], loaded["phase_seconds"]
    run["swap"], run["model"] = loaded.get("swap"), loaded.get("model")
    run["progress_lines"] = run.pop("stderr").strip().splitlines()[-4:]
    return run


def measure(exports: Path, work: Path, customers: int, increment: bool = True) -> dict:
    """Floor, full load (of the base when an increment follows) and the increment, for one demo size."""
    from ingest.demo import split_increment

    work.mkdir(parents=True, exist_ok=True)
    base, inc = work / "base", work / "increment"
    if increment:
        split_increment(exports, base, inc)
    else:
        base = exports
    files = sorted(p for p in base.iterdir() if p.suffix in (".csv", ".parquet", ".xlsx"))
    floor_files, floor_run = floor_per_file(files, work)
    db = work / "warehouse.duckdb"
    db.unlink(missing_ok=True)
    full = importer([base], db, "replace")
    result = {"customers": customers, "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "floor": floor_files, "floor_load_average": floor_run["load_average"], "full": full,
              "warehouse_mib": db.stat().st_size / 2**20,
              "model_floor": model_floor(db, list(_phases(full["phases"])[2]), work)}
    if increment:
        # the split's copies are loaded: free their room (8 GB at 3 M customers) before the append, which needs it
        _remove_split(base)
        result["increment"] = importer([inc], db, "append")
        _remove_split(inc)
    return result


def _remove_split(folder: Path) -> None:
    """A folder split_increment wrote: its copies and its links to the exports (never what they link to)."""
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


def record(path: Path, result: dict) -> dict:
    measured = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"runs": []}
    measured["runs"] = [r for r in measured["runs"] if r["customers"] != result["customers"]] + [result]
    measured["runs"].sort(key=lambda r: r["customers"])
    path.write_text(json.dumps(measured, indent=1, ensure_ascii=False), encoding="utf-8")
    return measured


def _phases(phases: dict[str, float]) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    read = {k.removeprefix("read "): v for k, v in phases.items() if k.startswith("read ")}
    check = {k.removeprefix("check and load "): v for k, v in phases.items() if k.startswith("check and load ")}
    model = {k.removeprefix("query model: "): v for k, v in phases.items() if k.startswith("query model: ")}
    return read, check, model


def loading_lines(measured: dict | None) -> list[str]:
    """RESULTS.md's "Loading" section."""
    if not measured or not measured.get("runs"):
        return []
    lines = ["## Loading", "",
             "`python -m bench --loading --exports DIR --customers N` (bench/loading.py). The exports are split into "
             "a base (every month but the last) and the last month's increment (its bills, and its tickets with the "
             "earlier ones still open at its start in their final state); the base is loaded with the real importer "
             "(replace), then the increment appended. The floor: DuckDB's own typed `read_csv` (or `read_parquet`) of "
             "the same files into tables, no checks, in a process of its own. Peak memory: the load process's "
             "maximum resident set. Load average (2 cores, shared with four other engineers) at start and end.", ""]
    for run in measured["runs"]:
        full, floor_ = run["full"], run["floor"]
        read, check, model = _phases(full["phases"])
        floor_rows = sum(f["rows"] for f in floor_.values())
        floor_seconds = sum(f["seconds"] for f in floor_.values())
        lines += [f"### {run['customers']:,} customers ({run['at']})", "",
                  f"- Full load of the base: {full['rows']:,} rows in {full['seconds']:.1f} s = "
                  f"**{full['rows'] / full['seconds']:,.0f} rows/s** end to end; peak memory "
                  f"**{full['peak_mib']:,.0f} MiB**; load average {full['load_average'][0]} → "
                  f"{full['load_average'][1]}; warehouse {run['warehouse_mib']:,.0f} MiB.",
                  f"- Floor, the files DuckDB reads itself ({', '.join(floor_)}): {floor_rows:,} rows in "
                  f"{floor_seconds:.1f} s = **{floor_rows / floor_seconds:,.0f} rows/s** (load average "
                  f"{run['floor_load_average'][0]} → {run['floor_load_average'][1]})." if floor_ else
                  f"- Floor: not measured in this run ({run.get('floor_note', 'no figures')}).",
                  *([f"- {run['note']}"] if run.get("note") else []), "",
                  "| phase | importer (s) | rows | importer rows/s | floor (s) | floor rows/s | importer / floor |",
                  "|---|---|---|---|---|---|---|"]
        for table, row in full["tables"].items():
            files = [f for f in read if _table_of(f) == table]
            ours = sum(read[f] for f in files) + check.get(table, 0.0)
            fl = [floor_[f] for f in files if f in floor_]
            fl_s = sum(f["seconds"] for f in fl)
            rows = row["read"]
            lines.append(f"| read + check + load {table} ({', '.join(files)}) | {ours:.1f} | {rows:,} | "
                         f"{rows / ours if ours else 0:,.0f} | " + (
                             f"{fl_s:.1f} | {rows / fl_s:,.0f} | {fl_s / ours:.2f} |" if fl else "– | – | – |"))
        model_total = sum(model.values())
        slowest = sorted(model.items(), key=lambda kv: -kv[1])[:6]
        copied = run.get("model_floor", {}).get("tables", {})
        if copied:
            rows = sum(t["rows"] for t in copied.values())
            fl_s = sum(t["seconds"] for t in copied.values())
            lines.append(f"| query model ({', '.join(f'{k} {v:.0f}' for k, v in slowest)}, …), rows written "
                         f"| {model_total:.1f} | {rows:,} | {rows / model_total:,.0f} | {fl_s:.1f} | "
                         f"{rows / fl_s:,.0f} | {fl_s / model_total:.2f} |")
            lines += model_floor_lines(model, copied)
        else:
            lines.append(f"| query model ({', '.join(f'{k} {v:.0f}' for k, v in slowest)}, …) "
                         f"| {model_total:.1f} | | | no floor | | |")
        if "increment" in run:
            inc = run["increment"]
            _, inc_check, inc_model = _phases(inc["phases"])
            counts = ", ".join(f"{t} {v['read']:,}" for t, v in inc["tables"].items())
            lines += ["", f"- Monthly increment: {inc['rows']:,} rows ({counts}) "
                          f"appended in **{inc['seconds']:.1f} s** including the query model "
                          f"({sum(inc_model.values()):.1f} s, built {inc['model']}); warehouse written {inc['swap']}; "
                          f"peak memory {inc['peak_mib']:,.0f} MiB; load average {inc['load_average'][0]} → "
                          f"{inc['load_average'][1]}. Model steps: "
                          + ", ".join(f"{k} {v:.1f}" for k, v in sorted(inc_model.items(), key=lambda kv: -kv[1]))
                          + "."]
        lines.append("")
    if len(measured["runs"]) > 1:
        lines += ["### Growth", "", "Each size as last measured (the runs' times above: the code and the machine's "
                  "load differ between them).", "",
                  "| customers | rows | full load (s) | rows/s | peak memory (MiB) | warehouse (MiB) "
                  "| increment (s) | load average | measured |", "|---|---|---|---|---|---|---|---|---|"]
        for run in measured["runs"]:
            full = run["full"]
            inc = run.get("increment")
            lines.append(f"| {run['customers']:,} | {full['rows']:,} | {full['seconds']:.0f} | "
                         f"{full['rows'] / full['seconds']:,.0f} | {full['peak_mib']:,.0f} | "
                         f"{run['warehouse_mib']:,.0f} | "
                         + (f"{inc['seconds']:.1f}" if inc else "–")
                         + f" | {full['load_average'][0]}–{full['load_average'][1]} | {run['at']} |")
        lines.append("")
    return lines


def model_floor_lines(model: dict[str, float], copied: dict[str, dict]) -> list[str]:
    """The query model step by step against its floor: each step's table copied as it is (model_floor)."""
    lines = ["", "Query model steps against their floor (the step's table copied into a new file by DuckDB, written "
             "and checkpointed, no computation); the steps over a second:", "",
             "| step | build (s) | rows | floor (s) | floor / build |", "|---|---|---|---|---|"]
    for step, seconds in sorted(model.items(), key=lambda kv: -kv[1]):
        if seconds < 1:
            continue
        table = copied.get(step)
        lines.append(f"| {step} | {seconds:.1f} | " + (f"{table['rows']:,} | {table['seconds']:.1f} | "
                                                      f"{table['seconds'] / seconds:.2f} |" if table else
                                                      "– | – | – |"))
    return lines


def _table_of(file_name: str) -> str | None:
    from ingest.load import _table_by_name

    return _table_by_name(Path(file_name))
