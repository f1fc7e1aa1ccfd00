"""Load export files into the DuckDB warehouse: all or nothing, with every rejected row kept and explained.

A load builds the new warehouse in a file beside the old one (a copy of it for `append`),
then swaps it in with one atomic rename. If anything fails before the rename, the old
warehouse file is never opened for writing and stays exactly as it was. Loads of one
warehouse take turns (ingest.lock); what a killed load left is removed by the next (ingest.scratch).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb

from ingest.contracts import CONTRACTS, TABLE_ORDER, UNITS, Contract, header_ranks, header_unit, normalise_header
from ingest.errors import LoadError
from ingest.limits import UploadLimits, check_files, load_resources
from ingest.lock import one_load_at_a_time
from ingest.mapping import SourceMapping
from ingest.model import ModelChange, build_derived_model
from ingest.os_errors import explained
from ingest.readers import (
    HEADER_SEARCH_ROWS,
    SUPPORTED_SUFFIXES,
    FileHeader,
    HeaderFinder,
    StagedFile,
    read_header,
    stage_file,
)
from ingest.scratch import ScratchFolder, clean_leftovers
from ingest.sources import record_source_columns
from ingest.validate import SQL_TYPES, ColumnOptions, parse_select, raw_row_sql

Mode = Literal["replace", "append"]
# The date whose month an append's rows touch in the query model, per fact table (customers: the whole model).
MONTH_OF = {"billing": "period", "tickets": "created_at", "surveys": "surveyed_on", "visits": "visited_on",
            "account_events": "event_date", "staff_training": "trained_on"}


@dataclass
class LoadProgress:
    """Where a load is, for a person watching: the phase, the file or table it is on, rows read and rejected so far
    in it, seconds elapsed since the load started and, once it can tell, the seconds it expects still to take."""

    phase: str  # "waiting", "reading", "checking", "model", "committing", "done"
    fraction: float
    elapsed: float
    remaining: float | None = None
    name: str | None = None  # file (reading) or table (checking)
    step: int | None = None  # which file or table, from 1
    steps: int | None = None
    rows: int | None = None
    rejected: int | None = None
    note: str | None = None  # waiting: why; model: the steps built

    @property
    def message(self) -> str:
        """The English line the CLI prints (the Data page words it in its own language, dashboard.load_messages)."""
        where = f" ({self.step}/{self.steps})" if self.step and self.steps else ""
        what = {
            "waiting": self.note or "Waiting for another load",
            "reading": f"Reading {self.name}{where}…" if self.rows is None else
                       f"Read {self.name}{where}: {self.rows:,} rows, {self.rejected or 0:,} rejected",
            "checking": f"Checking and loading {self.name}{where}…" if self.rows is None else
                        f"Checked and loaded {self.name}{where}: {self.rows:,} rows read, "
                        f"{self.rejected or 0:,} rejected",
            "model": f"Building the query model{' (' + self.note + ')' if self.note else ''}",
            "committing": "Committing",
            "done": "Warehouse swapped in",
        }[self.phase]
        left = f", about {clock(self.remaining)} left" if self.remaining is not None else ""
        return f"{what} · {clock(self.elapsed)} elapsed{left}"


def clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


Progress = Callable[[LoadProgress], None]
# Shares of a load's time by phase, from the 1 M-customer benchmark (bench/RESULTS.md), to expect what is left.
PHASE_SHARES = {"reading": 0.25, "checking": 0.30, "model": 0.45}


class _Tracker:
    """Turns a load's steps into LoadProgress: the fraction done from the phase shares (reading by bytes, checking by
    rows), the time left from the time taken so far."""

    def __init__(self, say: Progress, started: float):
        self.say, self.started = say, started

    def __call__(self, phase: str, fraction: float, **fields) -> None:
        elapsed = time.perf_counter() - self.started
        remaining = elapsed * (1 - fraction) / fraction if 0.05 <= fraction < 1 else (0.0 if fraction >= 1 else None)
        self.say(LoadProgress(phase=phase, fraction=min(fraction, 1.0), elapsed=elapsed, remaining=remaining, **fields))
WAIT_SECONDS = 300  # how long a load waits for another load of the same warehouse to finish

META_DDL = """
CREATE TABLE IF NOT EXISTS loads (
    load_id INTEGER, loaded_at TIMESTAMP, mode VARCHAR, files VARCHAR[],
    rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT, duration_seconds DOUBLE, report JSON);
CREATE TABLE IF NOT EXISTS rejects (
    load_id INTEGER, table_name VARCHAR, source_file VARCHAR, line BIGINT, reason VARCHAR, raw_row VARCHAR);
