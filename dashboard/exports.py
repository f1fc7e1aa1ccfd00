"""Files for download: CSV, Excel and Parquet of exactly what a chart or table shows, with readable headers.

CSV and Excel cells a spreadsheet would run as a formula (=, +, -, @ first, also after leading spaces or control
characters, or a leading tab or carriage return) get a leading apostrophe; numbers stay numbers, so real negative
values are untouched. CSV rows end in CRLF (RFC 4180), so a cell holding a carriage return or a line feed is always
quoted and stays one cell; Excel files hold text as text, never as a formula or a hyperlink.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile

import pandas as pd

from dashboard.labels import readable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _blank(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet could read `text` as a formula: it starts with one of FORMULA_STARTS, or does once its
    leading spaces and control characters are dropped (as some spreadsheets drop them)."""
    return text.startswith(FORMULA_STARTS) or text.lstrip("".join(c for c in text[:64] if _blank(c))).startswith(
        FORMULA_STARTS)


def _safe(value):
    return "'" + value if isinstance(value, str) and runs_as_formula(value) else value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for name in out.columns:
        if pd.api.types.is_numeric_dtype(out[name]) or pd.api.types.is_datetime64_any_dtype(out[name]):
            continue
        out[name] = out[name].map(_safe)
    out.columns = [_safe(c) for c in out.columns]
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    # UTF-8 with BOM: Excel on Chinese Windows opens it with the right characters.
    return neutralise(readable(frame, download=True)).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def excel_bytes(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    buffer = io.BytesIO()
    table = neutralise(readable(frame, download=True))
    for name in table.columns:
        if isinstance(table[name].dtype, pd.DatetimeTZDtype):
            table[name] = table[name].dt.tz_localize(None)
    options = {"strings_to_formulas": False, "strings_to_urls": False}  # xlsxwriter would turn "=…" and URLs live
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        table.to_excel(writer, sheet_name=sheet[:31], index=False)
    return buffer.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table = readable(frame, download=True)
    for name in table.columns:
        if table[name].dtype == object:
            table[name] = table[name].map(lambda v: v if v is None or isinstance(v, (str, bytes)) else str(v))
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()


def workbook_bytes(tables: dict[str, pd.DataFrame]) -> bytes:
    """One Excel workbook, a sheet per table (sheet names as given, cut to Excel's 31 characters), written as
    `excel_bytes` writes one table: readable headers, formula-safe text."""
    buffer = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        for sheet, frame in tables.items():
            table = neutralise(readable(frame))
            for name in table.columns:
                if isinstance(table[name].dtype, pd.DatetimeTZDtype):
                    table[name] = table[name].dt.tz_localize(None)
            table.to_excel(writer, sheet_name=sheet[:31], index=False)
    return buffer.getvalue()


def csv_zip_bytes(tables: dict[str, pd.DataFrame]) -> bytes:
    """A zip of one CSV per table (`csv_bytes`), named after the tables."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, frame in tables.items():
            archive.writestr(f"{name}.csv", csv_bytes(frame))
    return buffer.getvalue()
