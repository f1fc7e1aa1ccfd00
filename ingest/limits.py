"""Limits every export and mapping file is checked against before any work is done on it, so a file that would take
minutes and gigabytes (a zip bomb dressed as .xlsx, a CSV with 100,000 columns) is refused at once with the reason.

Each check reads only what it needs: an Excel file's zip directory and the first bytes of its sheet, a CSV's first
64 KiB and its line breaks, a Parquet file's footer. The limits come from environment variables (see README,
"Loading safely"), with defaults that fit the exports of a large utility.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from pydantic import Field, ValidationError

from ingest.contracts import StrictModel
from ingest.errors import LoadError

# The readers take a CSV's header from its first 64 KiB; a longer header line is refused rather than cut.
HEADER_BYTES = 1 << 16
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
ZIP_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
DELIMITERS = ",;\t|"
CHUNK = 1 << 24
MIB = 1 << 20
# What a damaged or unusual workbook raises here; the reader then says what is wrong with it.
UNREADABLE_ZIP = (KeyError, ElementTree.ParseError, zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError,
                  zlib.error)


class UploadLimits(StrictModel):
    max_upload_mib: int = Field(512, gt=0)  # one uploaded file, as sent to the Data page
    max_xlsx_mib: int = Field(200, gt=0)  # an Excel file's contents once unzipped (calamine holds ~4.5x this in memory)
    max_columns: int = Field(1000, gt=0)  # per file
    max_rows: int = Field(50_000_000, gt=0)  # per file (a million accounts' three years of bills is 36 million)
    max_mapping_kib: int = Field(1024, gt=0)  # a mapping file

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> UploadLimits:
        """The limits with any set by `SCORECARD_MAX_UPLOAD_MIB`, `SCORECARD_MAX_XLSX_MIB`, `SCORECARD_MAX_COLUMNS`,
        `SCORECARD_MAX_ROWS` or `SCORECARD_MAX_MAPPING_KIB`."""
        return from_environment(cls, {name: env_name(name) for name in cls.model_fields}, environ, "upload limits",
                                "set a whole number above 0 or unset it")


def env_name(field: str) -> str:
    return f"SCORECARD_{field.upper()}"


def check_names(names: Iterable[str]) -> None:
    """Refuse two files of one load with the same name: rejected rows and the report name files by name alone."""
    seen: dict[str, str] = {}
    for name in names:
        if name in ("", ".", ".."):
            raise LoadError(f"a file has no usable name ('{name}'); give it the name of its table and load again")
        if name.casefold() in seen:
            other = seen[name.casefold()]
            raise LoadError(f"two files are named {name}" + (f" and {other}" if other != name else "") +
                            "; rejected rows are reported by file name, so rename one of them and load again")
        seen[name.casefold()] = name


def check_files(paths: list[Path], limits: UploadLimits) -> None:
    """Refuse, before anything is read into the warehouse, a load whose files break a limit."""
    check_names(path.name for path in paths)
    for path in paths:
        suffix = path.suffix.lower()
        if suffix in ZIP_EXCEL_SUFFIXES:
            _check_excel(path, limits)
        elif suffix in CSV_SUFFIXES:
            _check_csv(path, limits)
        elif suffix in PARQUET_SUFFIXES:
            _check_parquet(path, limits)


def _shape(path: Path, columns: int, rows: int | None, limits: UploadLimits) -> None:
    if columns > limits.max_columns:
        raise LoadError(f"{path.name}: {columns:,} columns, more than the {limits.max_columns:,} a file may have "
                        f"({env_name('max_columns')}); export only the columns the scorecard uses and load again")
    if rows is not None and rows > limits.max_rows:
        raise LoadError(f"{path.name}: {rows:,} rows, more than the {limits.max_rows:,} a file may have "
                        f"({env_name('max_rows')}); split it into several files (a month each) and load again")


def _check_excel(path: Path, limits: UploadLimits) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return  # not a workbook at all: the reader says so
    with archive:
        unzipped = sum(member.file_size for member in archive.infolist())
        if unzipped > limits.max_xlsx_mib * MIB:
            raise LoadError(
                f"{path.name}: this Excel file unzips to {unzipped / MIB:,.0f} MiB, more than the "
                f"{limits.max_xlsx_mib:,} MiB an Excel file may hold ({env_name('max_xlsx_mib')}); save the sheet as "
                "CSV, or split it, and load again")
        dimension = _first_sheet_dimension(archive)
    if dimension is not None:
        columns, rows = dimension
        _shape(path, columns, max(rows - 1, 0), limits)


def _first_sheet_dimension(archive: zipfile.ZipFile) -> tuple[int, int] | None:
    """Columns and rows (header included) the first sheet declares in its <dimension>; None when it declares none."""
    try:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except UNREADABLE_ZIP:
        return None
    sheet = next((e for e in book.iter() if e.tag.endswith("}sheet")), None)
    rel_id = next((v for k, v in (sheet.attrib.items() if sheet is not None else ()) if k.endswith("}id")), None)
    target = next((r.get("Target") for r in rels if r.get("Id") == rel_id), None)
    if target is None:
        return None
    member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
    try:
        with archive.open(member) as sheet_xml:
            head = sheet_xml.read(HEADER_BYTES)
    except UNREADABLE_ZIP:
        return None
    found = re.search(rb'<(?:\w+:)?dimension ref="[A-Z]*\d*:?([A-Z]+)(\d+)"', head)
    if found is None:
        return None
    letters, row = found.group(1).decode(), int(found.group(2))
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - ord("A") + 1
    return column, row


def _check_csv(path: Path, limits: UploadLimits) -> None:
    with open(path, "rb") as fh:
        head = fh.read(HEADER_BYTES + 1)
    text = _decode_loosely(head)
    line_end = re.search(r"\r\n|\r|\n", text)
    if line_end is None and len(head) > HEADER_BYTES:
        columns = _widest(text)
        reason = (f"more than the {limits.max_columns:,} columns a file may have ({env_name('max_columns')})"
                  if columns > limits.max_columns else f"longer than the {HEADER_BYTES // 1024} KiB a header may be")
        raise LoadError(f"{path.name}: the header line is {reason}: {columns:,} columns in its first "
                        f"{HEADER_BYTES // 1024} KiB alone; export only the columns the scorecard uses and load again")
    # The widest of the first lines (title rows above the header are narrow), whole lines only.
    whole = text if len(head) <= HEADER_BYTES else text[:max(m.end() for m in re.finditer(r"\r\n|\r|\n", text))]
    columns = _widest(whole)
    _shape(path, columns, None, limits)
    lines = _line_breaks(path)
    if lines - 1 > limits.max_rows:
        _shape(path, columns, lines - 1, limits)


def _widest(text: str, lines: int = 20) -> int:
    """The most fields in any of the first records of the text, whichever delimiter the file uses."""
    try:
        return max((len(record) for delimiter in DELIMITERS
                    for _, record in zip(range(lines), csv.reader(io.StringIO(text), delimiter=delimiter))), default=0)
    except csv.Error:
        return 0  # not text the csv module can split: the reader says what is wrong


def _decode_loosely(head: bytes) -> str:
    """Enough of the text to find the header's delimiters; the readers decode the file strictly."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def _line_breaks(path: Path) -> int:
    """Line breaks in the file: never fewer than its rows (a quoted cell may hold one)."""
    count = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            count += chunk.count(b"\n")
    return count


