"""Files for download: CSV, Excel and Parquet of exactly what a chart or table shows, with readable headers.

CSV and Excel cells a spreadsheet would run as a formula (leading =, +, -, @, tab or carriage return)
get a leading apostrophe; numbers stay numbers, so real negative values are untouched.
"""

from __future__ import annotations

import io

import pandas as pd

from dashboard.labels import readable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for name in out.columns:
        if pd.api.types.is_numeric_dtype(out[name]) or pd.api.types.is_datetime64_any_dtype(out[name]):
            continue
        out[name] = out[name].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v)
    out.columns = ["'" + c if isinstance(c, str) and c.startswith(FORMULA_STARTS) else c for c in out.columns]
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    # UTF-8 with BOM: Excel on Chinese Windows opens it with the right characters.
    return neutralise(readable(frame)).to_csv(index=False).encode("utf-8-sig")


def excel_bytes(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    buffer = io.BytesIO()
    table = neutralise(readable(frame))
    for name in table.columns:
        if isinstance(table[name].dtype, pd.DatetimeTZDtype):
            table[name] = table[name].dt.tz_localize(None)
    with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
        table.to_excel(writer, sheet_name=sheet[:31], index=False)
    return buffer.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table = readable(frame)
    for name in table.columns:
        if table[name].dtype == object:
            table[name] = table[name].map(lambda v: v if v is None or isinstance(v, (str, bytes)) else str(v))
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()