"""


SKIPPED_LISTED = 50  # skipped rows listed per file in the report (all are counted)


@dataclass
class FileReport:
    """One file's part of a load: read = loaded + rejected + superseded; skipped and empty rows are not records."""

    file: str
    table: str
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    encoding: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    header_line: int = 1  # line (CSV) or sheet row (Excel) taken as the header; 0 for Parquet
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    skipped: int = 0  # rows that are not records, e.g. a totals row (合计)
    skipped_rows: list[dict] = field(default_factory=list)  # {"line", "reason"} for the first SKIPPED_LISTED
    empty_rows: int = 0  # fully empty rows: not records, not counted as read
    superseded: int = 0  # valid rows replaced by the same key in a later export of this load
    superseded_by: list[str] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)  # {"message", "rows"}: loaded with a field left empty
    header_notes: list[str] = field(default_factory=list)  # two headers meaning one column, and which was used
    scaled: list[str] = field(default_factory=list)  # columns whose values were multiplied for their unit

    def notes(self) -> list[str]:
        """What the report says about this file, one sentence each: sheet, header, rows that are not records,
        superseded rows, scalings, header choices, warnings and ignored columns."""
        lines = []
        if self.sheet:
            lines.append(f"sheet '{self.sheet}' read (sheets in the workbook: {', '.join(self.sheets)})")
        if self.header_line:
            lines.append(f"header taken from {'row' if self.sheet else 'line'} {self.header_line}")
        if self.empty_rows:
            lines.append(f"{self.empty_rows:,} empty row(s) passed over (not records)")
        if self.skipped:
            lines.append(f"{self.skipped:,} row(s) skipped as not records: "
                         + "; ".join(f"line {r['line']}: {r['reason']}" for r in self.skipped_rows))
        if self.superseded:
            lines.append(f"{self.superseded:,} row(s) superseded by the same keys in the later export "
                         f"{', '.join(self.superseded_by)}")
        lines.extend(self.scaled)
        lines.extend(self.header_notes)
        for warning in self.warnings:
            lines.append(f"{warning['rows']:,} row(s) loaded with the field left empty: {warning['message']}")
        if self.ignored_columns:
            lines.append(f"columns not in the {self.table} contract were ignored: {', '.join(self.ignored_columns)}")
        return lines


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
    swap: str | None = None  # how the load reached the warehouse file: in place, or a new file renamed over it
    model: str | None = None  # which part of the query model was built: whole, or from which month on, and why

    def tables(self) -> dict[str, dict[str, int]]:
        """Per table: read = loaded + rejected + superseded; skipped rows (totals rows) are not records."""
        out: dict[str, dict[str, int]] = {}
        for f in sorted(self.files, key=lambda f: TABLE_ORDER.index(f.table)):
            row = out.setdefault(f.table, {"read": 0, "loaded": 0, "rejected": 0, "superseded": 0, "skipped": 0})
            for key in row:
                row[key] += getattr(f, key)
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
            "swap": self.swap,
            "model": self.model,
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


def _column_of(header: str, ranks: dict[str, tuple[str, int]]) -> tuple[str, int, str | None] | None:
    """The column a header names, its rank and the unit it carries: '应收电费(万元)' is amount_billed in 万元."""
    found = ranks.get(normalise_header(header or ""))
    if found is not None:
        return (*found, None)
    name, unit = header_unit(header or "")
    found = ranks.get(normalise_header(name)) if unit and name else None
    return (*found, unit) if found is not None else None


def _found_columns(headers: list[str], contract: Contract, mapping: SourceMapping) -> set[str]:
    ranks = header_ranks(contract, mapping.columns_for(contract.name))
    return {hit[0] for h in headers if (hit := _column_of(h, ranks))} | set(mapping.for_table(contract.name).constants)


def _covers(headers: list[str], contract: Contract, mapping: SourceMapping) -> bool:
    return set(contract.required_columns) <= _found_columns(headers, contract, mapping)


def _header_finder(table: str | None, mapping: SourceMapping) -> HeaderFinder:
    """The first of a file's first rows that names the required columns of its table (of any table if unknown)."""
    contracts = [CONTRACTS[table]] if table else list(CONTRACTS.values())

    def find(rows: list[list[str]]) -> int | None:
        return next((i for i, row in enumerate(rows) if any(_covers(row, c, mapping) for c in contracts)), None)

    return find


def _table_by_headers(headers: list[str], mapping: SourceMapping) -> str | None:
    """The contract whose required columns the headers cover, preferring the one that matches most headers."""
    best, best_score = None, 0
    for contract in CONTRACTS.values():
        found = _found_columns(headers, contract, mapping)
        if set(contract.required_columns) <= found and len(found) > best_score:
            best, best_score = contract.name, len(found)
    return best


@dataclass
class HeaderMap:
    sources: dict[str, str]  # canonical column -> staged column c0..cN
    labels: dict[str, str]  # canonical column -> how reasons name it
    ignored: list[str]
    notes: list[str]  # two headers meaning one column
    scale: dict[str, int]  # canonical column -> factor for its unit
    scaled: list[str]  # what the report says about each scaling


