"""Load export files into the DuckDB warehouse: all or nothing, with every rejected row kept and explained.

A load builds the new warehouse in a file beside the old one (a copy of it for `append`),
then swaps it in with one atomic rename. If anything fails before the rename, the old
warehouse file is never opened for writing and stays exactly as it was. Loads of one
warehouse take turns (ingest.lock); what a killed load left is removed by the next (ingest.scratch).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import duckdb

from ingest.contracts import CONTRACTS, TABLE_ORDER, Contract, header_lookup, normalise_header
from ingest.errors import LoadError
from ingest.limits import UploadLimits, check_files
from ingest.lock import one_load_at_a_time
from ingest.mapping import SourceMapping
from ingest.model import build_derived_model
from ingest.os_errors import explained
from ingest.readers import SUPPORTED_SUFFIXES, StagedFile, stage_file
from ingest.scratch import ScratchFolder, clean_leftovers
from ingest.sources import record_source_columns
from ingest.validate import SQL_TYPES, parse_select, raw_row_sql

Mode = Literal["replace", "append"]
Progress = Callable[[str, float], None]
WAIT_SECONDS = 300  # how long a load waits for another load of the same warehouse to finish

META_DDL = """
CREATE TABLE IF NOT EXISTS loads (
    load_id INTEGER, loaded_at TIMESTAMP, mode VARCHAR, files VARCHAR[],
    rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT, duration_seconds DOUBLE, report JSON);
CREATE TABLE IF NOT EXISTS rejects (
    load_id INTEGER, table_name VARCHAR, source_file VARCHAR, line BIGINT, reason VARCHAR, raw_row VARCHAR);
