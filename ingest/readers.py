"""Readers: put one export file (CSV, Excel, Parquet) into a DuckDB staging table of text columns.

Every staged table has `_line` (the physical line or sheet row a person finds the record on) and
columns c0..cN in the file's order; `headers` keeps the file's own header for each. The header is
the first of the first rows that names the table's columns (title rows and blank lines above it are
passed over). Rows that are not records are taken out before validation: fully empty rows (counted)
and totals rows (合计 / 总计 / 小计, kept as skipped with their line). CSV lines DuckDB cannot split
into the header's columns come back as structural rejects.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ingest.errors import LoadError
from ingest.validate import blank

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SUPPORTED_SUFFIXES = CSV_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES
CHUNK = 1 << 24
HEADER_SEARCH_ROWS = 20
# A totals row names itself in any cell in Chinese, or in its first cell in English.
TOTALS_PATTERN = r"^\s*(合\s*计|总\s*计|小\s*计)\s*[:：]?\s*$"
TOTALS_FIRST_CELL = r"^\s*(合\s*计|总\s*计|小\s*计|total|grand\s+total|sub\s*total)\s*[:：]?\s*$"

# A header finder gets the first rows of a file (lists of cell text) and returns the index of the header row,
# or None when no row names the table's columns.
HeaderFinder = Callable[[list[list[str]]], "int | None"]
# Given a sheet's name and its first non-empty rows (cell text, with their row numbers), how close it comes to a header
# row: (columns missing, what to tell a person), or None. Used to explain a workbook where no sheet has the header.
Closest = Callable[[str, list[tuple[int, list[str]]]], "tuple[int, str] | None"]


@dataclass
class StagedFile:
    path: Path
    staging_table: str
    headers: list[str]
    encoding: str | None = None
    rows: int = 0  # data rows staged (records, after empty and totals rows were taken out)
    header_line: int = 1  # the line (CSV) or sheet row (Excel) taken as the header
    sheet: str | None = None  # the Excel sheet read
    sheets: list[str] = field(default_factory=list)  # every sheet of the workbook
    excel: bool = False  # cells came from a workbook, so bare numbers in date columns are Excel serials
    header_found: bool = True  # False: no row of the first ones named the table's columns; the first was taken
    empty_rows: int = 0  # fully empty rows below the header: not records
    # (line, reason, raw row as JSON) for rows that are not records, e.g. a totals row
    skipped: list[tuple[int, str, str]] = field(default_factory=list)
    # (line, raw text, reason) for lines that could not be split into columns
    structural_rejects: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass
class FileHeader:
    """A file's header as its staging will take it, read from its first rows only (the header row, a sheet's first
    rows, a Parquet file's schema): enough to tell and check its table before any file is staged."""

    path: Path
    headers: list[str]
    header_line: int = 1
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    header_found: bool = True


HEAD_BYTES = 1 << 20  # a CSV's first bytes read for its header: far more than HEADER_SEARCH_ROWS rows


def read_header(con: duckdb.DuckDBPyConnection, path: Path, sheet: str | None = None,
                find_header: HeaderFinder | None = None, describe: str = "the table's columns",
                closest: Closest | None = None) -> FileHeader:
    """The header `stage_file` would take, from the file's first rows: a CSV's first MiB decoded as its encoding
    (told by the BOM, else UTF-8 if those bytes decode, else GB18030), the same sheet and header row of a workbook,
    a Parquet file's column names. Raises the errors staging would for a file that has no header."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise LoadError(f"{path}: file not found")
    if suffix in CSV_SUFFIXES:
        return _csv_header(path, find_header)
    if suffix in EXCEL_SUFFIXES:
        names, name, rows, header_index, header_found = _excel_header(path, sheet, find_header, describe, True, closest)
        return FileHeader(path, [_cell_text(h) or "" for h in rows[header_index]], header_index + 1, name, names,
                          header_found)
    if suffix in PARQUET_SUFFIXES:
        return FileHeader(path, _parquet_columns(con, path), header_line=0)
    raise LoadError(f"{path.name}: unknown file type '{suffix}'; export as CSV, Excel (.xlsx) or Parquet")


def _head_text(path: Path) -> tuple[str, bool]:
    """The text of a CSV's first HEAD_BYTES (a character cut at the end left out) and whether that is all of it."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        whole = not fh.read(1)
    if head.startswith(codecs.BOM_UTF8):
        encodings = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8", "gb18030"]
    for encoding in encodings:
        try:
            return codecs.getincrementaldecoder(encoding)().decode(head, final=whole), whole
        except UnicodeDecodeError as exc:
            if encoding == encodings[-1]:
                raise not_text(path, exc) from None
    raise AssertionError("unreachable")


