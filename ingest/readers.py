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
from collections.abc import Callable, Generator, Iterator
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
    # a CSV's: a temporary table of the lines of the only records that can be totals rows (their bytes hold 计 or
    # total in any case), found as the file was scanned; None: every row is tested
    totals_lines: str | None = None


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


SCAN_CHUNK = 1 << 24  # bytes of a CSV scanned at a time for its records: a piece's records, never the whole file's


@dataclass
class _Piece:
    """The records of a CSV whose ends lie in one SCAN_CHUNK of its bytes (the last piece: also the one with no
    line break after it), in file order: the first one's number among all records (0 is the file's first), each
    one's byte offset, physical line, byte end, and first byte (a blank record's is a space, tab, CR or its line
    break), and whether it may be a totals row: its bytes hold 计 or total (in any case), or it may hold them across
    the piece's bytes before (the piece's first record, and the last record of the file)."""

    first: int
    starts: np.ndarray
    lines: np.ndarray
    stops: np.ndarray
    first_bytes: np.ndarray
    totals: np.ndarray


TOTALS_WORDS = ("计".encode(), b"total")  # in a totals row's cells (TOTALS_PATTERN, TOTALS_FIRST_CELL)


def _word_starts(chunk: np.ndarray) -> np.ndarray:
    """Where 计 (its UTF-8 bytes) or total in any ASCII case starts in a chunk, wholly inside it."""
    found = []
    low = chunk | 0x20  # an ASCII letter's lower case (other bytes change too, but never into a letter of 'total')
    for word, bytes_ in ((TOTALS_WORDS[0], chunk), (TOTALS_WORDS[1], low)):
        at = np.flatnonzero(bytes_[: len(bytes_) - len(word) + 1] == word[0])
        for k in range(1, len(word)):
            at = at[bytes_[at + k] == word[k]]
        found.append(at)
    return np.concatenate(found)


def _record_pieces(path: Path) -> Generator[_Piece]:
    """A CSV's records piece by piece (a line break inside quotes does not end one; the quotes' parity is carried
    from piece to piece): only one piece's arrays are held at a time, however long the file."""
    size = path.stat().st_size
    parity = newlines_before = offset = number = 0
    start, line = 0, 1  # where the next record starts, and its line
    first_byte: int | None = None  # the next record's first byte, when it is already read
    buf = np.empty(min(SCAN_CHUNK, max(size, 1)), dtype=np.uint8)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf.data):
            chunk = buf[:n]
            if first_byte is None:
                first_byte = int(chunk[0])
            newlines = np.flatnonzero(chunk == 10)
            quotes = np.flatnonzero(chunk == 34)
            # a newline ends a record when an even number of quotes stands before it
            ending = np.flatnonzero((np.searchsorted(quotes, newlines) + parity) % 2 == 0)
            if len(ending):
                local = newlines[ending]
                stops = local + offset
                starts = np.empty(len(local), dtype=np.int64)
                starts[0], starts[1:] = start, stops[:-1] + 1
                lines = np.empty(len(local), dtype=np.int64)
                lines[0], lines[1:] = line, ending[:-1] + newlines_before + 2
                first_bytes = np.empty(len(local), dtype=np.uint8)
                first_bytes[0], first_bytes[1:] = first_byte, chunk[local[:-1] + 1]
                totals = np.zeros(len(local), dtype=bool)
                # a word is in the first record ending at or after it; one after the last belongs to a later piece
                held = np.searchsorted(local, _word_starts(chunk))
                totals[held[held < len(local)]] = True
                totals[0] = True  # it may have started in a chunk before, the word across the two
                yield _Piece(number, starts, lines, stops, first_bytes, totals)
                number += len(local)
                start, line = int(stops[-1]) + 1, int(ending[-1] + newlines_before + 2)
                first_byte = int(chunk[local[-1] + 1]) if local[-1] + 1 < n else None
            parity = (parity + len(quotes)) % 2
            newlines_before += len(newlines)
            offset += n
    if start < size:  # the last record, with no line break after it
        yield _Piece(number, np.array([start], dtype=np.int64), np.array([line], dtype=np.int64),
                     np.array([size], dtype=np.int64), np.array([first_byte or 10], dtype=np.uint8),
                     np.ones(1, dtype=bool))


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