def _check_parquet(path: Path, limits: UploadLimits) -> None:
    import pyarrow.parquet

    try:
        meta = pyarrow.parquet.read_metadata(path)
    except (OSError, ValueError):
        return  # not a readable Parquet file: the reader says so
    _shape(path, meta.num_columns, meta.num_rows, limits)


def mapping_text(path: Path, limits: UploadLimits) -> str:
    """A mapping file's text, saved as UTF-8 (with or without BOM), UTF-16 or GB18030/GBK; refused when too large."""
    try:
        size = path.stat().st_size
        if size > limits.max_mapping_kib * 1024:
            raise LoadError(f"{path}: the mapping file is {size / 1024:,.0f} KiB, more than the "
                            f"{limits.max_mapping_kib:,} KiB a mapping file may have ({env_name('max_mapping_kib')}); "
                            "nothing was loaded")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LoadError(f"{path}: file not found") from None
    encodings: tuple[str, ...]
    if raw.startswith(codecs.BOM_UTF8):
        encodings = ("utf-8-sig",)
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LoadError(f"{path}: the mapping file is neither UTF-8, UTF-16 nor GB18030/GBK text; save it as UTF-8 "
                    "and load again")


def load_resources(environ: Mapping[str, str] = os.environ):
    """DuckDB's memory limit, spill folder and threads for a load, from `SCORECARD_LOAD_MEMORY_LIMIT` (default
    2GiB), `SCORECARD_LOAD_TEMP_DIRECTORY` (default: a scratch folder beside the warehouse) and
    `SCORECARD_LOAD_THREADS` (default: one per core)."""
    from metrics.settings import LoadResources

    names = {"memory_limit": "SCORECARD_LOAD_MEMORY_LIMIT", "temp_directory": "SCORECARD_LOAD_TEMP_DIRECTORY",
             "threads": "SCORECARD_LOAD_THREADS"}
    return from_environment(LoadResources, names, environ, "load resources",
                            "give a size such as 2GiB (threads: a whole number)")


def from_environment(model, names: Mapping[str, str], environ: Mapping[str, str], what: str, hint: str):
    """A settings model from the environment variables named for its fields (an empty variable counts as unset); a
    bad value stops with the variable, the value and what to do."""
    given = {field: environ[name] for field, name in names.items() if environ.get(name)}
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        problems = "; ".join(f"{names[str(e['loc'][0])]}={given.get(str(e['loc'][0]))!r}: {e['msg']}"
                             for e in exc.errors())
        raise LoadError(f"{what}: {problems}; {hint}") from None
