"""Row rules as DuckDB SQL: parse staged text into contract types and say, per row, what is wrong.

All work is set-based: one CREATE TABLE ... AS SELECT per file. Values from files never
become SQL text; header labels and enum spellings are bound parameters.
"""

from __future__ import annotations

from ingest.contracts import Column, Contract
from metrics.query import Params

DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S"]
TIMESTAMP_FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y%m%d %H:%M:%S", "%Y%m%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d",
]
MONTH_FORMATS = ["%Y-%m", "%Y/%m", "%Y%m", *DATE_FORMATS]
TRUE_WORDS = ("true", "t", "1", "y", "yes", "是", "1.0")
FALSE_WORDS = ("false", "f", "0", "n", "no", "否", "0.0")

SQL_TYPES = {
    "text": "VARCHAR", "enum": "VARCHAR", "number": "DOUBLE", "integer": "INTEGER", "date": "DATE",
    "timestamp": "TIMESTAMP", "month": "DATE", "bool": "BOOLEAN",
}
EXPECTED = {
    "number": "is not a number",
    "integer": "is not a whole number",
    "date": "is not a date (use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)",
    "timestamp": "is not a date and time (use YYYY-MM-DD HH:MM[:SS], YYYY/MM/DD or YYYYMMDD)",
    "month": "is not a month (use YYYY-MM or a date in the month)",
    "bool": "is not yes/no (use true/false, 1/0, Y/N or 是/否)",
}


def _raw(source: str | None) -> str:
    return f"nullif(trim({source}), '')" if source else "CAST(NULL AS VARCHAR)"


def _typed(column: Column, raw: str, p: Params) -> str:
    number = f"TRY_CAST(regexp_replace({raw}, '[,\\s_，¥￥]', '', 'g') AS DOUBLE)"
    match column.type:
        case "text":
            return raw
        case "number":
            return number
        case "integer":
            return f"CASE WHEN {number} = floor({number}) THEN CAST({number} AS INTEGER) END"
        case "date":
            return f"CAST(try_strptime({raw}, {p(DATE_FORMATS)}) AS DATE)"
        case "timestamp":
            return f"try_strptime({raw}, {p(TIMESTAMP_FORMATS)})"
        case "month":
            return f"CAST(date_trunc('month', try_strptime({raw}, {p(MONTH_FORMATS)})) AS DATE)"
        case "bool":
            return (f"CASE WHEN list_contains({p(list(TRUE_WORDS))}, lower({raw})) THEN true "
                    f"WHEN list_contains({p(list(FALSE_WORDS))}, lower({raw})) THEN false END")
        case "enum":
            spellings = {value.lower(): value for value in column.values}
            for value, synonyms in column.values.items():
                spellings.update({s.lower(): value for s in synonyms})
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


def parse_select(contract: Contract, sources: dict[str, str], labels: dict[str, str],
                 staging_table: str, file_no: int) -> tuple[str, dict]:
    """SELECT turning one staged file into typed canonical columns plus _file_no, _line, _reason.

    `sources` maps canonical column -> staged column (c0..cN) for the columns the file has.
    `labels` maps canonical column -> how the reason names it (the file's header and the canonical name).
    """
    p = Params()
    typed_by_name: dict[str, str] = {}
    reasons: list[str] = []
    for column in contract.columns:
        raw = _raw(sources.get(column.name))
        label = p(labels.get(column.name, column.name))
        typed = _typed(column, raw, p)
        value = typed
        if column.default is not None:
            value = f"coalesce({typed}, {p(column.default)})"
            typed = f"CASE WHEN {raw} IS NULL THEN {p(column.default)} ELSE {typed} END"
        typed_by_name[column.name] = typed
        if column.required:
            reasons.append(f"CASE WHEN {raw} IS NULL THEN {label} || ' is missing' END")
        if column.type == "enum":
            allowed = ", ".join(column.values)
            reasons.append(
                f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN {label} || ' ''' || {raw} "
                f"|| ''' is not one of ' || {p(allowed)} END"
            )
        elif column.type != "text":
            reasons.append(
                f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN {label} || ' ''' || {raw} "
                f"|| ''' ' || {p(EXPECTED[column.type])} END"
            )
        if column.type in ("number", "integer") and (rule := _range_reason(column, label, value)):
            reasons.append(rule)
    for rule in contract.order_rules:
        later, earlier = typed_by_name[rule.later], typed_by_name[rule.earlier]
        fmt = "%Y-%m-%d" if contract.column(rule.later).type == "date" else "%Y-%m-%d %H:%M"
        reasons.append(
            f"CASE WHEN ({later}) < ({earlier}) THEN {p(labels.get(rule.later, rule.later))} || ' ' || "
            f"strftime({later}, '{fmt}') || ' is before ' || {p(labels.get(rule.earlier, rule.earlier))} "
            f"|| ' ' || strftime({earlier}, '{fmt}') END"
        )
    sql = (
        f"SELECT {', '.join(f'{expr} AS {name}' for name, expr in typed_by_name.items())}, {file_no} AS _file_no, _line, "
        f"nullif(concat_ws('; ', {', '.join(reasons)}), '') AS _reason FROM {staging_table}"
    )
    return sql, p.used_in(sql)


def raw_row_sql(headers: list[str]) -> tuple[str, dict]:
    """JSON of a staged row under the file's own headers, for the rows that are rejected."""
    p = Params()
    sql = "json_object(" + ", ".join(f"{p(h)}, s.c{i}" for i, h in enumerate(headers)) + ")"
    return sql, p.values