def _head_records(path: Path, count: int) -> list[tuple[int, int]]:
    """(physical line, byte end) of a CSV's first `count` records, from its first pieces only."""
    head: list[tuple[int, int]] = []
    pieces = _record_pieces(path)
    for piece in pieces:
        take = count - len(head)
        head += zip(piece.lines[:take].tolist(), piece.stops[:take].tolist(), strict=True)
        if len(head) >= count:
            break
    pieces.close()
    return head


def _body_pieces(path: Path, first: int) -> Iterator[tuple[_Piece, bool]]:
    """The pieces of records from record `first` on (the records above it left out), each with whether it is the
    last."""
    held = None
    for piece in _record_pieces(path):
        skip = first - piece.first
        if skip >= len(piece.starts):
            continue
        if skip > 0:
            piece = _Piece(first, piece.starts[skip:], piece.lines[skip:], piece.stops[skip:],
                           piece.first_bytes[skip:], piece.totals[skip:])
        if held is not None:
            yield held, False
        held = piece
    if held is not None:
        yield held, True


LINE_MARKS = 1 << 16  # line marks held before they are written to the staging's own table of them


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, workdir: Path,
              find_header: HeaderFinder | None = None) -> StagedFile:
    """Stage a CSV: DuckDB reads the records into `table` (text columns c0..cN after `_line`, the record's physical
    line); the file is then scanned piece by piece for its records' lines, blank records and the records DuckDB
    could not split, so what is held does not grow with the file. A staged row's line is its number plus an offset
    that changes only where a record before it spans lines, is blank or is rejected: only those changes ("line
    marks") are kept, and only the rows after one whose offset is not the usual file's are updated."""
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
    try:
        return _stage_utf8(con, path, source, table, encoding, find_header)
    finally:
        if source != path:
            source.unlink(missing_ok=True)


