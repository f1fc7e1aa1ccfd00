"""Row rules as DuckDB SQL: parse staged text into contract types and say, per row, what is wrong.

All work is set-based: one CREATE TABLE ... AS SELECT per file. Values from files never
become SQL text; header labels, enum spellings and date formats are bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.contracts import Column, Contract
from metrics.query import Params

DATE_FORMATS = [
    "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d",
    "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y年%m月%d日 %H:%M:%S",
]
TIMESTAMP_FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y%m%d %H:%M:%S", "%Y%m%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y%m%d%H%M%S",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M:%S", "%Y年%m月%d日%H时%M分%S秒",
    "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日",
]
MONTH_FORMATS = ["%Y-%m", "%Y/%m", "%Y%m", "%Y年%m月", "%Y.%m", *DATE_FORMATS]
TRUE_WORDS = ("true", "t", "1", "y", "yes", "是", "1.0")
FALSE_WORDS = ("false", "f", "0", "n", "no", "否", "0.0")
FIRST_YEAR, LAST_YEAR = 1900, 2100
FIRST_EXCEL_SERIAL = 61  # 1900-03-01: Excel counts a 29 February 1900 that never was, so earlier serials are off
TWO_DIGIT_YEAR = r"^\d{2}([-/.年]\d{1,2}([-/.月]\d{1,2}日?)?)(\s.*)?$"
SCIENTIFIC = r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$"
NUMBER_NOISE = "[,\\s_，¥￥$元]"

SQL_TYPES = {
    "text": "VARCHAR", "enum": "VARCHAR", "number": "DOUBLE", "integer": "INTEGER", "date": "DATE",
    "timestamp": "TIMESTAMP", "month": "DATE", "bool": "BOOLEAN",
}
EXPECTED = {
    "number": "is not a number",
    "integer": "is not a whole number",
    "date": "is not a date (use YYYY-MM-DD, YYYY/M/D, YYYYMMDD or YYYY年M月D日)",
    "timestamp": "is not a date and time (use YYYY-MM-DD HH:MM[:SS], YYYY/M/D H:MM, YYYYMMDD or YYYY年M月D日 HH:MM)",
    "month": "is not a month (use YYYY-MM, YYYYMM, YYYY年M月 or a date in the month)",
    "bool": "is not yes/no (use true/false, 1/0, Y/N or 是/否)",
}
DATE_LIKE = ("date", "timestamp", "month")
# A default fills the empty cells of a column the file has (SPEC 3: reopened is false where a source has the column,
# unknown where none has). Only these columns also take it on every row of a file without the column: area, whose
# default (urban) sets the repair arrival target.
DEFAULT_WITHOUT_COLUMN = frozenset({"area"})


@dataclass
class ColumnOptions:
    """What a mapping file or a header says about how to read one source's columns."""

    formats: dict[str, list[str]] = field(default_factory=dict)  # column -> strptime formats replacing the defaults
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> source value -> contract value
    constants: dict[str, str] = field(default_factory=dict)  # column -> one value for every row
    scale: dict[str, int] = field(default_factory=dict)  # column -> factor (万元 -> 10000)
    excel: bool = False  # bare numbers in date columns are Excel serial numbers


def trimmed(cell: str) -> str:
    """trim(cell), which takes the space separators (Unicode Zs: the space, U+3000 and others) off both ends, without
    calling it on the cells that start and end with a printable ASCII character (no Zs is one): nearly every id,
    number and date. DuckDB's trim walks every character of every cell, and was a third of checking a bill file."""
    ascii_ends = f"ascii({cell}) BETWEEN 33 AND 126 AND ascii(reverse({cell})) BETWEEN 33 AND 126"
    return f"CASE WHEN {ascii_ends} THEN {cell} ELSE trim({cell}) END"


def blank(cell: str) -> str:
    """The cell is NULL or nothing but space separators; a cell starting with a printable ASCII character is not."""
    return f"({cell} IS NULL OR (NOT (ascii({cell}) BETWEEN 33 AND 126) AND trim({cell}) = ''))"


def _raw(source: str | None) -> str:
    return f"nullif({trimmed(source)}, '')" if source else "CAST(NULL AS VARCHAR)"


def _serial(raw: str) -> tuple[str, str]:
    """When a cell is an Excel serial number, and its timestamp (days since 1899-12-30, the fraction the time
    of day), to the millisecond."""
    ms = f"CAST(round(TRY_CAST({raw} AS DOUBLE) * 86400000) AS BIGINT)"
    stamp = f"(TIMESTAMP '1899-12-30 00:00:00' + to_milliseconds({ms}))"
    guard = f"regexp_full_match({raw}, '\\d{{2,5}}(\\.\\d+)?') AND TRY_CAST({raw} AS DOUBLE) >= {FIRST_EXCEL_SERIAL}"
    return guard, stamp


