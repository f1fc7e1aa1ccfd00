"""Readers: put one export file (CSV, Excel, Parquet) into a DuckDB staging table of text columns.

Every staged table has `_line` (the line or sheet row a person finds the record on) and
columns c0..cN in the file's order; `headers` keeps the file's own header for each.
CSV lines DuckDB cannot split into the header's columns come back as structural rejects.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ingest.errors import LoadError

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SUPPORTED_SUFFIXES = CSV_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES
CHUNK = 1 << 24


@dataclass
class StagedFile:
    path: Path
    staging_table: str
    headers: list[str]
    encoding: str | None = None
    rows: int = 0  # data rows staged (lines DuckDB could split), set by stage_file
    # (line, raw text, reason) for lines that could not be split into columns
    structural_rejects: list[tuple[int, str, str]] = field(default_factory=list)


def detect_encoding(path: Path) -> str:
    """utf-8-sig / utf-16 by BOM, else utf-8 if the whole file decodes, else gb18030 (a superset of GBK)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    try:
        _transcode(path, "gb18030", io.StringIO())
    except UnicodeDecodeError as exc:
        raise LoadError(
            f"{path.name}: text is neither UTF-8, UTF-16 nor GB18030/GBK (byte {exc.start}); "
            "save it again as UTF-8 or GB18030"
        ) from None
    return "gb18030"


def _transcode(path: Path, encoding: str, out) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            out.write(decoder.decode(chunk))
        out.write(decoder.decode(b"", final=True))


def _first_text(path: Path, encoding: str, size: int = 1 << 16) -> str:
    with open(path, "r", encoding=encoding, newline="") as fh:
        return fh.read(size)


def _sniff_delimiter(sample: str) -> str:
    lines = sample.splitlines()[:50]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in ",;\t|"}
        return max(counts, key=counts.get)


def _columns_sql(count: int) -> str:
    return ", ".join(f"#{i + 1} AS c{i}" for i in range(count))


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, workdir: Path) -> StagedFile:
    encoding = detect_encoding(path)
    sample = _first_text(path, encoding).lstrip("\ufeff")
    if not sample.strip():
        raise LoadError(f"{path.name}: the file is empty; expected a header row and data")
    delimiter = _sniff_delimiter(sample)
    headers = next(csv.reader(io.StringIO(sample.splitlines()[0]), delimiter=delimiter))
    source = path
    if encoding not in ("utf-8", "utf-8-sig"):
        # DuckDB reads UTF-8 only without extensions, so other encodings are decoded here.
        source = Path(tempfile.mkstemp(suffix=".csv", dir=workdir)[1])
        with open(source, "w", encoding="utf-8", newline="") as out:
            _transcode(path, encoding, out)
    rejects_table, rejects_scan = f"{table}_errors", f"{table}_scans"
    con.execute(
        f"""CREATE TEMP TABLE {table} AS
            SELECT row_number() OVER () AS _rn, {_columns_sql(len(headers))}
            FROM read_csv($path, header = true, all_varchar = true, delim = $delim, quote = '"',
                          escape = '"', columns = $columns, store_rejects = true,
                          rejects_table = '{rejects_table}', rejects_scan = '{rejects_scan}',
                          strict_mode = true, auto_detect = false)""",
        {"path": str(source), "delim": delimiter, "columns": {f"c{i}": "VARCHAR" for i in range(len(headers))}},
    )
    errors = con.execute(
        f"SELECT line, csv_line, error_type, error_message FROM {rejects_table} ORDER BY line"
    ).fetchall()
    structural = [(int(line), raw, _structural_reason(kind, msg, len(headers)))
                  for line, raw, kind, msg in _one_per_line(errors)]
    _number_lines(con, table, [line for line, _, _ in structural])
    return StagedFile(path, table, headers, encoding, structural_rejects=structural)


def _one_per_line(errors):
    seen = set()
    for row in errors:
        if row[0] not in seen:
            seen.add(row[0])
            yield row