def _stage_utf8(con: duckdb.DuckDBPyConnection, path: Path, source: Path, table: str, encoding: str,
                find_header: HeaderFinder | None) -> StagedFile:
    with open(source, "rb") as fh:
        has_text = bool(fh.read(1 << 16).strip())
    if not has_text:
        raise LoadError(f"{path.name}: the file is empty; expected a header row and data")
    # one record more than the header is looked for in: the line of the record after the header
    head = _head_records(source, 4 * HEADER_SEARCH_ROWS + 1)
    with open(source, "rb") as fh:
        head_count = min(len(head), 4 * HEADER_SEARCH_ROWS)
        head_end = head[head_count - 1][1] if head_count else 0
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
    header_line = head[header_index][0]
    # the usual file: record n below the header is on the header's next line plus n - 1
    base = head[header_index + 1][0] - 1 if header_index + 1 < len(head) else header_line
    rejects_table, rejects_scan = f"{table}_errors", f"{table}_scans"
    con.execute(
        f"""CREATE TEMP TABLE {table} AS
            SELECT row_number() OVER () + {int(base)} AS _line,
                   {_columns_sql(len(headers))}
            FROM read_csv($path, header = true, skip = $skip, all_varchar = true, delim = $delim, quote = '"',
                          escape = '"', columns = $columns, store_rejects = true,
                          rejects_table = '{rejects_table}', rejects_scan = '{rejects_scan}',
                          strict_mode = true, auto_detect = false)""",
        {"path": str(source), "skip": header_line - 1, "delim": delimiter,
         "columns": {f"c{i}": "VARCHAR" for i in range(len(headers))}},
    )
    errors = con.execute(
        f"SELECT line_byte_position, csv_line, error_type, error_message FROM {rejects_table} "
        "ORDER BY line_byte_position, line"
    ).fetchall()
    con.execute(f"DROP TABLE IF EXISTS {rejects_table}")
    con.execute(f"DROP TABLE IF EXISTS {rejects_scan}")
    positions = np.array([int(e[0]) for e in errors], dtype=np.int64)
    marks = f"{table}_lines"
    con.execute(f"CREATE TEMP TABLE {marks} (rn BIGINT, delta BIGINT)")
    held: list[tuple[np.ndarray, np.ndarray]] = []

    def write_marks() -> None:
        if held:
            frame = pd.DataFrame({"rn": np.concatenate([r for r, _ in held]),
                                  "delta": np.concatenate([d for _, d in held])})
            con.register("_line_marks", frame)
            con.execute(f"INSERT INTO {marks} SELECT rn, delta FROM _line_marks")
            con.unregister("_line_marks")
            held.clear()

    # the lines of the records that may be totals rows, for _take_out_non_records to test alone
    totals_table = f"{table}_totals"
    con.execute(f"CREATE TEMP TABLE {totals_table} (line BIGINT)")
    maybe: list[np.ndarray] = []

    def write_maybe() -> None:
        if maybe:
            con.register("_totals_lines", pd.DataFrame({"line": np.concatenate(maybe)}))
            con.execute(f"INSERT INTO {totals_table} SELECT line FROM _totals_lines")
            con.unregister("_totals_lines")
            maybe.clear()

    structural: list[tuple[int, str, str]] = []
    kept = empty = taken = written = 0  # records staged, blank records, errors placed, marks written
    last_delta: int | None = None
    carried = np.empty(0, dtype=np.int64)  # errors that belong to the first record of a later piece
    with open(source, "rb") as fh:
        for piece, last in _body_pieces(source, header_index + 1):
            blank, hollow = _blank_records(fh, piece.starts, piece.stops, piece.first_bytes)
            rejected = np.zeros(len(blank), dtype=bool)
            # DuckDB's errors on this piece's records (it counts the byte where the line starts); one before the first
            # record counts for the first, one after the last for the last
            upto = len(positions) if last else int(np.searchsorted(positions, piece.stops[-1], side="right"))
            numbers = np.concatenate((carried, np.arange(taken, upto, dtype=np.int64)))
            records = np.concatenate((np.zeros(len(carried), dtype=np.int64),
                                      np.searchsorted(piece.starts, positions[taken:upto], side="right") - 1))
            taken = upto
            # one DuckDB places on an empty line (in a CRLF file, the blank line before the record) is the next
            # record's: DuckDB passes empty lines over without a word
            solid = np.flatnonzero(~hollow)
            at = np.searchsorted(solid, np.maximum(records, 0))
            later = at >= len(solid)
            if last:  # none after the last record: its own
                records = np.full(len(records), len(blank) - 1, dtype=np.int64)
                records[~later] = solid[at[~later]]
                carried = np.empty(0, dtype=np.int64)
            else:
                carried, numbers, records = numbers[later], numbers[~later], solid[at[~later]]
            if len(numbers):
                first_records, firsts = np.unique(records, return_index=True)
                rejected[first_records] = True
                for record, e in zip(first_records.tolist(), numbers[firsts].tolist(), strict=True):
                    if not blank[record]:
                        _, raw, kind, message = errors[e]
                        structural.append((int(piece.lines[record]), raw.strip("\r\n"),
                                           _structural_reason(kind, message, len(headers))))
            empty += int(blank.sum())
            keep = ~(blank | rejected)
            lines = piece.lines[keep]
            if (candidates := lines[piece.totals[keep]]).size:
                maybe.append(candidates)
                if sum(len(m) for m in maybe) >= LINE_MARKS:
                    write_maybe()
            rns = np.arange(kept + 1, kept + 1 + len(lines), dtype=np.int64)
            deltas = lines - rns
            if not len(deltas):
                continue
            # where the offset changes (the first record's always starts one)
            change = np.flatnonzero(np.diff(deltas, prepend=deltas[0] - 1 if last_delta is None else last_delta))
            if len(change):
                held.append((rns[change], deltas[change]))
                written += len(change)
                if sum(len(r) for r, _ in held) >= LINE_MARKS:
                    write_marks()
            last_delta = int(deltas[-1])
            kept += len(lines)
    total = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    if total != kept:
        con.execute(f"DROP TABLE {marks}")
        con.execute(f"DROP TABLE {totals_table}")
        raise LoadError(
            f"{path.name}: could not tell which line each record is on ({total} records read, {kept} expected); "
            "check for unbalanced quotes and save the file again"
        )
    # the usual file has one mark, the base the table was made with: then no row's line changes
    usual = written == 0 or (written == 1 and len(held) == 1 and int(held[0][1][0]) == base)
    if not usual:
        write_marks()
        con.execute(
            # a row's number is its line less the base it was made with
            f"""UPDATE {table} SET _line = {table}._line - $base + m.delta
                FROM (SELECT rn, lead(rn, 1, 9223372036854775807) OVER (ORDER BY rn) AS rn_to, delta
                      FROM {marks}) m
                WHERE {table}._line - $base >= m.rn AND {table}._line - $base < m.rn_to AND m.delta <> $base""",
            {"base": int(base)})
    con.execute(f"DROP TABLE {marks}")
    write_maybe()
    staged = StagedFile(path, table, headers, encoding, header_line=header_line, structural_rejects=structural,
                        header_found=header_found, totals_lines=totals_table)
    staged.empty_rows = empty
    return staged