def _typed(column: Column, raw: str, p: Params, options: ColumnOptions) -> str:
    cleaned = f"regexp_replace({raw}, '{NUMBER_NOISE}', '', 'g')"
    # a plain number is cast as it is; only a cell the cast refuses is cleaned of separators, currency and 元 (the
    # cast accepts no character the cleaning removes, so both give the same number: tests/test_ingest_formats.py,
    # test_a_number_reads_the_same_cast_as_it_is_or_cleaned_first)
    number = f"coalesce(TRY_CAST({raw} AS DOUBLE), TRY_CAST({cleaned} AS DOUBLE))"
    if (factor := options.scale.get(column.name, 1)) != 1:
        # in decimal, so 5.3991 万元 is 53991 yuan exactly, not 53990.99999999999
        number = f"coalesce(CAST(TRY_CAST({cleaned} AS DECIMAL(38, 10)) * {factor} AS DOUBLE), {number} * {factor})"
    match column.type:
        case "text":
            return raw
        case "number":
            return number
        case "integer":
            return f"CASE WHEN {number} = floor({number}) THEN CAST({number} AS INTEGER) END"
        case "date" | "timestamp" | "month":
            defaults = {"date": DATE_FORMATS, "timestamp": TIMESTAMP_FORMATS, "month": MONTH_FORMATS}[column.type]
            parsed = f"try_strptime({raw}, {p(options.formats.get(column.name) or defaults)})"
            if options.excel:
                guard, serial = _serial(raw)
                parsed = f"CASE WHEN {guard} THEN {serial} ELSE {parsed} END"
            if column.type == "date":
                return f"CAST({parsed} AS DATE)"
            if column.type == "month":
                return f"CAST(date_trunc('month', {parsed}) AS DATE)"
            return parsed
        case "bool":
            return (f"CASE WHEN list_contains({p(list(TRUE_WORDS))}, lower({raw})) THEN true "
                    f"WHEN list_contains({p(list(FALSE_WORDS))}, lower({raw})) THEN false END")
        case "enum":
            spellings = {value.lower(): value for value in column.values}
            for value, synonyms in column.values.items():
                spellings.update({s.lower(): value for s in synonyms})
            spellings.update({k.strip().lower(): v for k, v in options.values.get(column.name, {}).items()})
            return f"map_extract_value(MAP({p(list(spellings))}, {p(list(spellings.values()))}), lower({raw}))"
    raise AssertionError(column.type)


def _range_reason(column: Column, label: str, value: str) -> str | None:
    lo, hi = column.minimum, column.maximum
    if lo is None and hi is None:
        return None
    if lo is not None and hi is not None:
        return (f"CASE WHEN {value} < {lo} OR {value} > {hi} THEN {label} || ' ' || {value} "
                f"|| ' is outside {lo:g}..{hi:g}' END")
    if column.minimum_exclusive:
        return f"CASE WHEN {value} <= {lo} THEN {label} || ' ' || {value} || ' must be greater than {lo:g}' END"
    if lo == 0:
        return f"CASE WHEN {value} < 0 THEN {label} || ' ' || {value} || ' is negative' END"
    return f"CASE WHEN {value} < {lo} THEN {label} || ' ' || {value} || ' is below {lo:g}' END"


def _date_reason(column: Column, raw: str, typed: str, label: str, p: Params, declared: bool, table: str) -> str:
    """Not a date, a two-digit year (never guessed) or a year outside 1900-2100 (never loaded)."""
    two_digit = f"regexp_matches({raw}, {p(TWO_DIGIT_YEAR)})"
    two_digit_reason = (f"{label} || ' ''' || {raw} || ''' has a two-digit year; write the year with four digits, "
                        f"or declare the format in a mapping file ([tables.{table}.formats])'")
    outside = (f"{label} || ' ''' || {raw} || ''' is outside the years {FIRST_YEAR}-{LAST_YEAR}; "
               f"check the export (an Excel serial number or a typing error?)'")
    not_a_date = f"{label} || ' ''' || {raw} || ''' ' || {p(EXPECTED[column.type])}"
    guess = "false" if declared else two_digit
    return (f"CASE WHEN {raw} IS NULL THEN NULL "
            f"WHEN {typed} IS NULL THEN CASE WHEN {guess} THEN {two_digit_reason} ELSE {not_a_date} END "
            f"WHEN year({typed}) NOT BETWEEN {FIRST_YEAR} AND {LAST_YEAR} THEN "
            f"CASE WHEN {guess} THEN {two_digit_reason} ELSE {outside} END END")