def _structural_reason(kind: str, message: str, expected: int) -> str:
    if kind == "MISSING COLUMNS":
        return f"line has fewer fields than the {expected} columns of the header ({message})"
    if kind == "TOO MANY COLUMNS":
        return f"line has more fields than the {expected} columns of the header; quote values that contain the delimiter"
    return f"line could not be read: {message}"


def _number_lines(con: duckdb.DuckDBPyConnection, table: str, skipped_lines: list[int]) -> None:
    """Turn the data row number into the file line (header is line 1), stepping over rejected lines."""
    con.execute(f"ALTER TABLE {table} ADD COLUMN _line BIGINT")
    if not skipped_lines:
        con.execute(f"UPDATE {table} SET _line = _rn + 1")
        return
    total = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    all_lines = np.arange(2, total + len(skipped_lines) + 2)
    kept = np.setdiff1d(all_lines, np.asarray(skipped_lines))[:total]
    lines = pd.DataFrame({"rn": np.arange(1, total + 1), "line": kept})
    con.register("_line_map", lines)
    con.execute(f"UPDATE {table} SET _line = _line_map.line FROM _line_map WHERE _rn = _line_map.rn")
    con.unregister("_line_map")


def _cell_text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def stage_excel(con: duckdb.DuckDBPyConnection, path: Path, table: str, sheet: str | None) -> StagedFile:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for damaged workbooks
        raise LoadError(f"{path.name}: not a readable Excel workbook ({exc})") from None
    names = workbook.sheet_names
    if sheet is not None and sheet not in names:
        raise LoadError(f"{path.name}: no sheet named '{sheet}'; sheets found: {', '.join(names)}")
    rows = workbook.get_sheet_by_name(sheet or names[0]).to_python(skip_empty_area=False)
    if not rows:
        raise LoadError(f"{path.name}: sheet '{sheet or names[0]}' is empty; expected a header row and data")
    headers = [_cell_text(h) or "" for h in rows[0]]
    width = len(headers)
    body = [(line, row) for line, row in enumerate(rows[1:], start=2) if any(v not in (None, "") for v in row)]
    frame = pd.DataFrame(
        {f"c{i}": pd.Series([_cell_text(r[i]) if i < len(r) else None for _, r in body], dtype=object)
         for i in range(width)}
    )
    frame.insert(0, "_line", pd.Series([line for line, _ in body], dtype="int64"))
    con.register("_excel_frame", frame)
    cols = ", ".join(f"CAST(c{i} AS VARCHAR) AS c{i}" for i in range(width))
    con.execute(f"CREATE TEMP TABLE {table} AS SELECT _line, {cols} FROM _excel_frame")
    con.unregister("_excel_frame")
    return StagedFile(path, table, headers)


def stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> StagedFile:
    try:
        headers = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": str(path)}).fetchall()]
    except duckdb.Error as exc:
        raise LoadError(f"{path.name}: not a readable Parquet file ({exc})") from None
    cols = ", ".join(f"CAST(#{i + 1} AS VARCHAR) AS c{i}" for i in range(len(headers)))
    con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT row_number() OVER () AS _line, {cols} FROM read_parquet($p)",
        {"p": str(path)},
    )
    return StagedFile(path, table, headers)


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, table: str, workdir: Path,
               sheet: str | None = None) -> StagedFile:
    suffix = path.suffix.lower()
    if not path.exists():
        raise LoadError(f"{path}: file not found")
    if suffix in CSV_SUFFIXES:
        staged = stage_csv(con, path, table, workdir)
    elif suffix in EXCEL_SUFFIXES:
        staged = stage_excel(con, path, table, sheet)
    elif suffix in PARQUET_SUFFIXES:
        staged = stage_parquet(con, path, table)
    else:
        raise LoadError(
            f"{path.name}: unknown file type '{suffix}'; export as CSV, Excel (.xlsx) or Parquet"
        )
    staged.rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    return staged