def _csv_header(path: Path, find_header: HeaderFinder | None) -> FileHeader:
    text, whole = _head_text(path)
    if not text.strip():
        raise LoadError(f"{path.name}: the file is empty; expected a header row and data")
    # the delimiter from the same 64 KiB of UTF-8 text stage_csv sniffs it from
    sample = text.encode("utf-8")[: 1 << 16].decode("utf-8", errors="ignore")
    delimiter = _sniff_delimiter(sample.splitlines()[: 4 * HEADER_SEARCH_ROWS])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, first_lines, line = [], [], 0
    for row in reader:
        rows.append(row)
        first_lines.append(line + 1)
        line = reader.line_num
        if len(rows) == 4 * HEADER_SEARCH_ROWS:
            break
    else:
        if not whole and rows:  # the head ended inside its last record
            rows.pop()
    header_index, header_found = _pick_header(rows, find_header)
    if header_index < 0:
        raise LoadError(f"{path.name}: the file is empty; expected a header row and data")
    return FileHeader(path, rows[header_index], first_lines[header_index], header_found=header_found)


def detect_encoding(path: Path) -> str:
    """utf-8-sig / utf-16 by BOM, else utf-8 if the whole file decodes, else gb18030 (a superset of GBK). A GB18030
    file is not decoded here: the caller decodes it once and says what `not_text` says when that fails."""
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
    return "gb18030"


def not_text(path: Path, exc: UnicodeDecodeError) -> LoadError:
    return LoadError(f"{path.name}: text is neither UTF-8, UTF-16 nor GB18030/GBK (byte {exc.start}); "
                     "save it again as UTF-8 or GB18030")


def _transcode(path: Path, encoding: str, out) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            out.write(decoder.decode(chunk))
        out.write(decoder.decode(b"", final=True))


def _sniff_delimiter(lines: list[str]) -> str:
    lines = [line for line in lines if line.strip()][:50]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: max(line.count(d) for line in lines) for d in ",;\t|"}
        return max(counts, key=lambda d: counts[d])


SCAN_CHUNK = 1 << 26  # bytes of a CSV scanned at a time for its records: the scan's memory does not grow with the file