"""


@dataclass
class FileReport:
    file: str
    table: str
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    encoding: str | None = None
    ignored_columns: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    ok: bool
    mode: str
    load_id: int | None = None
    files: list[FileReport] = field(default_factory=list)
    top_reasons: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    duration_seconds: float = 0.0
    error: str | None = None
    phase_seconds: dict[str, float] = field(default_factory=dict)

    def tables(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for f in sorted(self.files, key=lambda f: TABLE_ORDER.index(f.table)):
            row = out.setdefault(f.table, {"read": 0, "loaded": 0, "rejected": 0})
            row["read"] += f.read
            row["loaded"] += f.loaded
            row["rejected"] += f.rejected
        return out

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "mode": self.mode,
            "load_id": self.load_id,
            "tables": self.tables(),
            "files": [f.__dict__ for f in self.files],
            "top_reasons": {t: [{"reason": r, "rows": n} for r, n in rs] for t, rs in self.top_reasons.items()},
            "duration_seconds": round(self.duration_seconds, 3),
            "phase_seconds": {k: round(v, 3) for k, v in self.phase_seconds.items()},
            "error": self.error,
        }


def expand_paths(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES))
        elif path.exists():
            files.append(path)
        else:
            raise LoadError(f"{path}: no such file or folder")
    if not files:
        raise LoadError(f"no CSV, Excel or Parquet files found in {', '.join(map(str, paths))}")
    return files


def _table_by_name(path: Path) -> str | None:
    stem = normalise_header(path.stem)
    for contract in CONTRACTS.values():
        names = {normalise_header(n) for n in (contract.name, contract.label_zh, *contract.file_aliases)}
        if stem in names or any(stem.startswith(n + "_") for n in names):
            return contract.name
    return None


def _table_by_headers(headers: list[str], mapping: SourceMapping) -> str | None:
    """The contract whose required columns the headers cover, preferring the one that matches most headers."""
    best, best_score = None, 0
    for contract in CONTRACTS.values():
        lookup = header_lookup(contract, mapping.columns_for(contract.name))
        found = {lookup[h] for h in map(normalise_header, headers) if h in lookup}
        if set(contract.required_columns) <= found and len(found) > best_score:
            best, best_score = contract.name, len(found)
    return best


def _map_headers(staged: StagedFile, contract: Contract, mapping: SourceMapping) -> tuple[dict, dict, list]:
    lookup = header_lookup(contract, mapping.columns_for(contract.name))
    sources, labels, ignored = {}, {}, []
    for i, header in enumerate(staged.headers):
        canonical = lookup.get(normalise_header(header))
        if canonical is None or canonical in sources:
            ignored.append(header)
            continue
        sources[canonical] = f"c{i}"
        clean = header.replace("\ufeff", "").strip()
        labels[canonical] = canonical if normalise_header(clean) == canonical else f"{clean} ({canonical})"
    missing = [c for c in contract.required_columns if c not in sources]
    if missing:
        raise LoadError(
            f"{staged.path.name}: cannot load as table '{contract.name}': missing required column(s) "
            f"{', '.join(missing)}. Headers found: {', '.join(h.strip() or '(blank)' for h in staged.headers)}. "
            "Rename the headers or map them in a mapping file (--mapping)."
        )
    return sources, labels, ignored


def _create_table_sql(contract: Contract) -> str:
    cols = ", ".join(f"{c.name} {SQL_TYPES[c.type]}" for c in contract.columns)
    return f"CREATE TABLE IF NOT EXISTS {contract.name} ({cols})"


def _key_match(contract: Contract, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in contract.key)


def _load_table(con: duckdb.DuckDBPyConnection, contract: Contract, parsed: list[str], staged: list[tuple[int, StagedFile]],
                file_names: list[str], load_id: int, mode: Mode) -> dict[int, int]:
    """Check keys and references across all files of one table, upsert the good rows; rows loaded per file."""
    name = contract.name
    cols = ", ".join(contract.column_names)
    key_cols = ", ".join(contract.key)
    key_text = " || '/' || ".join(f"coalesce(CAST({k} AS VARCHAR), '')" for k in contract.key)
    con.execute(f"CREATE TEMP TABLE all_{name} AS " + " UNION ALL ".join(f"SELECT * FROM {t}" for t in parsed))
    con.execute(f"""
        CREATE TEMP TABLE checked_{name} AS
        SELECT * REPLACE (coalesce(_reason, CASE WHEN _dup_rank > 1 THEN 'duplicate {key_cols} '''
                          || {key_text} || ''' (first on line ' || _first_line || ' of '
                          || $files[_first_file + 1] || ')' END) AS _reason)
        FROM (
            SELECT *, row_number() OVER w AS _dup_rank, first_value(_line) OVER w AS _first_line,
                   first_value(_file_no) OVER w AS _first_file
            FROM all_{name}
            WINDOW w AS (PARTITION BY {key_cols}, _reason IS NULL ORDER BY _file_no, _line)
        )""", {"files": file_names})
    fk = next((c for c in contract.columns if c.references), None)
    if fk is not None:
        ref_table, ref_col = fk.references.split(".")
        con.execute(f"""
            UPDATE checked_{name} SET _reason = '{fk.name} ''' || {fk.name} || ''' is not in {ref_table}'
            WHERE _reason IS NULL AND {fk.name} NOT IN (SELECT {ref_col} FROM {ref_table})""")
    for file_no, staged_file in staged:
        raw, params = raw_row_sql(staged_file.headers)
        con.execute(
            f"""INSERT INTO rejects SELECT $load_id, '{name}', $file, r._line, r._reason, {raw}
                FROM checked_{name} r JOIN {staged_file.staging_table} s USING (_line)
                WHERE r._reason IS NOT NULL AND r._file_no = {file_no} ORDER BY r._line""",
            {"load_id": load_id, "file": file_names[file_no], **params},
        )
        con.execute(f"DROP TABLE {staged_file.staging_table}")
    if mode == "append":
        con.execute(f"DELETE FROM {name} t WHERE EXISTS (SELECT 1 FROM checked_{name} n "
                    f"WHERE n._reason IS NULL AND {_key_match(contract, 't', 'n')})")
    con.execute(f"INSERT INTO {name} SELECT {cols} FROM checked_{name} WHERE _reason IS NULL ORDER BY _file_no, _line")
    loaded = dict(con.execute(
        f"SELECT _file_no, count(*) FROM checked_{name} WHERE _reason IS NULL GROUP BY _file_no").fetchall())
    for table in (*parsed, f"all_{name}", f"checked_{name}"):
        con.execute(f"DROP TABLE {table}")
    return loaded


def _copy_history(con: duckdb.DuckDBPyConnection, old_db: Path) -> None:
    con.execute("ATTACH $p AS old (READ_ONLY)", {"p": str(old_db)})
    old_tables = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'old'").fetchall()}
    for table in ("loads", "rejects"):
        if table in old_tables:
            con.execute(f"INSERT INTO {table} SELECT * FROM old.{table}")
    con.execute("DETACH old")


def load(paths: list[Path], db_path: Path, mode: Mode = "replace", mapping: SourceMapping | None = None,
         progress: Progress | None = None, wait_seconds: float = WAIT_SECONDS,
         limits: UploadLimits | None = None) -> LoadReport:
    """Validate and load export files into the warehouse at db_path; raises LoadError when nothing was committed.

    Files breaking a limit (default: from the environment) are refused before any is read. One load at a time per
    warehouse: a load finding another at work waits up to `wait_seconds`, then refuses."""
    mapping = mapping or SourceMapping()
    db_path = Path(db_path)
    files = expand_paths(paths)
    say = progress or (lambda message, fraction: None)
    with explained(db_path.parent):
        check_files(files, limits or UploadLimits.from_env())
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with one_load_at_a_time(db_path, wait_seconds, lambda message: say(message, 0.0)):
            started = time.perf_counter()  # the load's own time, not its wait for another
            if mode == "append" and not db_path.exists():
                raise LoadError(f"{db_path}: no warehouse to append to; run a replace load first")
            clean_leftovers(db_path.parent)
            with ScratchFolder(db_path.parent, "loading") as workdir:
                new_db = workdir / "warehouse.duckdb"
                if mode == "append":
                    shutil.copy2(db_path, new_db)
                con = duckdb.connect(str(new_db))
                try:
                    con.execute(f"SET temp_directory = '{workdir / 'spill'}'")
                    con.execute("SET enable_progress_bar = false")
                    report = _build(con, files, db_path, mode, mapping, workdir, say)
                    report.duration_seconds = time.perf_counter() - started
                    con.execute("UPDATE loads SET duration_seconds = $d, report = $r WHERE load_id = $id",
                                {"d": report.duration_seconds, "r": json.dumps(report.to_json(), ensure_ascii=False),
                                 "id": report.load_id})
                    con.execute("CHECKPOINT")
                finally:
                    con.close()
                os.replace(new_db, db_path)
    say("Warehouse swapped in", 1.0)
    return report


def rebuild_model(db_path: Path, wait_seconds: float = WAIT_SECONDS) -> dict[str, float]:
    """Rebuild the query model of an existing warehouse from its loaded tables; swapped in like a load.
    Returns the seconds each step took."""
    db_path = Path(db_path)
    if not db_path.exists():
        raise LoadError(f"{db_path}: no warehouse to rebuild")
    with explained(db_path.parent), one_load_at_a_time(db_path, wait_seconds, lambda message: None):
        clean_leftovers(db_path.parent)
        with ScratchFolder(db_path.parent, "loading") as workdir:
            new_db = workdir / "warehouse.duckdb"
            shutil.copy2(db_path, new_db)
            with duckdb.connect(str(new_db)) as con:
                con.execute("SET enable_progress_bar = false")
                seconds = build_derived_model(con)
                con.execute("CHECKPOINT")
            os.replace(new_db, db_path)
    return seconds


def _build(con, files: list[Path], db_path: Path, mode: Mode, mapping: SourceMapping, workdir: Path,
           say: Progress) -> LoadReport:
    con.execute(META_DDL)
    if mode == "replace" and db_path.exists():
        _copy_history(con, db_path)
    for contract in CONTRACTS.values():
        con.execute(_create_table_sql(contract))
    load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchall()[0][0]
    report = LoadReport(ok=True, mode=mode, load_id=load_id)

    by_table: dict[str, list[tuple[StagedFile, dict, dict]]] = {}
    for n, path in enumerate(files):
        say(f"Reading {path.name}", 0.7 * n / len(files))
        phase_started = time.perf_counter()
        table = mapping.table_for_file(path) or _table_by_name(path)
        staged = stage_file(con, path, f"stage_{n}", workdir, mapping.sheet_for(table))
        table = table or _table_by_headers(staged.headers, mapping)
        if table is None:
            raise LoadError(
                f"{path.name}: cannot tell which table this file holds. Name the file after the table "
                f"({', '.join(CONTRACTS)}) or list it under [tables.<name>] files in a mapping file. "
                f"Headers found: {', '.join(staged.headers)}"
            )
        sources, labels, ignored = _map_headers(staged, CONTRACTS[table], mapping)
        record_source_columns(con, table, list(sources))
        by_table.setdefault(table, []).append((staged, sources, labels))
        report.files.append(FileReport(file=path.name, table=table, encoding=staged.encoding,
                                       ignored_columns=ignored))
        report.phase_seconds[f"read {path.name}"] = time.perf_counter() - phase_started

    if mode == "replace":
        missing = [t for t in TABLE_ORDER if CONTRACTS[t].required and t not in by_table]
        if missing:
            raise LoadError(
                f"a full (replace) load needs the required table(s) {', '.join(missing)}; "
                f"files given: {', '.join(p.name for p in files)}"
            )

    file_names = [f.file for f in report.files]
    loaded: dict[int, int] = {}
    for step, table in enumerate(t for t in TABLE_ORDER if t in by_table):
        say(f"Checking and loading {table}", 0.7 + 0.25 * step / len(by_table))
        phase_started = time.perf_counter()
        contract = CONTRACTS[table]
        parsed, staged_files = [], []
        for staged, sources, labels in by_table[table]:
            file_no = files.index(staged.path)
            staged_files.append((file_no, staged))
            sql, params = parse_select(contract, sources, labels, staged.staging_table, file_no)
            con.execute(f"CREATE TEMP TABLE parsed_{file_no} AS {sql}", params)
            parsed.append(f"parsed_{file_no}")
            if staged.structural_rejects:
                con.executemany(
                    "INSERT INTO rejects VALUES ($1, $2, $3, $4, $5, $6)",
                    [(load_id, table, staged.path.name, line, reason, raw)
                     for line, raw, reason in staged.structural_rejects],
                )
        loaded.update(_load_table(con, contract, parsed, staged_files, file_names, load_id, mode))
        report.phase_seconds[f"check and load {table}"] = time.perf_counter() - phase_started

    counts = con.execute(
        """SELECT source_file, count(*) FROM rejects WHERE load_id = $id GROUP BY source_file""",
        {"id": load_id}).fetchall()
    rejected = dict(counts)
    staged_by_name = {s.path.name: s for t in by_table.values() for s, _, _ in t}
    for n, f in enumerate(report.files):
        staged = staged_by_name[f.file]
        f.read = staged.rows + len(staged.structural_rejects)
        f.rejected, f.loaded = rejected.get(f.file, 0), loaded.get(n, 0)
    for table, reasons in _top_reasons(con, load_id).items():
        report.top_reasons[table] = reasons

    say("Building the query model", 0.95)
    for step, seconds in build_derived_model(con).items():
        report.phase_seconds[f"query model: {step}"] = seconds
    totals = Counter()
    for f in report.files:
        totals.update({"read": f.read, "loaded": f.loaded, "rejected": f.rejected})
    con.execute(
        "INSERT INTO loads VALUES ($id, $at, $mode, $files, $read, $loaded, $rejected, NULL, NULL)",
        {"id": load_id, "at": dt.datetime.now().replace(microsecond=0), "mode": mode, "files": file_names,
         "read": totals["read"], "loaded": totals["loaded"], "rejected": totals["rejected"]},
    )
    return report


def _top_reasons(con: duckdb.DuckDBPyConnection, load_id: int, limit: int = 5) -> dict[str, list[tuple[str, int]]]:
    """Most frequent reasons per table, with the value-specific part folded so similar rows group together."""
    rows = con.execute(
        """SELECT table_name, regexp_replace(reason, '''[^'']*''', '''…''', 'g') AS kind, count(*) AS n
           FROM rejects WHERE load_id = $id GROUP BY ALL ORDER BY table_name, n DESC, kind""",
        {"id": load_id},
    ).fetchall()
    out: dict[str, list[tuple[str, int]]] = {}
    for table, kind, n in rows:
        if len(out.setdefault(table, [])) < limit:
            out[table].append((kind, n))
    return out