def _map_headers(staged: StagedFile | FileHeader, contract: Contract, mapping: SourceMapping) -> HeaderMap:
    """Which of the file's columns is which of the table's (the header alone decides: a file's header, read before any
    file is staged, maps as its staged table will); a required column no header names is an error."""
    table_map = mapping.for_table(contract.name)
    ranks = header_ranks(contract, table_map.columns)
    chosen: dict[str, tuple[int, int, str, str | None]] = {}  # canonical -> (rank, index, header, unit)
    ignored, notes = [], []
    for i, header in enumerate(staged.headers):
        hit = _column_of(header, ranks)
        if hit is None or hit[0] in table_map.constants:
            ignored.append(header)
            continue
        canonical, rank, unit = hit
        if canonical in chosen:
            kept, dropped = sorted([chosen[canonical], (rank, i, header, unit)])
            chosen[canonical] = kept
            ignored.append(dropped[2])
            notes.append(f"headers '{kept[2].strip()}' and '{dropped[2].strip()}' both mean {canonical}; "
                         f"'{kept[2].strip()}' was used and '{dropped[2].strip()}' ignored (name the right one "
                         "in a mapping file if that is wrong)")
            continue
        chosen[canonical] = (rank, i, header, unit)
    sources, labels, scale, scaled = {}, {}, {}, []
    for canonical, (_, i, header, unit) in chosen.items():
        sources[canonical] = f"c{i}"
        clean = header.replace("\ufeff", "").strip()
        labels[canonical] = canonical if normalise_header(clean) == canonical else f"{clean} ({canonical})"
        declared = table_map.units.get(canonical)
        unit = (declared or unit or "").lower()
        factor = UNITS.get(unit, 1)
        if factor != 1:
            if contract.column(canonical).type != "number":
                raise LoadError(f"{staged.path.name}: header '{clean}' gives the unit {unit}, but {canonical} "
                                "is not an amount or a quantity; rename the header")
            scale[canonical] = factor
            where = "the mapping file" if declared else f"header '{clean}'"
            scaled.append(f"{canonical}: values in {unit} ({where}) were multiplied by {factor:,}")
    missing = [c for c in contract.required_columns if c not in sources and c not in table_map.constants]
    if missing:
        where = f" (header on line {staged.header_line}" + (
            f" of sheet '{staged.sheet}'; sheets in the workbook: {', '.join(staged.sheets)}" if staged.sheet else "")
        if not staged.header_found:
            where += f"; none of the first {HEADER_SEARCH_ROWS} rows names them all, so the first was taken"
        where += ")"
        shown = staged.header_line > 1 or staged.sheet or not staged.header_found
        raise LoadError(
            f"{staged.path.name}: cannot load as table '{contract.name}': missing required column(s) "
            f"{', '.join(missing)}. Headers found{where if shown else ''}: "
            f"{', '.join(h.strip() or '(blank)' for h in staged.headers)}. "
            "Rename the headers or map them in a mapping file (--mapping). The mapping looked for: "
            + "; ".join(f"{c} as {', '.join(_looked_for(c, ranks))}" for c in missing) + "."
        )
    return HeaderMap(sources, labels, ignored, notes, scale, scaled)


def _looked_for(column: str, ranks: dict[str, tuple[str, int]]) -> list[str]:
    """The headers taken for a column, a mapping file's first, then its name and aliases (normalised: case, spaces
    and punctuation do not matter)."""
    return [h for h, _ in sorted(((h, r) for h, (c, r) in ranks.items() if c == column), key=lambda hr: hr[1])]


def _create_table_sql(contract: Contract) -> str:
    cols = ", ".join(f"{c.name} {SQL_TYPES[c.type]}" for c in contract.columns)
    return f"CREATE TABLE IF NOT EXISTS {contract.name} ({cols})"


def _key_match(contract: Contract, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in contract.key)


@dataclass
class TableOutcome:
    """Per file of one table: rows loaded, rows superseded by a later export (and which), warnings."""

    loaded: dict[int, int] = field(default_factory=dict)
    superseded: dict[int, int] = field(default_factory=dict)
    superseded_by: dict[int, list[int]] = field(default_factory=dict)
    warnings: dict[int, list[dict]] = field(default_factory=dict)
    table: str = ""
    months: frozenset[dt.date] = frozenset()  # append: months of the rows added and of the rows they replace