def parse_select(contract: Contract, sources: dict[str, str], labels: dict[str, str],
                 staging_table: str, file_no: int, options: ColumnOptions | None = None) -> tuple[str, dict]:
    """SELECT turning one staged file into typed canonical columns plus _file_no, _line, _reason, _warning.

    `sources` maps canonical column -> staged column (c0..cN) for the columns the file has.
    `labels` maps canonical column -> how the reason names it (the file's header and the canonical name).
    A row with a `_reason` is rejected; a `_warning` (an unknown value in an optional enum, left empty) is
    counted in the load report and the row is loaded. The text of each column is taken first, then parsed
    once; the reasons read both.
    """
    options = options or ColumnOptions()
    p = Params()
    texts: list[str] = []
    parsed: list[str] = []
    reasons: list[str] = []
    warnings: list[str] = []
    for column in contract.columns:
        raw, typed = f"_raw_{column.name}", column.name
        if column.name in options.constants:
            texts.append(f"CAST({p(options.constants[column.name])} AS VARCHAR) AS {raw}")
        else:
            texts.append(f"{_raw(sources.get(column.name))} AS {raw}")
        value = _typed(column, raw, p, options)
        has_column = column.name in sources or column.name in options.constants
        if column.default is not None and (has_column or column.name in DEFAULT_WITHOUT_COLUMN):
            value = f"CASE WHEN {raw} IS NULL THEN {p(column.default)} ELSE {value} END"
        parsed.append(f"{value} AS {typed}")
        label = p(labels.get(column.name, column.name))
        lenient_enum = column.type == "enum" and not column.required and column.default is None
        if column.required:
            reasons.append(f"CASE WHEN {raw} IS NULL THEN {label} || ' is missing' END")
        if column.identifier:
            # the pattern only on the ids with an e in them
            reasons.append(
                f"CASE WHEN (contains({raw}, 'e') OR contains({raw}, 'E')) AND regexp_matches({raw}, {p(SCIENTIFIC)}) "
                f"THEN {label} || ' ''' || {raw} || ''' is in "
                f"scientific notation: Excel shortened the id when the file was saved, so its digits are lost; "
                f"format the column as text in Excel and export again' END"
            )
        if column.type == "enum":
            allowed = ", ".join(column.values)
            message = (f"{label} || ' ''' || {raw} || ''' is not one of ' || {p(allowed)}")
            check = f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN {message}"
            if lenient_enum:
                warnings.append(f"{check} || ' (left empty)' END")
            else:
                reasons.append(f"{check} END")
        elif column.type in DATE_LIKE:
            reasons.append(_date_reason(column, raw, typed, label, p, column.name in options.formats, contract.name))
        elif column.type != "text":
            reasons.append(
                f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN {label} || ' ''' || {raw} "
                f"|| ''' ' || {p(EXPECTED[column.type])} END"
            )
        if column.type in ("number", "integer") and (out_of_range := _range_reason(column, label, typed)):
            reasons.append(out_of_range)
    for rule in contract.order_rules:
        later, earlier = rule.later, rule.earlier
        fmt = "%Y-%m-%d" if contract.column(rule.later).type == "date" else "%Y-%m-%d %H:%M"
        reasons.append(
            f"CASE WHEN ({later}) < ({earlier}) THEN {p(labels.get(rule.later, rule.later))} || ' ' || "
            f"strftime({later}, '{fmt}') || ' is before ' || {p(labels.get(rule.earlier, rule.earlier))} "
            f"|| ' ' || strftime({earlier}, '{fmt}') END"
        )
    warning = f"nullif(concat_ws('; ', {', '.join(warnings)}), '')" if warnings else "CAST(NULL AS VARCHAR)"
    sql = (
        f"SELECT {', '.join(contract.column_names)}, {file_no} AS _file_no, _line, "
        f"nullif(concat_ws('; ', {', '.join(reasons)}), '') AS _reason, {warning} AS _warning "
        f"FROM (SELECT *, {', '.join(parsed)} FROM (SELECT _line, {', '.join(texts)} FROM {staging_table}))"
    )
    return sql, p.used_in(sql)


def raw_row_sql(headers: list[str]) -> tuple[str, dict]:
    """JSON of a staged row under the file's own headers, for the rows that are rejected."""
    p = Params()
    sql = "json_object(" + ", ".join(f"{p(h)}, s.c{i}" for i, h in enumerate(headers)) + ")"
    return sql, p.values
