"""SQL building blocks shared by every metric: bound parameters, customer filters and tiers (from the snapshots
built at load where they apply), whitelisted dimensions, and running a query on its own cursor."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pyarrow as pa

from metrics.filters import Filters
from metrics.model import (  # noqa: F401
    CUSTOMER_ATTRIBUTE_DIMENSIONS,
    CUSTOMER_ATTRIBUTES,
    CUSTOMER_DIMENSIONS,
    TICKET_DIMENSIONS,
    TIME_GRAINS,
)
from metrics.rollups import month_end_column
from metrics.settings import DEFAULT_BOUNDARIES, MetricSettings


class Params:
    """Collects bound parameters and hands out their placeholders; nothing a user typed becomes SQL text.

    It also carries the connection the statement is for, so the SQL can use tables built at load time
    (tier snapshots) only where the warehouse has them."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.values: dict[str, object] = {}
        self.con = con

    def __call__(self, value: object) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"

    def used_in(self, sql: str) -> dict[str, object]:
        used = set(re.findall(r"\$(p\d+)\b", sql))
        return {k: v for k, v in self.values.items() if k in used}


def frame_of(relation: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    """A query's result as a DataFrame, through Arrow: text columns convert about ten times faster than with
    `.df()`. Decimals (and the 128-bit sums of integers) become float64 and dates datetime64, as `.df()` gives them."""
    table = relation.to_arrow_table()
    for i, column in enumerate(table.schema):
        if pa.types.is_decimal(column.type):
            table = table.set_column(i, column.name, table.column(i).cast(pa.float64()))
    return table.to_pandas(date_as_object=False)


def run(con: duckdb.DuckDBPyConnection, sql: str, p: Params) -> pd.DataFrame:
    with con.cursor() as cursor:
        return run_on(cursor, sql, p)


def run_on(cursor: duckdb.DuckDBPyConnection, sql: str, p: Params) -> pd.DataFrame:
    """`run` on this connection itself (which sees its own temporary tables), not on a cursor of it."""
    frame = frame_of(cursor.sql(sql, params=p.used_in(sql)))
    for grain in TIME_GRAINS:
        if grain in frame.columns:
            frame[grain] = pd.to_datetime(frame[grain]).dt.date
    return frame


def computed_tiers_sql(p: Params, as_of: str, boundaries: tuple[str, str], billed: bool = True) -> str:
    """customer_id -> tier as of `as_of` (a SQL date expression), company-wide (SPEC 5.1): the given tier, else the
    rank by revenue over the trailing 12 months; also the trailing revenue, the share of revenue ranked before the
    customer, the revenue of as_of's own month, the amount paid and kWh over the trailing 12 months, and the kWh and
    the amount left unpaid over the trailing 3 months (for the early-warning list). Also used at load time to build
    `tier_snapshots`. `billed` false says the trailing 12 months hold no bill (bills_in_trailing_year): every revenue
    is then 0 and every share null, as the ranking would give, without ranking a million zeros."""
    vip_below, key_below = boundaries
    if not billed:
        # every customer's given tier, else standard, with the columns and types the sums below give over no bill:
        # no bill is read and no million-row table of zeros is built (a window's tiers a year before the first bill,
        # such as a previous period's cohort: 0.13 to 0.02 s at 1 M customers)
        return """
        SELECT customer_id, customer_key, coalesce(tier, 'standard') AS tier, CAST(0 AS DOUBLE) AS trailing_revenue,
               CAST(NULL AS DOUBLE) AS share_before, CAST(0 AS DOUBLE) AS month_revenue,
               CAST(NULL AS DOUBLE) AS trailing_paid, CAST(NULL AS DOUBLE) AS trailing_kwh,
               CAST(NULL AS DOUBLE) AS kwh_3m, CAST(NULL AS DOUBLE) AS unpaid_3m
        FROM customer_facts"""
    # The share ranked before each customer is worked out over (customer_key, revenue) alone and joined back: the
    # window sorts two columns instead of ten (a fifth less time per month end at 1 M customers, the same tiers).
    ranked = """SELECT customer_key,
                       coalesce(sum(revenue) OVER (ORDER BY revenue DESC, customer_key
                                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                       / nullif(sum(revenue) OVER (), 0) AS share_before
                FROM customers_revenue"""
    return f"""
        WITH customers_revenue AS MATERIALIZED (
            -- bills summed per customer before the join with every customer: twice as fast as joining first
            SELECT c.customer_id, c.customer_key, c.tier AS given_tier, coalesce(b.revenue, 0) AS revenue,
                   coalesce(b.month_revenue, 0) AS month_revenue, b.trailing_paid, b.trailing_kwh, b.kwh_3m,
                   b.unpaid_3m
            FROM customer_facts c
            LEFT JOIN (
                SELECT b.customer_key, sum(b.amount_billed) AS revenue,
                       sum(b.amount_billed) FILTER (WHERE b.period = date_trunc('month', {as_of})) AS month_revenue,
                       sum(b.amount_paid) AS trailing_paid, sum(b.consumption_kwh) AS trailing_kwh,
                       sum(b.consumption_kwh) FILTER (WHERE b.period > {as_of} - INTERVAL 3 MONTH) AS kwh_3m,
                       sum(b.amount_billed - b.amount_paid) FILTER (WHERE b.period > {as_of} - INTERVAL 3 MONTH)
                           AS unpaid_3m
                FROM billing_facts b
                WHERE b.period > {as_of} - INTERVAL 1 YEAR AND b.period <= {as_of}
                GROUP BY b.customer_key) b USING (customer_key)),
        -- customer_key is numbered in customer_id order: the same tie order, sorted faster than text
        ranked AS ({ranked})
        SELECT customer_id, customer_key,
               coalesce(given_tier, CASE
                   WHEN revenue <= 0 OR share_before IS NULL THEN 'standard'
                   WHEN share_before < {vip_below} THEN 'VIP'
                   WHEN share_before < {key_below} THEN 'key'
                   ELSE 'standard' END) AS tier,
               revenue AS trailing_revenue, share_before, month_revenue, trailing_paid, trailing_kwh, kwh_3m, unpaid_3m
        FROM customers_revenue JOIN ranked USING (customer_key)"""


def month_end(day: dt.date) -> dt.date:
    return (pd.Timestamp(day) + pd.offsets.MonthEnd(0)).date()


def bills_in_trailing_year(con: duckdb.DuckDBPyConnection | None, as_of: dt.date) -> bool:
    """Whether some bill's period lies in the twelve months computed_tiers_sql sums up to `as_of` (after as_of less a
    year, up to as_of), by the days the bills cover (fact_coverage); true when that is not known."""
    if con is None:
        return True
    with con.cursor() as cursor:
        span = cursor.execute("SELECT first_day, last_day FROM fact_coverage WHERE table_name = 'billing'").fetchall()
    if not span:
        return False
    first, last = span[0]
    year_before = (pd.Timestamp(as_of) - pd.DateOffset(years=1)).date()
    return first <= as_of and last.replace(day=1) > year_before


def snapshot_answers(p: Params, as_of: dt.date, settings: MetricSettings) -> bool:
    """Whether the tier snapshot of the date's month end, built at load time with the same definition, gives the
    tiers as of the date: under the default boundaries (bill periods are months, so the trailing twelve months of
    bills, and with them the tiers, are the same on every day of a month)."""
    return settings.tiers == DEFAULT_BOUNDARIES and settings.rollups and has_snapshot(p.con, month_end(as_of))


def tiers_sql(p: Params, as_of: dt.date, settings: MetricSettings) -> str:
    """customer_id -> tier as of a date: the snapshot where it answers (snapshot_answers), else computed here."""
    if snapshot_answers(p, as_of, settings):
        return (f"SELECT customer_id, customer_key, tier, trailing_revenue, share_before FROM tier_snapshots "
                f"WHERE as_of = {p(month_end(as_of))}::DATE")
    return computed_tiers_sql(p, f"{p(as_of)}::DATE", (p(settings.tiers.vip_below), p(settings.tiers.key_below)),
                              bills_in_trailing_year(p.con, as_of))


@dataclass(frozen=True)
class TierDate:
    """Which day's tier applies to each row of a query (SPEC 5.1): `sql`, a date expression over the row, and `dates`,
    every day it takes on the rows the query keeps (the tiers of those days only are read or computed)."""

    sql: str
    dates: tuple[dt.date, ...]


def tier_on(p: Params, day: dt.date) -> TierDate:
    """One day's tiers for every row: a window's end, or a cohort's base."""
    return TierDate(f"{p(day)}::DATE", (day,))


def period_end_sql(grain: str, column: str) -> str:
    """The last day of the week, month, quarter or year `column` falls in. Also used at load time: the roll-ups
    summed per month hold each customer's tier as of its month's end."""
    return f"CAST(date_trunc('{grain}', {column}) + INTERVAL 1 {grain} - INTERVAL 1 DAY AS DATE)"


def breakdown_tier_date(p: Params, f: Filters, by: tuple[str, ...], time_column: str | None) -> TierDate:
    """Tiers for a figure over the window (SPEC 5.1): as of the window's end; under a time grain as of each period's
    own end (clipped to the window's), so a row of a breakdown equals the figure for that period alone."""
    grain = next((d for d in by if d in TIME_GRAINS), None)
    if grain is None or time_column is None:
        return tier_on(p, f.end)
    return TierDate(f"least({period_end_sql(grain, time_column)}, {p(f.end)}::DATE)",
                    tuple(end for _label, _start, end in periods(f.start, f.end, grain)))


def tiers_on_sql(p: Params, dates: tuple[dt.date, ...], settings: MetricSettings) -> str:
    """as_of (a month end), customer_key, tier: the tiers of every month the `dates` fall in, from the snapshots where
    they answer (default boundaries), else computed, each month as of its end (the same tiers as any of its days)."""
    months = sorted({month_end(day) for day in dates})
    stored = (snapshot_month_ends(p.con, months)
              if settings.tiers == DEFAULT_BOUNDARIES and settings.rollups else set())
    # The snapshots are stored in as_of order, so DuckDB skips the rows of month ends it is not asked for. Months in a
    # row are asked as a range; others (quarter or year ends) as a list, which leaves out the month ends between them
    # (a quarterly breakdown over 36 months joins 13 slices instead of 36: half the time at 1 M customers).
    parts = []
    if stored:
        first, last = min(stored), max(stored)
        in_a_row = len(stored) == (last.year - first.year) * 12 + last.month - first.month + 1
        window = (f"as_of BETWEEN {p(first)}::DATE AND {p(last)}::DATE" if in_a_row else
                  f"as_of IN ({', '.join(f'{p(day)}::DATE' for day in sorted(stored))})")
        parts.append(f"SELECT as_of, customer_key, tier FROM tier_snapshots WHERE {window}")
    bounds = (p(settings.tiers.vip_below), p(settings.tiers.key_below))
    parts += [f"SELECT {p(day)}::DATE AS as_of, customer_key, tier "
              f"FROM ({computed_tiers_sql(p, f'{p(day)}::DATE', bounds, bills_in_trailing_year(p.con, day))})"
              for day in months if day not in stored]
    return " UNION ALL ".join(parts)


def snapshot_month_ends(con: duckdb.DuckDBPyConnection | None, days: list[dt.date]) -> set[dt.date]:
    """Those of `days` that are month ends with a tier snapshot (one query for all of them)."""
    month_ends = [day for day in days if (day + dt.timedelta(days=1)).day == 1]
    if con is None or not month_ends:
        return set()
    with con.cursor() as cursor:
        rows = cursor.execute("SELECT as_of FROM tier_snapshot_dates WHERE list_contains($days, as_of)",
                              {"days": month_ends}).fetchall()
    return {row[0] for row in rows}


def has_snapshot(con: duckdb.DuckDBPyConnection | None, as_of: dt.date) -> bool:
    return as_of in snapshot_month_ends(con, [as_of])


def whole_months(f: Filters) -> int | None:
    """How many calendar months the window spans when it runs from a month's first day to a month's last day."""
    if f.start.day != 1 or (f.end + dt.timedelta(days=1)).day != 1:
        return None
    return (f.end.year - f.start.year) * 12 + f.end.month - f.start.month + 1


def tier_condition(p: Params, f: Filters, column: str) -> str:
    """The tier filter on a tier column (a snapshot's, a roll-up's or the tier join's)."""
    return f"list_contains({p(list(f.tiers))}, {column})" if f.tiers is not None else "true"


def rollup_conditions(p: Params, f: Filters, alias: str) -> str:
    """Customer filters and the tier filter on a table summed at load time, whose `tier` column is the month-end
    tier."""
    return f"{customer_conditions(p, f, alias)} AND {tier_condition(p, f, f'{alias}.tier')}"


def customer_conditions(p: Params, f: Filters, alias: str) -> str:
    """The filters on customer attributes (metrics.model, row limits intersected), applied to any table that carries
    them (customers, a *_facts table, a roll-up when metrics.model.rollups_answer)."""
    conditions = []
    for d in CUSTOMER_ATTRIBUTE_DIMENSIONS:
        values = f.chosen(d.name)
        if values is not None:
            conditions.append(f"list_contains({p(list(values))}, {alias}.{d.name})")
    return " AND ".join(conditions) or "true"


def tier_join(p: Params, f: Filters, settings: MetricSettings, alias: str, needed: bool,
              date: TierDate | None = None) -> tuple[str, str, str]:
    """(JOIN clause, tier column, condition) adding each customer's tier to `alias` when the query needs it: as of
    `date` (by default the window's end)."""
    if not needed and f.tiers is None:
        return "", "CAST(NULL AS VARCHAR)", "true"
    date = date or tier_on(p, f.end)
    if len(date.dates) == 1:
        join = f"JOIN ({tiers_sql(p, date.dates[0], settings)}) tr ON tr.customer_key = {alias}.customer_key"
    else:
        join = (f"JOIN ({tiers_on_sql(p, date.dates, settings)}) tr ON tr.customer_key = {alias}.customer_key "
                f"AND tr.as_of = last_day({date.sql})")
    return join, "tr.tier", tier_condition(p, f, "tr.tier")


def fact_filters(p: Params, f: Filters, settings: MetricSettings, alias: str,
                 needs_tier: bool = False, grouping: Grouping | None = None) -> tuple[str, str]:
    """(JOIN clause, condition) applying the customer filters to a fact table that carries customer attributes;
    the join adds the tier (column tr.tier) when the filters or the query need it, as of each period's end when
    `grouping` has a time grain (breakdown_tier_date)."""
    date = breakdown_tier_date(p, f, grouping.by, grouping.time_column) if grouping is not None else None
    join, _tier, tiers = tier_join(p, f, settings, alias, needs_tier, date)
    return join, f"{customer_conditions(p, f, alias)} AND {tiers}"


def scope_sql(p: Params, f: Filters, settings: MetricSettings, with_tier: bool = True,
              date: TierDate | None = None) -> str:
    """The customers the filters select, with the attributes every fact is sliced by; the tier as of `date` (by default
    the window's end). A tier of one month end with a snapshot is read from that month end's column of
    customer_month_ends (the snapshot's tier, beside the attributes: no join of a million-row slice)."""
    days = (date or tier_on(p, f.end)).dates
    if (with_tier or f.tiers is not None) and len(days) == 1 and snapshot_answers(p, days[0], settings):
        tier = f"c.{month_end_column('tier', month_end(days[0]))}"
        return f"""
        SELECT c.customer_id, c.customer_key, {', '.join(f'c.{a}' for a in CUSTOMER_ATTRIBUTES)}, {tier} AS tier,
               c.opened_on, c.closed_on
        FROM customer_month_ends c
        WHERE {customer_conditions(p, f, "c")} AND {tier_condition(p, f, tier)}"""
    join, tier, tiers = tier_join(p, f, settings, "c", with_tier, date)
    return f"""
        SELECT c.customer_id, c.customer_key, {', '.join(f'c.{a}' for a in CUSTOMER_ATTRIBUTES)}, {tier} AS tier,
               c.opened_on, c.closed_on
        FROM customer_facts c {join}
        WHERE {customer_conditions(p, f, "c")} AND {tiers}"""


def ticket_conditions(p: Params, f: Filters, alias: str = "t", types: bool = True) -> str:
    parts = []
    if types and f.ticket_types is not None:
        parts.append(f"list_contains({p(list(f.ticket_types))}, {alias}.ticket_type)")
    if f.channels is not None:
        parts.append(f"list_contains({p(list(f.channels))}, {alias}.channel)")
    return " AND ".join(parts) or "true"


def between(p: Params, column: str, f: Filters) -> str:
    return f"{column} >= {p(f.start)}::DATE AND {column} < {p(f.end)}::DATE + INTERVAL 1 DAY"


def month_between(p: Params, column: str, f: Filters) -> str:
    """Bill months that overlap the window."""
    return f"{column} >= date_trunc('month', {p(f.start)}::DATE) AND {column} <= {p(f.end)}::DATE"


@dataclass
class Grouping:
    """SELECT and GROUP BY pieces for whitelisted `by` dimensions over one fact's columns; `grouped`, for a dimension
    whose column is a function of a cheaper expression (a roll-up's tier name of its tier code), that expression to
    group by. With `sets` (each a subset of `by`), the rows are grouped by each of them at once (GROUPING SETS), and
    the column `grouping_set` tells which set a row is of (grouping_set_id)."""

    by: tuple[str, ...]
    time_column: str | None
    columns: dict[str, str] = field(default_factory=dict)
    grouped: dict[str, str] = field(default_factory=dict)
    sets: tuple[tuple[str, ...], ...] = ()

    def expr(self, dim: str) -> str:
        if dim in TIME_GRAINS:
            return f"CAST(date_trunc('{dim}', {self.time_column}) AS DATE)"
        return self.columns.get(dim, dim)

    def _keys(self, dims) -> str:
        return ", ".join(self.grouped.get(d, self.expr(d)) for d in dims)

    @property
    def select(self) -> str:
        which = f"GROUPING({self._keys(self.by)}) AS grouping_set, " if self.sets and self.by else ""
        return "".join(f"{self.expr(d)} AS {d}, " for d in self.by) + which

    @property
    def group(self) -> str:
        if self.sets:
            return f"GROUP BY GROUPING SETS ({', '.join(f'({self._keys(s)})' for s in self.sets)})"
        return f"GROUP BY {self._keys(self.by)}" if self.by else ""

    @property
    def order(self) -> str:
        return f"ORDER BY {', '.join(self.by)}" if self.by else ""


def grouping_set_id(by: tuple[str, ...], grouped: tuple[str, ...]) -> int:
    """The `grouping_set` (SQL GROUPING over all of `by`) of the rows grouped by `grouped`: a bit for each dimension of
    `by` left out, the first the highest."""
    return sum(1 << (len(by) - 1 - i) for i, d in enumerate(by) if d not in grouped)


def periods(start: dt.date, end: dt.date, grain: str) -> list[tuple[dt.date, dt.date, dt.date]]:
    """(period start, window start, window end) for each period of the grain overlapping [start, end]."""
    freq = {"week": "W-MON", "month": "MS", "quarter": "QS", "year": "YS"}[grain]
    first = pd.Timestamp(start).to_period({"week": "W", "month": "M", "quarter": "Q", "year": "Y"}[grain]).start_time
    out = []
    for begin in pd.date_range(first, end, freq=freq):
        nxt = (begin + pd.tseries.frequencies.to_offset(freq)).date()
        out.append((begin.date(), max(begin.date(), start), min(nxt - dt.timedelta(days=1), end)))
    return out