def _load_table(con: duckdb.DuckDBPyConnection, contract: Contract, selects: list[tuple[str, dict]],
                staged: list[tuple[int, StagedFile]], file_names: list[str], load_id: int, mode: Mode,
                order: list[int]) -> TableOutcome:
    """Check keys and references across all files of one table, upsert the good rows.

    `selects` are the files' parse_select queries, in file order; `order` lists the table's file numbers in export
    order. A key twice in one file is a duplicate and rejected; a key in two files is two states of one record: the
    later export's row is loaded and the earlier one is superseded, as an append of the later file would do.

    The files' rows are parsed into one table, `checked_<table>`, in file and line order, and every later check
    changes only the rows it rejects or supersedes: references as one anti-join, keys by one grouping that finds the
    keys held by more than one valid row (the ranking of duplicates and exports then runs on those rows alone)."""
    name = contract.name
    cols = ", ".join(contract.column_names)
    key_cols = ", ".join(contract.key)
    key_text = " || '/' || ".join(f"coalesce(CAST({k} AS VARCHAR), '')" for k in contract.key)
    checked = f"checked_{name}"
    extra = "false AS _superseded, CAST(NULL AS BIGINT) AS _latest_file"
    for i, (sql, params) in enumerate(selects):
        into = f"CREATE TEMP TABLE {checked} AS" if i == 0 else f"INSERT INTO {checked}"
        con.execute(f"{into} SELECT *, {extra} FROM ({sql})", params)
    # references first, so a row that fails them is rejected before it could supersede an earlier export's
    fk = next((c for c in contract.columns if c.references), None)
    if fk is not None and fk.references is not None:
        ref_table, ref_col = fk.references.split(".")
        rejected_refs = f"rejected_{ref_table}"
        known = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
        knock_on = (f"(SELECT '{fk.name} ''' || t.{fk.name} || ''' is not in {ref_table}: it was rejected there ('"
                    f" || r.source_file || ' line ' || r.line || ': ' || r.reason || ')' FROM {rejected_refs} r "
                    f"WHERE r.{ref_col} = t.{fk.name} ORDER BY r.line LIMIT 1)") if rejected_refs in known else "NULL"
        padded = (f"(SELECT '{fk.name} ''' || t.{fk.name} || ''' is not in {ref_table}, but ''' || c.{ref_col} "
                  f"|| ''' is: the leading zeros were probably lost (format the column as text in Excel and export "
                  f"again)' FROM {ref_table} c WHERE ltrim(c.{ref_col}, '0') = ltrim(t.{fk.name}, '0') "
                  f"AND c.{ref_col} <> t.{fk.name} ORDER BY c.{ref_col} LIMIT 1)")
        con.execute(f"""
            UPDATE {checked} t SET _reason = coalesce({knock_on}, {padded},
                   '{fk.name} ''' || t.{fk.name} || ''' is not in {ref_table}')
            WHERE _reason IS NULL AND {fk.name} NOT IN (SELECT {ref_col} FROM {ref_table})""")
    # Keys of more than one valid row: duplicates within a file (all but the first rejected) or states of one record
    # in several exports (all but the latest export's superseded). Every other row is its key's only valid row.
    # Grouped by the key's hash, one number, not by its columns: rows of one key share a hash, so every row of a
    # repeated key is ranked (with the few rows of another key that happen to share its hash, ranked by their own key).
    repeated = f"repeated_{name}"
    key_hash = f"hash({key_cols})"
    con.execute(f"CREATE TEMP TABLE {repeated} AS SELECT {key_hash} AS _key_hash FROM {checked} "
                f"WHERE _reason IS NULL GROUP BY ALL HAVING count(*) > 1")
    if con.execute(f"SELECT count(*) FROM {repeated}").fetchall()[0][0]:
        con.execute(f"""
            UPDATE {checked} t SET _reason = w._reason, _superseded = w._superseded, _latest_file = w._latest_file
            FROM (
                SELECT _file_no, _line,
                       CASE WHEN _dup_rank > 1 THEN 'duplicate {key_cols} ''' || {key_text} || ''' (first on line '
                            || _first_line || ' of ' || $files[_file_no + 1] || ')' END AS _reason,
                       _dup_rank = 1 AND list_position($order, _file_no) < _latest_rank AS _superseded,
                       $order[_latest_rank] AS _latest_file
                FROM (
                    SELECT c.*, row_number() OVER w AS _dup_rank, first_value(c._line) OVER w AS _first_line,
                           max(list_position($order, c._file_no)) OVER (PARTITION BY {key_cols}) AS _latest_rank
                    FROM {checked} c
                    WHERE c._reason IS NULL AND hash({", ".join(f"c.{k}" for k in contract.key)}) IN (
                        SELECT _key_hash FROM {repeated})
                    WINDOW w AS (PARTITION BY {key_cols}, c._file_no ORDER BY c._line))
            ) w
            WHERE t._file_no = w._file_no AND t._line = w._line""", {"files": file_names, "order": order})
    if name == "customers":
        con.execute(f"""CREATE OR REPLACE TEMP TABLE rejected_customers AS
                        SELECT customer_id, $files[_file_no + 1] AS source_file, _line AS line, _reason AS reason
                        FROM {checked} WHERE _reason IS NOT NULL AND customer_id IS NOT NULL""",
                    {"files": file_names})
    good = "_reason IS NULL AND NOT _superseded"
    outcome = TableOutcome(table=name)
    rejected: dict[int, int] = {}
    for file_no, loaded, superseded, later, bad in con.execute(
            f"""SELECT _file_no, count(*) FILTER (WHERE {good}), count(*) FILTER (WHERE _superseded),
                       list(DISTINCT _latest_file ORDER BY _latest_file) FILTER (WHERE _superseded),
                       count(*) FILTER (WHERE _reason IS NOT NULL)
                FROM {checked} GROUP BY _file_no""").fetchall():
        rejected[file_no] = bad
        if loaded:
            outcome.loaded[file_no] = loaded
        if superseded:
            outcome.superseded[file_no], outcome.superseded_by[file_no] = superseded, later
    for file_no, staged_file in staged:
        if rejected.get(file_no):  # the rejected rows as read, from the staged text
            raw, params = raw_row_sql(staged_file.headers)
            con.execute(
                f"""INSERT INTO rejects SELECT $load_id, '{name}', $file, r._line, r._reason, {raw}
                    FROM {checked} r JOIN {staged_file.staging_table} s USING (_line)
                    WHERE r._reason IS NOT NULL AND r._file_no = {file_no} ORDER BY r._line""",
                {"load_id": load_id, "file": file_names[file_no], **params},
            )
        con.execute(f"DROP TABLE {staged_file.staging_table}")
    months: set[dt.date] = set()
    if mode == "append" and (column := MONTH_OF.get(name)):
        month = f"CAST(date_trunc('month', {column}) AS DATE)"
        months = {m for (m,) in con.execute(
            f"""SELECT DISTINCT {month} FROM {checked} WHERE {good} AND {column} IS NOT NULL
                UNION SELECT DISTINCT {month} FROM {name} t WHERE {column} IS NOT NULL AND EXISTS (
                    SELECT 1 FROM {checked} n WHERE n._reason IS NULL AND NOT n._superseded
                    AND {_key_match(contract, 't', 'n')})""").fetchall()}
    if mode == "append":
        con.execute(f"DELETE FROM {name} t WHERE EXISTS (SELECT 1 FROM {checked} n "
                    f"WHERE n._reason IS NULL AND NOT n._superseded AND {_key_match(contract, 't', 'n')})")
    # in file and line order: a parallel read does not keep every row in its place (measured: one block of the
    # 100 k demo's tickets out of place without the sort)
    con.execute(f"INSERT INTO {name} SELECT {cols} FROM {checked} WHERE {good} ORDER BY _file_no, _line")
    outcome.months = frozenset(months)
    for file_no, message, rows in con.execute(
            f"""SELECT _file_no, message, count(*) AS n FROM (
                    SELECT _file_no, unnest(string_split(_warning, '; ')) AS message FROM {checked}
                    WHERE {good} AND _warning IS NOT NULL)
                GROUP BY ALL ORDER BY _file_no, n DESC, message""").fetchall():
        outcome.warnings.setdefault(file_no, []).append({"message": message, "rows": rows})
    for table in (checked, repeated):
        con.execute(f"DROP TABLE {table}")
    return outcome


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
    warehouse: a load finding another at work waits up to `wait_seconds`, then refuses.

    A replace load builds a new file and swaps it in with one rename. An append works in the warehouse file itself,
    inside one DuckDB transaction (a failed or killed append is rolled back: nothing it did is committed), when no one
    else has the file open; when the app is reading it (its read generations are hard links of the file, see
    dashboard/data.py, so the file has more than one link) or another process holds it, the append builds on a copy and
    swaps it in like a replace load, so a reader never sees the file change under it."""
    mapping = mapping or SourceMapping()
    db_path = Path(db_path)
    files = expand_paths(paths)
    say = progress or (lambda event: None)
    resources = load_resources()
    with explained(db_path.parent):
        check_files(files, limits or UploadLimits.from_env())
        # every file's header before anything is staged, copied or written: a file missing a column refuses the load
        tables_of = _tables_of(files, mode, mapping)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        waited = time.perf_counter()
        with one_load_at_a_time(db_path, wait_seconds, lambda message: say(LoadProgress(
                "waiting", 0.0, time.perf_counter() - waited, note=message))):
            started = time.perf_counter()  # the load's own time, not its wait for another
            track = _Tracker(say, started)
            if mode == "append" and not db_path.exists():
                raise LoadError(f"{db_path}: no warehouse to append to; run a replace load first")
            clean_leftovers(db_path.parent)
            with ScratchFolder(db_path.parent, "loading") as workdir:
                con = _open_in_place(db_path) if mode == "append" else None
                new_db = db_path if con is not None else workdir / "warehouse.duckdb"
                if con is None:
                    if mode == "append":
                        shutil.copy2(db_path, new_db)
                    con = duckdb.connect(str(new_db))
                in_place, committed = new_db == db_path, False
                try:
                    _configure(con, resources, workdir)
                    if in_place:
                        con.execute("BEGIN TRANSACTION")
                    report = _build(OneTransaction(con) if in_place else con, files, tables_of, db_path, mode,
                                    mapping, workdir, track)
                    report.swap = "in place, one transaction" if in_place else (
                        "copy of the warehouse, renamed over it" if mode == "append" else "new file, renamed over it")
                    track("committing", 0.99)
                    report.duration_seconds = time.perf_counter() - started
                    con.execute("UPDATE loads SET duration_seconds = $d, report = $r WHERE load_id = $id",
                                {"d": report.duration_seconds, "r": json.dumps(report.to_json(), ensure_ascii=False),
                                 "id": report.load_id})
                    if in_place:
                        con.execute("COMMIT")
                        committed = True
                        # committed in the write-ahead log; a checkpoint that fails now is done at next open
                        with contextlib.suppress(duckdb.Error):
                            con.execute("CHECKPOINT")
                    else:
                        con.execute("CHECKPOINT")
                except BaseException:
                    if in_place and not committed:
                        with contextlib.suppress(duckdb.Error):
                            con.execute("ROLLBACK")
                    raise
                finally:
                    con.close()
                if not in_place:
                    os.replace(new_db, db_path)
                else:
                    os.utime(db_path)  # readers tell a new load by the file's time (dashboard.data.stamp)
    track("done", 1.0)
    return report


class OneTransaction:
    """The load's connection for an in-place append, as the code it runs sees it. A cursor of a DuckDB connection is a
    connection of its own, in a transaction of its own: the metric helpers the query model calls (metrics.inputs'
    loaded_inputs, metrics.query's snapshot look-ups) open cursors, which would read the warehouse as last committed,
    not as this load has changed it (its new source columns, coverage and snapshots). Here a cursor is the load's
    connection itself, which closing a cursor leaves open."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con

    def cursor(self) -> _SameConnection:
        return _SameConnection(self._con)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


class _SameConnection:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con

    def __enter__(self) -> _SameConnection:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def close(self) -> None:
        return None

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def _open_in_place(db_path: Path) -> duckdb.DuckDBPyConnection | None:
    """A read-write connection to the warehouse file itself when no one else reads it, else None: the app's read
    generations are hard links of the file (more than one link), and DuckDB refuses a file another process holds."""
    if os.stat(db_path).st_nlink > 1:
        return None
    try:
        return duckdb.connect(str(db_path))
    except duckdb.Error:
        return None


def _configure(con: duckdb.DuckDBPyConnection, resources, workdir: Path) -> None:
    """DuckDB's memory limit, spill folder and threads for the load (ingest.limits.load_resources)."""
    spill = Path(resources.temp_directory) if resources.temp_directory else workdir / "spill"
    con.execute("SET memory_limit = $m", {"m": resources.memory_limit})
    con.execute("SET temp_directory = $t", {"t": str(spill)})
    if resources.threads:
        con.execute("SET threads = $n", {"n": resources.threads})
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")


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
                # the same memory cap and spill folder as a load: unbounded, a 1 M-customer rebuild took 12 GB
                _configure(con, load_resources(), workdir)
                seconds = build_derived_model(con)
                con.execute("CHECKPOINT")
            os.replace(new_db, db_path)
    return seconds


EXPORT_TIME_SPREAD_NS = 2 * 10**9


def _export_order(files: list[Path]) -> list[Path]:
    """Files in the order they were exported, so a later export's state wins: by modification time, then name;
    by name alone when all were written within two seconds (copied or uploaded together, their times say
    nothing about when they were exported)."""
    times = [p.stat().st_mtime_ns for p in files]
    if max(times) - min(times) <= EXPORT_TIME_SPREAD_NS:
        return sorted(files, key=lambda p: p.name)
    return [p for _, _, p in sorted(zip(times, [p.name for p in files], files))]


def _build(con, files: list[Path], tables_of: dict[int, str], db_path: Path, mode: Mode, mapping: SourceMapping,
           workdir: Path, track: _Tracker) -> LoadReport:
    """The load into `con`; `tables_of` is each file's table (`_tables_of`: every file's header was checked). Each
    file is staged only at its table's turn and dropped once that table is loaded."""
    con.execute(META_DDL)
    before = _model_inputs(con) if mode == "append" else None
    if mode == "replace" and db_path.exists():
        _copy_history(con, db_path)
    for contract in CONTRACTS.values():
        con.execute(_create_table_sql(contract))
    load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchall()[0][0]
    report = LoadReport(ok=True, mode=mode, load_id=load_id)

    # Each table's files are read, checked and loaded before the next table's are read, customers first (every other
    # table refers to them), and a table's staged text is dropped once it is loaded: only one table's text is ever
    # held, so DuckDB never keeps (and rewrites, or spills) the text of the files read before (bench/HISTORY.md).
    sizes = [max(p.stat().st_size, 1) for p in files]
    total_bytes = sum(sizes)
    read_bytes = checked_bytes = 0
    share = PHASE_SHARES["reading"] + PHASE_SHARES["checking"]

    def done() -> float:  # half of a file's share once read, the other half once its table is checked and loaded
        return share * (read_bytes + checked_bytes) / (2 * total_bytes)

    staged_files: dict[int, StagedFile] = {}
    file_reports: dict[int, FileReport] = {}

    def read(n: int, table: str) -> None:
        nonlocal read_bytes
        path = files[n]
        track("reading", done(), name=path.name, step=n + 1, steps=len(files))
        phase_started = time.perf_counter()
        staged = stage_file(con, path, f"stage_{n}", workdir, mapping.sheet_for(table),
                            _header_finder(table, mapping), f"the columns of table '{table}'")
        staged_files[n] = staged
        report.phase_seconds[f"read {path.name}"] = time.perf_counter() - phase_started
        read_bytes += sizes[n]
        track("reading", done(), name=path.name, step=n + 1, steps=len(files),
              rows=staged.rows + len(staged.structural_rejects), rejected=len(staged.structural_rejects))

    file_names = [p.name for p in files]
    outcomes: dict[int, tuple[TableOutcome, int]] = {}
    loaded_tables = [t for t in TABLE_ORDER if t in tables_of.values()]
    for step, table in enumerate(loaded_tables):
        contract = CONTRACTS[table]
        table_map = mapping.for_table(table)
        numbers = [n for n in range(len(files)) if tables_of[n] == table]
        by_file: list[tuple[int, StagedFile, HeaderMap]] = []
        for n in numbers:
            read(n, table)
            staged = staged_files[n]
            headers = _map_headers(staged, contract, mapping)
            # a column the mapping gives a constant value is one the source has (SPEC 5.7)
            record_source_columns(con, table, [*headers.sources, *table_map.constants])
            by_file.append((n, staged, headers))
            file_reports[n] = FileReport(
                file=staged.path.name, table=table, encoding=staged.encoding, ignored_columns=headers.ignored,
                header_line=staged.header_line, sheet=staged.sheet, sheets=staged.sheets,
                skipped=len(staged.skipped), empty_rows=staged.empty_rows,
                skipped_rows=[{"line": line, "reason": reason} for line, reason, _ in staged.skipped[:SKIPPED_LISTED]],
                header_notes=headers.notes, scaled=headers.scaled)
        rows_read = sum(s.rows + len(s.structural_rejects) for _, s, _ in by_file)
        track("checking", done(), name=table, step=step + 1, steps=len(loaded_tables))
        phase_started = time.perf_counter()
        parsed, staged_list = [], []
        for file_no, staged, headers in by_file:
            staged_list.append((file_no, staged))
            options = ColumnOptions(
                formats={c: table_map.formats_for(c) for c in table_map.formats},
                values={c: dict(v) for c, v in table_map.values.items()},
                constants=dict(table_map.constants), scale=headers.scale, excel=staged.excel)
            parsed.append(parse_select(contract, headers.sources, headers.labels, staged.staging_table, file_no,
                                       options))
            if staged.structural_rejects:
                con.executemany(
                    "INSERT INTO rejects VALUES ($1, $2, $3, $4, $5, $6)",
                    [(load_id, table, staged.path.name, line, reason, raw)
                     for line, raw, reason in staged.structural_rejects],
                )
        order = [files.index(p) for p in _export_order([s.path for _, s in staged_list])]
        outcome = _load_table(con, contract, parsed, staged_list, file_names, load_id, mode, order)
        for file_no, _ in staged_list:
            outcomes[file_no] = (outcome, file_no)
        report.phase_seconds[f"check and load {table}"] = time.perf_counter() - phase_started
        checked_bytes += sum(sizes[n] for n in numbers)
        rejected_now = con.execute("SELECT count(*) FROM rejects WHERE load_id = $id AND table_name = $t",
                                   {"id": load_id, "t": table}).fetchall()[0][0]
        track("checking", done(), name=table, step=step + 1, steps=len(loaded_tables), rows=rows_read,
              rejected=rejected_now)
    report.files = [file_reports[n] for n in range(len(files))]

    counts = con.execute(
        """SELECT source_file, count(*) FROM rejects WHERE load_id = $id GROUP BY source_file""",
        {"id": load_id}).fetchall()
    rejected = dict(counts)
    for n, f in enumerate(report.files):
        staged = staged_files[n]
        outcome, _ = outcomes[n]
        f.read = staged.rows + len(staged.structural_rejects)
        f.rejected, f.loaded = rejected.get(f.file, 0), outcome.loaded.get(n, 0)
        f.superseded = outcome.superseded.get(n, 0)
        f.superseded_by = [file_names[i] for i in outcome.superseded_by.get(n, [])]
        f.warnings = outcome.warnings.get(n, [])
    for table, reasons in _top_reasons(con, load_id).items():
        report.top_reasons[table] = reasons

    change = _model_change(con, before, outcomes) if before is not None else None  # before: taken by an append
    report.model = ("whole" if change is None or change.whole else
                    f"from {change.since:%Y-%m} on" if change.since else "only the small whole tables") + (
        f" ({change.why_whole})" if change is not None and change.why_whole else "")
    track("model", PHASE_SHARES["reading"] + PHASE_SHARES["checking"], note=report.model)
    built = build_derived_model(con) if change is None or change.whole else build_derived_model(con, change)
    for part, seconds in built.items():
        report.phase_seconds[f"query model: {part}"] = seconds
    totals: Counter[str] = Counter()
    for f in report.files:
        totals.update({"read": f.read, "loaded": f.loaded, "rejected": f.rejected})
    con.execute(
        "INSERT INTO loads VALUES ($id, $at, $mode, $files, $read, $loaded, $rejected, NULL, NULL)",
        {"id": load_id, "at": dt.datetime.now().replace(microsecond=0), "mode": mode, "files": file_names,
         "read": totals["read"], "loaded": totals["loaded"], "rejected": totals["rejected"]},
    )
    return report


def _closest(contract: Contract, mapping: SourceMapping):
    """For a workbook with no sheet whose header names the table's required columns: the row of a sheet that names
    most of them, the columns it lacks and the headers the mapping looked for (ingest.readers.Closest)."""
    ranks = header_ranks(contract, mapping.columns_for(contract.name))

    def closest(sheet: str, rows: list[tuple[int, list[str]]]) -> tuple[int, str] | None:
        scored = [([c for c in contract.required_columns if c not in _found_columns(row, contract, mapping)], line)
                  for line, row in rows]
        if not scored:
            return None
        missing, line = min(scored, key=lambda s: len(s[0]))
        looked = "; ".join(f"{c} as {', '.join(_looked_for(c, ranks))}" for c in missing)
        return len(missing), (f"Closest: row {line} of sheet '{sheet}', missing required column(s) "
                              f"{', '.join(missing)}; the mapping looked for: {looked}.")

    return closest


def _tables_of(files: list[Path], mode: Mode, mapping: SourceMapping) -> dict[int, str]:
    """Each file's table, from its name (or mapping) or else its header, after checking from the header alone (its
    first rows, read here) that it has every required column of that table, and that a replace load has every
    required table. Raises LoadError naming the first file that cannot load: then nothing was staged or written."""
    tables: dict[int, str] = {}
    named = [mapping.table_for_file(path) or _table_by_name(path) for path in files]
    for n, path in enumerate(files):
        table = named[n]
        describe = f"the columns of table '{table}'" if table else "the columns of any table"
        with duckdb.connect() as con:  # only a Parquet file's schema is read with it
            header = read_header(con, path, mapping.sheet_for(table), _header_finder(table, mapping), describe,
                                 _closest(CONTRACTS[table], mapping) if table else None)
        table = table or _table_by_headers(header.headers, mapping)
        if table is None:
            raise LoadError(
                f"{path.name}: cannot tell which table this file holds. Name the file after the table "
                f"({', '.join(CONTRACTS)}) or list it under [tables.<name>] files in a mapping file. "
                f"Headers found: {', '.join(header.headers)}"
            )
        # a header told by its columns is the first row naming a table's: the row staging finds for that table
        _map_headers(header, CONTRACTS[table], mapping)
        tables[n] = table
    if mode == "replace":
        missing = [t for t in TABLE_ORDER if CONTRACTS[t].required and t not in tables.values()]
        if missing:
            raise LoadError(
                f"a full (replace) load needs the required table(s) {', '.join(missing)}; "
                f"files given: {', '.join(p.name for p in files)}"
            )
    return tables


def _model_inputs(con: duckdb.DuckDBPyConnection) -> tuple[frozenset, int | None]:
    """What decides whether an append may build the query model in part: the source columns recorded (a new one can
    change every ticket's SLA steps) and the model version the warehouse was built with."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    columns = frozenset(con.execute("SELECT table_name, column_name FROM source_columns").fetchall()) \
        if "source_columns" in tables else frozenset()
    version = con.execute("SELECT max(version) FROM model_info").fetchall()[0][0] if "model_info" in tables else None
    return columns, version


def _model_change(con: duckdb.DuckDBPyConnection, before: tuple[frozenset, int | None],
                  outcomes: dict[int, tuple[TableOutcome, int]]) -> ModelChange:
    """What an append changed, for the query model's one step (ingest.model.build_derived_model)."""
    from metrics import MODEL_VERSION

    months: dict[str, set[dt.date]] = {}
    customers = False
    for table, outcome in _outcomes_by_table(outcomes).items():
        if table == "customers":
            customers = True
        elif outcome.months:
            months.setdefault(table, set()).update(outcome.months)
    columns, version = before
    why = None
    if customers:
        why = "the customers changed: every fact carries their attributes and key"
    elif version != MODEL_VERSION:
        why = f"the warehouse's query model is version {version}, this scorecard's {MODEL_VERSION}"
    elif _model_inputs(con)[0] != columns:
        why = "a source brought a column no earlier load had (SLA steps measured)"
    return ModelChange(months={t: frozenset(m) for t, m in months.items()}, customers=customers,
                       whole=why is not None, why_whole=why)


def _outcomes_by_table(outcomes: dict[int, tuple[TableOutcome, int]]) -> dict[str, TableOutcome]:
    return {outcome.table: outcome for outcome, _ in outcomes.values()}


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