def _blank_records(fh, starts: np.ndarray, stops: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Records holding nothing but spaces, tabs and CR (blank), and those holding nothing but CR (hollow: empty lines):
    only those starting with one (or empty) need a look."""
    blank = np.zeros(len(starts), dtype=bool)
    hollow = np.zeros(len(starts), dtype=bool)
    maybe = np.flatnonzero((stops <= starts) | np.isin(first, (9, 10, 13, 32)))
    for i in maybe:
        fh.seek(int(starts[i]))
        text = fh.read(max(int(stops[i] - starts[i]), 0))
        blank[i] = not text.strip()
        hollow[i] = not text.strip(b"\r\n")
    return blank, hollow


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
        _drop_totals_lines(con, staged)
        return
    cells = [f"c{i}" for i in range(width)]
    # cell by cell, no row's text joined, each in a WHERE of its own: there DuckDB tests a cell only on the rows the
    # cells before it left (a row whose first cell has text is passed at the first test)
    empty = "(" + " AND ".join(blank(c) for c in cells) + ")"
    # a cheap test first (计 or total somewhere), the patterns only on the rows that pass it
    maybe = "(" + " OR ".join([*(f"contains({c}, '计')" for c in cells), "contains(lower(c0), 'total')"]) + ")"
    staged.empty_rows += con.execute(f"DELETE FROM {table} WHERE {empty}").fetchall()[0][0]
    if staged.totals_lines is not None:
        # a CSV's scan found the only records that can be totals rows: the test runs on those lines alone
        if not con.execute(f"SELECT count(*) FROM {staged.totals_lines}").fetchall()[0][0]:
            _drop_totals_lines(con, staged)
            return
        maybe = f"(_line IN (SELECT line FROM {staged.totals_lines}) AND {maybe})"
    candidates = con.execute(f"SELECT count(*) FROM {table} WHERE {maybe}").fetchall()[0][0]
    if not candidates:
        _drop_totals_lines(con, staged)
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
    _drop_totals_lines(con, staged)


def _drop_totals_lines(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> None:
    if staged.totals_lines is not None:
        con.execute(f"DROP TABLE IF EXISTS {staged.totals_lines}")
        staged.totals_lines = None


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