def _scan_records(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`_record_starts` of a file read chunk by chunk (the quotes' parity carried over), without mapping the whole
    file into memory, and the first byte of each record (a blank record's is a space, tab, CR or its line break)."""
    size = path.stat().st_size
    ends, end_lines = [], []
    firsts: list[np.ndarray] = []
    parity = newlines_before = offset = 0
    pending_first = False  # the last chunk ended on a record's line break: the next record's first byte is next
    buf = np.empty(min(SCAN_CHUNK, max(size, 1)), dtype=np.uint8)
    with open(path, "rb", buffering=0) as fh:
        head = fh.read(1)
        first_byte = head[0] if head else 10
        fh.seek(0)
        while n := fh.readinto(buf.data):
            chunk = buf[:n]
            if pending_first:
                firsts[-1][-1] = chunk[0]
            newlines = np.flatnonzero(chunk == 10)
            quotes = np.flatnonzero(chunk == 34)
            ending = np.flatnonzero((np.searchsorted(quotes, newlines) + parity) % 2 == 0)
            local = newlines[ending]
            ends.append(local + offset)
            end_lines.append(ending + newlines_before + 2)
            nxt = local + 1
            first = np.full(len(local), 10, dtype=np.uint8)
            inside = nxt < n
            first[inside] = chunk[nxt[inside]]
            pending_first = bool(len(local)) and not inside[-1]
            firsts.append(first)
            parity = (parity + len(quotes)) % 2
            newlines_before += len(newlines)
            offset += n
    ends_all = np.concatenate(ends) if ends else np.empty(0, dtype=np.int64)
    starts = np.concatenate(([0], ends_all + 1))
    lines = np.concatenate(([1], np.concatenate(end_lines) if end_lines else np.empty(0, dtype=np.int64)))
    stops = np.concatenate((ends_all, [size]))
    first_bytes = np.concatenate(([first_byte], *firsts)).astype(np.uint8)
    keep = starts < size
    return starts[keep], lines[keep], stops[keep], first_bytes[keep]


def _record_starts(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Byte offset, physical line and byte end of every CSV record (a line break inside quotes does not end one)."""
    newlines = np.flatnonzero(data == 10)
    quotes = np.flatnonzero(data == 34)
    # a newline ends a record when an even number of quotes stands before it
    ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    starts = np.concatenate(([0], ends + 1))
    lines = np.concatenate(([1], np.searchsorted(newlines, ends) + 2))
    stops = np.concatenate((ends, [len(data)]))
    keep = starts < len(data)
    return starts[keep], lines[keep], stops[keep]


def _cells_empty(cells: list[str]) -> bool:
    return all(not (c or "").strip() for c in cells)


def _pick_header(rows: list[list[str]], find_header: HeaderFinder | None) -> tuple[int, bool]:
    """Index of the header among the first non-empty rows, and whether the finder recognised it (else it is
    the first non-empty row)."""
    candidates = [i for i, row in enumerate(rows) if not _cells_empty(row)][:HEADER_SEARCH_ROWS]
    if not candidates:
        return -1, False
    if find_header is not None:
        found = find_header([rows[i] for i in candidates])
        if found is not None:
            return candidates[found], True
    return candidates[0], find_header is None


def _columns_sql(count: int) -> str:
    return ", ".join(f"#{i + 1} AS c{i}" for i in range(count))


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, workdir: Path,
              find_header: HeaderFinder | None = None) -> StagedFile:
    encoding = detect_encoding(path)
    source = path
    if encoding != "utf-8":
        # DuckDB reads UTF-8 only without extensions, so other encodings (and a BOM) are decoded here, once.
        fd, name = tempfile.mkstemp(suffix=".csv", dir=workdir)
        os.close(fd)  # left open, it kept the copy's room taken after the copy was removed, until the load's end
        source = Path(name)
        with open(source, "w", encoding="utf-8", newline="") as out:
            try:
                _transcode(path, encoding, out)
            except UnicodeDecodeError as exc:
                raise not_text(path, exc) from None
    with open(source, "rb") as fh:
        has_text = bool(fh.read(1 << 16).strip())
    if not has_text:
        raise LoadError(f"{path.name}: the file is empty; expected a header row and data")
    starts, lines, stops, first_bytes = _scan_records(source)
    with open(source, "rb") as fh:
        head_count = min(len(starts), 4 * HEADER_SEARCH_ROWS)
        head_end = int(stops[head_count - 1]) if head_count else 0
        head_text = fh.read(head_end).decode("utf-8", errors="replace")
        fh.seek(0)
        sample = fh.read(1 << 16).decode("utf-8", errors="ignore")
        delimiter = _sniff_delimiter(sample.splitlines()[: 4 * HEADER_SEARCH_ROWS])
        head_rows = list(csv.reader(io.StringIO(head_text), delimiter=delimiter))
        # csv.reader drops nothing, but a blank line is an empty list: keep indices aligned with records
        header_index, header_found = _pick_header(head_rows, find_header)
        if header_index < 0:
            raise LoadError(f"{path.name}: the file is empty; expected a header row and data")
        headers = head_rows[header_index]
        header_line = int(lines[header_index])
        after = slice(header_index + 1, None)
        body_starts, body_lines, body_stops = starts[after], lines[after], stops[after]
        blank = _blank_records(fh, body_starts, body_stops, first_bytes[after])
    records = body_lines[~blank]
    # one line per record, none blank: the usual file, where each row's line follows from its number
    first_line = int(records[0]) - 1 if len(records) and records[-1] - records[0] == len(records) - 1 else None
    rejects_table, rejects_scan = f"{table}_errors", f"{table}_scans"
    con.execute(
        f"""CREATE TEMP TABLE {table} AS
            SELECT row_number() OVER () AS _rn,
                   {"CAST(NULL AS BIGINT)" if first_line is None else f"row_number() OVER () + {first_line}"} AS _line,
                   {_columns_sql(len(headers))}
            FROM read_csv($path, header = true, skip = $skip, all_varchar = true, delim = $delim, quote = '"',
                          escape = '"', columns = $columns, store_rejects = true,
                          rejects_table = '{rejects_table}', rejects_scan = '{rejects_scan}',
                          strict_mode = true, auto_detect = false)""",
        {"path": str(source), "skip": header_line - 1, "delim": delimiter,
         "columns": {f"c{i}": "VARCHAR" for i in range(len(headers))}},
    )
    errors = con.execute(
        f"SELECT line_byte_position, csv_line, error_type, error_message FROM {rejects_table} ORDER BY line"
    ).fetchall()
    # the staged table holds every cell now: the decoded copy and DuckDB's rejects tables are not needed again
    con.execute(f"DROP TABLE IF EXISTS {rejects_table}")
    con.execute(f"DROP TABLE IF EXISTS {rejects_scan}")
    if source != path:
        source.unlink(missing_ok=True)
    # which record each structural error belongs to (DuckDB counts the byte where the line starts)
    rejected: dict[int, tuple[str, str, str]] = {}
    for position, raw, kind, message in errors:
        record = int(np.searchsorted(body_starts, int(position), side="right")) - 1
        record = max(record, 0)
        if record < len(body_starts) and record not in rejected:
            rejected[record] = (raw.strip("\r\n"), kind, message)
    structural = [(int(body_lines[r]), raw, _structural_reason(kind, msg, len(headers)))
                  for r, (raw, kind, msg) in sorted(rejected.items()) if not blank[r]]
    keep = ~blank
    keep[list(rejected)] = False
    good = np.flatnonzero(keep)
    total = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    if total != len(good):
        raise LoadError(
            f"{path.name}: could not tell which line each record is on ({total} records read, {len(good)} expected); "
            "check for unbalanced quotes and save the file again"
        )
    if first_line is None or rejected:
        line_map = pd.DataFrame({"rn": np.arange(1, total + 1, dtype=np.int64),
                                 "line": body_lines[good].astype(np.int64)})
        con.register("_line_map", line_map)
        con.execute(f"UPDATE {table} SET _line = _line_map.line FROM _line_map WHERE _rn = _line_map.rn")
        con.unregister("_line_map")
    staged = StagedFile(path, table, headers, encoding, header_line=header_line, structural_rejects=structural,
                        header_found=header_found)
    staged.empty_rows = int(blank.sum())
    return staged


def _blank_records(fh, starts: np.ndarray, stops: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Records holding nothing but spaces, tabs and CR: only those starting with one (or empty) need a look."""
    blank = np.zeros(len(starts), dtype=bool)
    if len(starts) == 0:
        return blank
    maybe = np.flatnonzero((stops <= starts) | np.isin(first, (9, 10, 13, 32)))
    for i in maybe:
        fh.seek(int(starts[i]))
        blank[i] = not fh.read(max(int(stops[i] - starts[i]), 0)).strip()
    return blank


def _structural_reason(kind: str, message: str, expected: int) -> str:
    if kind == "MISSING COLUMNS":
        return f"line has fewer fields than the {expected} columns of the header ({message})"
    if kind == "TOO MANY COLUMNS":
        return (f"line has more fields than the {expected} columns of the header; quote values that contain the "
                "delimiter")
    return f"line could not be read: {message}"


def _cell_text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # beyond 15 digits a float no longer holds every digit: keep Excel's rounding visible
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return text + f".{value.microsecond // 1000:03d}" if value.microsecond else text
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _excel_header(path: Path, sheet: str | None, find_header: HeaderFinder | None, describe: str,
                  head_only: bool = False, closest: Closest | None = None) -> tuple[list[str], str, list, int, bool]:
    """The workbook's sheets, the sheet read (the named one, else the first with a header row the finder knows), its
    rows (only the first ones the header is looked for in, `head_only`), the header row's index and whether the
    finder recognised it."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for damaged workbooks
        raise LoadError(f"{path.name}: not a readable Excel workbook ({exc})") from None
    names = list(workbook.sheet_names)
    if sheet is not None and sheet not in names:
        raise LoadError(f"{path.name}: no sheet named '{sheet}'; sheets found: {', '.join(names)}")
    chosen, near = None, []
    for name in [sheet] if sheet is not None else names:
        rows = workbook.get_sheet_by_name(name).to_python(
            skip_empty_area=False, **({"nrows": 4 * HEADER_SEARCH_ROWS} if head_only else {}))
        texts = [[_cell_text(v) or "" for v in row] for row in rows[: 4 * HEADER_SEARCH_ROWS]]
        if find_header is None or sheet is not None:
            chosen = (name, rows, *_pick_header(texts, find_header))
            break
        candidates = [i for i, row in enumerate(texts) if not _cells_empty(row)][:HEADER_SEARCH_ROWS]
        found = find_header([texts[i] for i in candidates]) if candidates else None
        if found is not None:
            chosen = (name, rows, candidates[found], True)
            break
        if closest is not None and (how := closest(name, [(i + 1, texts[i]) for i in candidates])):
            near.append(how)
    if chosen is None:
        raise LoadError(
            f"{path.name}: no sheet has a header row with {describe}; sheets read: {', '.join(names)}. "
            "Name the sheet in a mapping file (sheet = \"...\") or rename the headers"
            + (f". {min(near, key=lambda how: how[0])[1]}" if near else "")
        )
    name, rows, header_index, header_found = chosen
    if header_index < 0:
        raise LoadError(f"{path.name}: sheet '{name}' is empty; expected a header row and data "
                        f"(sheets found: {', '.join(names)})")
    return names, name, rows, header_index, header_found


def stage_excel(con: duckdb.DuckDBPyConnection, path: Path, table: str, sheet: str | None,
                find_header: HeaderFinder | None = None, describe: str = "the table's columns") -> StagedFile:
    names, name, rows, header_index, header_found = _excel_header(path, sheet, find_header, describe)
    headers = [_cell_text(h) or "" for h in rows[header_index]]
    width = len(headers)
    body, empty = [], 0
    for line, row in enumerate(rows[header_index + 1:], start=header_index + 2):
        cells = [_cell_text(row[i]) if i < len(row) else None for i in range(width)]
        if all(c is None or not c.strip() for c in cells) and all(v in (None, "") for v in row[width:]):
            empty += 1
        else:
            body.append((line, cells))
    frame = pd.DataFrame({f"c{i}": pd.Series([cells[i] for _, cells in body], dtype=object) for i in range(width)})
    frame.insert(0, "_line", pd.Series([line for line, _ in body], dtype="int64"))
    con.register("_excel_frame", frame)
    cols = ", ".join(f"CAST(c{i} AS VARCHAR) AS c{i}" for i in range(width))
    con.execute(f"CREATE TEMP TABLE {table} AS SELECT _line, {cols} FROM _excel_frame")
    con.unregister("_excel_frame")
    staged = StagedFile(path, table, headers, header_line=header_index + 1, sheet=name, sheets=names, excel=True,
                        header_found=header_found)
    staged.empty_rows = empty
    return staged


def _parquet_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    try:
        return [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": str(path)}).fetchall()]
    except duckdb.Error as exc:
        raise LoadError(f"{path.name}: not a readable Parquet file ({exc})") from None


def stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> StagedFile:
    headers = _parquet_columns(con, path)
    cols = ", ".join(f"CAST(#{i + 1} AS VARCHAR) AS c{i}" for i in range(len(headers)))
    con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT row_number() OVER () AS _line, {cols} FROM read_parquet($p)",
        {"p": str(path)},
    )
    return StagedFile(path, table, headers, header_line=0)


def _take_out_non_records(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> None:
    """Fully empty rows are not records; a totals row (合计 / 总计 / 小计) is skipped and reported with its line."""
    table, width = staged.staging_table, len(staged.headers)
    if width == 0:
        return
    cells = [f"c{i}" for i in range(width)]
    # cell by cell, no row's text joined, each in a WHERE of its own: there DuckDB tests a cell only on the rows the
    # cells before it left (a row whose first cell has text is passed at the first test)
    empty = "(" + " AND ".join(blank(c) for c in cells) + ")"
    # a cheap test first (计 or total somewhere), the patterns only on the rows that pass it
    maybe = "(" + " OR ".join([*(f"contains({c}, '计')" for c in cells), "contains(lower(c0), 'total')"]) + ")"
    staged.empty_rows += con.execute(f"DELETE FROM {table} WHERE {empty}").fetchall()[0][0]
    candidates = con.execute(f"SELECT count(*) FROM {table} WHERE {maybe}").fetchall()[0][0]
    if not candidates:
        return
    exact = " OR ".join(["regexp_matches(lower(c0), $first)",
                         *(f"regexp_matches({c}, $pattern)" for c in cells[1:])])
    totals = f"({maybe}) AND ({exact})"
    patterns = {"pattern": TOTALS_PATTERN, "first": TOTALS_FIRST_CELL}
    raw = "json_object(" + ", ".join(f"$h{i}, c{i}" for i in range(width)) + ")"
    params = {**patterns, **{f"h{i}": h for i, h in enumerate(staged.headers)}}
    rows = con.execute(f"SELECT _line, {raw} FROM {table} WHERE {totals} ORDER BY _line", params).fetchall()
    for line, raw_row in rows:
        word = next(v for v in json.loads(raw_row).values()
                    if v and re.match(TOTALS_FIRST_CELL, v.lower()))
        staged.skipped.append((int(line), f"totals row ('{word.strip()}'), not a record", raw_row))
    if rows:
        con.execute(f"DELETE FROM {table} WHERE {totals}", patterns)


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, table: str, workdir: Path,
               sheet: str | None = None, find_header: HeaderFinder | None = None,
               describe: str = "the table's columns") -> StagedFile:
    suffix = path.suffix.lower()
    if not path.exists():
        raise LoadError(f"{path}: file not found")
    if suffix in CSV_SUFFIXES:
        staged = stage_csv(con, path, table, workdir, find_header)
    elif suffix in EXCEL_SUFFIXES:
        staged = stage_excel(con, path, table, sheet, find_header, describe)
    elif suffix in PARQUET_SUFFIXES:
        staged = stage_parquet(con, path, table)
    else:
        raise LoadError(
            f"{path.name}: unknown file type '{suffix}'; export as CSV, Excel (.xlsx) or Parquet"
        )
    _take_out_non_records(con, staged)
    staged.rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    return staged
