"""Grouped aggregates over each fact table, filtered through the customer scope.

Each helper takes the measures as SQL over the fact alias and returns the `by` columns plus the
measures. Time attribution follows SPEC section 4: bills by period, tickets by created_at,
surveys by surveyed_on, visits by visited_on, churn by closed_on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from metrics.filters import Filters
from metrics.query import (
    CUSTOMER_DIMENSIONS,
    TICKET_DIMENSIONS,
    TIME_GRAINS,
    Grouping,
    Params,
    TierDate,
    between,
    breakdown_tier_date,
    customer_conditions,
    fact_filters,
    month_between,
    month_end,
    periods,
    rollup_conditions,
    rollup_window,
    run,
    scope_sql,
    snapshot_month_ends,
    ticket_conditions,
    tier_condition,
    whole_months,
)
from metrics.settings import DEFAULT_BOUNDARIES, MetricSettings

CUSTOMER_COLUMNS = {d: f"s.{d}" for d in CUSTOMER_DIMENSIONS}


def fact_columns(alias: str, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Dimension -> column on a fact table that carries the customer's attributes; tier comes from the tier join."""
    return {**{d: f"{alias}.{d}" for d in (*CUSTOMER_DIMENSIONS, *extra) if d != "tier"}, "tier": "tr.tier"}


TICKET_COLUMNS = fact_columns("t", TICKET_DIMENSIONS)


def fact_aggregate(con, f: Filters, by, settings, p: Params, measures: str, fact: str, alias: str,
                   time_column: str | None, window: str, columns: dict[str, str], where: str = "true",
                   tier_in_fact: str | None = None, having: str = "") -> pd.DataFrame:
    """Aggregate a fact table that carries customer attributes, so filters need no join with customers.
    Tiers are joined as of the window's end, or each period's end under a time grain (breakdown_tier_date), unless
    the table carries them: `tier_in_fact` names its column holding the tiers the query needs (a roll-up's tier, or
    ticket_facts' month_tier), chosen for that. `having` (a condition on the aggregates) applies only when there are
    groups."""
    g = Grouping(tuple(by), time_column, {**columns, "tier": tier_in_fact} if tier_in_fact else columns)
    if tier_in_fact:
        join, conditions = "", f"{customer_conditions(p, f, alias)} AND {tier_condition(p, f, tier_in_fact)}"
    else:
        join, conditions = fact_filters(p, f, settings, alias, "tier" in by, g)
    sql = f"""
        SELECT {g.select}{measures}
        FROM {fact} {alias} {join}
        WHERE {window} AND {conditions} AND {where}
        {g.group} {f'HAVING {having}' if having and by else ''} {g.order}"""
    return run(con, sql, p)


def grain_of(by) -> str | None:
    return next((d for d in by if d in TIME_GRAINS), None)


def uses_tiers(f: Filters, by) -> bool:
    return "tier" in by or f.tiers is not None


def billing_rollup(p: Params, f: Filters, by, settings: MetricSettings) -> str | None:
    """The table summed at load that holds the bills with the tiers a query needs (breakdown_tier_date), if one does:
    `billing_monthly` (per month, tiers as of that month's end) without tiers, by month, or over a window inside one
    month; `billing_yearly` (the twelve months up to a month end, tiers as of it) over twelve whole months without a
    time grain. Tiers are the same on every day of a month (tiers_sql), and every bill month has a snapshot."""
    if not settings.rollups:
        return None
    if not uses_tiers(f, by):
        return "billing_monthly"
    if settings.tiers != DEFAULT_BOUNDARIES:
        return None
    if grain_of(by) == "month" or month_end(f.start) == month_end(f.end):
        return "billing_monthly"
    if grain_of(by) is None and rollup_window(p, f, settings, True) == (12, f.end):
        return "billing_yearly"
    return None


def billing_aggregate(con, f, by, settings, measures: str, p: Params | None = None):
    """Sums over bills (measures must be sums of b.amount_billed, b.amount_paid, b.consumption_kwh), with tiers as of
    the window's end or each period's end: from the roll-up that holds them (billing_rollup), else from the bills."""
    p = p or Params(con)
    table = billing_rollup(p, f, by, settings)
    if table == "billing_yearly":
        return fact_aggregate(con, f, by, settings, p, measures, "billing_yearly", "b", None,
                              f"b.as_of = {p(f.end)}::DATE", fact_columns("b"), tier_in_fact="b.tier")
    return fact_aggregate(con, f, by, settings, p, measures, table or "billing_facts", "b", "b.period",
                          month_between(p, "b.period", f), fact_columns("b"), tier_in_fact=table and "b.tier")


@dataclass(frozen=True)
class TicketRollup:
    """A ticket metric's parts over the ticket roll-ups `ticket_monthly` and `ticket_yearly` (alias t; rows per
    created month, customer attributes, tier, ticket type, channel, category and SLA outcome months, with counts and
    exact sums)."""

    measures: str
    where: str = "true"
    having: str = ""


def total(column: str) -> str:
    """A count summed over roll-up rows, zero when there are none (as count(*) gives)."""
    return f"CAST(coalesce(sum(t.{column}), 0) AS BIGINT)"


def ticket_rollup(p: Params, f: Filters, by, settings: MetricSettings) -> tuple[str, str] | None:
    """(table, condition on its rows t) of the ticket roll-up that holds a query's tickets with the tiers it needs
    (breakdown_tier_date), over a window of whole months without a grain finer than a month, if one does: without
    tiers, by month or over one month, `ticket_monthly` (tiers as of each created month's end); otherwise, over up to
    twelve months or by quarter or year, `ticket_yearly`, the rows whose `as_of` is each row's tier date. Tiers need
    a snapshot at every one of those month ends and the default boundaries."""
    months = whole_months(f)
    if not settings.rollups or "week" in by or months is None:
        return None
    if not uses_tiers(f, by):
        return "ticket_monthly", "true"
    date = breakdown_tier_date(p, f, tuple(by), "t.month")
    if settings.tiers != DEFAULT_BOUNDARIES or snapshot_month_ends(p.con, list(date.dates)) != set(date.dates):
        return None
    if grain_of(by) == "month" or months == 1:
        return "ticket_monthly", "true"
    if grain_of(by) is None and months > 12:
        return None
    # The bounds let DuckDB skip the other month ends' rows (ticket_yearly is stored in as_of order).
    return "ticket_yearly", (f"t.as_of = {date.sql} AND t.as_of BETWEEN {p(min(date.dates))}::DATE "
                             f"AND {p(max(date.dates))}::DATE")


def month_tiers_answer(p: Params, f: Filters, by, settings: MetricSettings) -> bool:
    """Whether ticket_facts' `month_tier` (each ticket's customer's tier as of the end of the month it was created in,
    stored at load) is the tier a query needs (breakdown_tier_date): with tiers, by month or over a window inside one
    month, under the default boundaries, every month of the window having a snapshot. Tiers are the same on every day
    of a month (tiers_sql), so a month's own end, clipped to the window's, gives that month's tiers."""
    if not settings.rollups or not uses_tiers(f, by) or settings.tiers != DEFAULT_BOUNDARIES:
        return False
    if grain_of(by) != "month" and month_end(f.start) != month_end(f.end):
        return False
    months = [month_end(label) for label, _start, _end in periods(f.start, f.end, "month")]
    return snapshot_month_ends(p.con, months) == set(months)


def ticket_aggregate(con, f, by, settings, measures: str, where: str = "true", apply_ticket_types: bool = True,
                     p: Params | None = None, rollup: TicketRollup | None = None, having: str = ""):
    """Aggregates over tickets created in the window, tiers as of the window's end or each period's end; with
    `rollup`, the same parts from a ticket roll-up where one answers the query."""
    p = p or Params(con)
    types = ticket_conditions(p, f, "t", apply_ticket_types)
    found = ticket_rollup(p, f, by, settings) if rollup is not None else None
    if found is not None and rollup is not None:
        table, as_of = found
        return fact_aggregate(con, f, by, settings, p, rollup.measures, table, "t", "t.month",
                              f"{month_between(p, 't.month', f)} AND {as_of}", TICKET_COLUMNS,
                              f"{types} AND {rollup.where}", tier_in_fact="t.tier", having=rollup.having)
    return fact_aggregate(con, f, by, settings, p, measures, "ticket_facts", "t", "t.created_at",
                          between(p, "t.created_at", f), TICKET_COLUMNS, f"{types} AND {where}", having=having,
                          tier_in_fact="t.month_tier" if month_tiers_answer(p, f, by, settings) else None)


def survey_aggregate(con, f, by, settings, measures: str, where: str = "true"):
    p = Params(con)
    return fact_aggregate(con, f, by, settings, p, measures, "survey_facts", "v", "v.surveyed_on",
                          between(p, "v.surveyed_on", f), fact_columns("v"), where)


def window_end(f: Filters) -> dt.date:
    return f.end


@dataclass(frozen=True)
class MonthEndRollup:
    """Where a window metric's parts are summed at load per month end (revenue_retention, visit_coverage,
    customer_counts, customer_base): the table and the measures over its rows `r`; `scale` makes
    value = numerator / denominator; `tier_day`, the day whose tiers the table's `tier` holds for a window (the
    window's end, or a cohort's base)."""

    table: str
    measures: str
    scale: float | None = None
    tier_day: Callable[[Filters], dt.date] = window_end


def month_end_windows(p: Params, rollup: MonthEndRollup, windows: list[Filters], settings: MetricSettings,
                      tiers: bool) -> list[tuple[int, dt.date]] | None:
    """(months, month end) of every window when the roll-up answers them all, with the same months: each is one whole
    month or twelve ending on a month end with a snapshot (rollup_window), and with tiers its tier day has a
    snapshot."""
    if not settings.rollups:
        return None
    days = [w.end for w in windows] + ([month_end(rollup.tier_day(w)) for w in windows] if tiers else [])
    snapshots = snapshot_month_ends(p.con, days)
    found = [rollup_window(p, w, settings, tiers, snapshots) for w in windows]
    keys = [key for key in found if key is not None]
    if len(keys) != len(found) or len({months for months, _ in keys}) != 1:
        return None
    if tiers and any(month_end(rollup.tier_day(w)) not in snapshots for w in windows):
        return None
    return keys


def month_end_aggregate(con, f: Filters, by, p: Params, rollup: MonthEndRollup, windows: list[tuple[int, dt.date]],
                        grain: str | None = None, labels: list[dt.date] | None = None) -> pd.DataFrame:
    """The roll-up's rows for `windows` (all (months, month end) from `rollup_window`, with the same months), filtered
    by customer attributes and the roll-up's tier; with `grain`, one row per window labelled by its period's `labels`
    (a period's first day, which a window clipped to the filter's does not always start on)."""
    g = Grouping(tuple(by), None, {d: f"r.{d}" for d in CUSTOMER_DIMENSIONS})
    months = windows[0][0]
    # Without other dimensions every window gets its row, as a single window's aggregate always has one.
    join = "LEFT JOIN" if not by else "JOIN"
    sql = f"""
        SELECT {f'w.label AS {grain}, ' if grain else ''}{g.select}{rollup.measures}
        FROM (SELECT unnest({p([as_of for _, as_of in windows])}::DATE[]) AS as_of,
                     unnest({p(labels or [as_of for _, as_of in windows])}::DATE[]) AS label) w
        {join} {rollup.table} r ON r.as_of = w.as_of AND r.months = {p(months)} AND {rollup_conditions(p, f, 'r')}
        {'GROUP BY ' + ', '.join((['w.label'] if grain else []) + [g.expr(d) for d in by]) if grain or by else ''}
        ORDER BY {', '.join(([grain] if grain else []) + list(by)) or 'ALL'}"""
    frame = run(con, sql, p)
    return ratio(frame, rollup.scale) if rollup.scale is not None else frame


def customer_aggregate(con, f, by, settings, measures: str, time_column: str, window: str, p: Params,
                       date: TierDate | None = None):
    """Aggregates over the customer scope itself (active, churned); `window` uses the scope alias s; tiers as of
    `date` (by default the window's end)."""
    g = Grouping(tuple(by), time_column, CUSTOMER_COLUMNS)
    sql = f"""
        WITH scope AS ({scope_sql(p, f, settings, with_tier='tier' in by, date=date)})
        SELECT {g.select}{measures} FROM scope s WHERE {window} {g.group} {g.order}"""
    return run(con, sql, p)


def ratio(frame: pd.DataFrame, scale: float = 1.0) -> pd.DataFrame:
    """value = numerator / denominator x scale; a zero or missing denominator gives null, never 0."""
    den = frame["denominator"].astype("float64")
    frame["value"] = (frame["numerator"].astype("float64") / den.where(den != 0)) * scale
    return frame


def per_period(compute: Callable[..., pd.DataFrame] | None = None, *, rollup: MonthEndRollup | None = None,
               groups_by_time: bool = False):
    """For window metrics (stocks, retention, year-on-year): a time grain in `by` evaluates the metric on each
    period's own window, clipped to the filter's window, tiers included (each period's as of its own end, or its
    cohort's base). With `rollup`, windows of one whole month or twelve whole months ending on a month end are read
    from that roll-up, all such periods in one query. With `groups_by_time` the metric groups its parts by the grain
    itself (their tiers are each period's, breakdown_tier_date), giving the same numbers in fewer queries."""

    def decorate(compute: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
        def one_window(con, f: Filters, by: tuple[str, ...], settings: MetricSettings) -> pd.DataFrame:
            if rollup is not None:
                p = Params(con)
                windows = month_end_windows(p, rollup, [f], settings, uses_tiers(f, by))
                if windows is not None:
                    return month_end_aggregate(con, f, by, p, rollup, windows)
            return compute(con, f, by, settings)

        def wrapped(con: duckdb.DuckDBPyConnection, f: Filters, by: tuple[str, ...], settings: MetricSettings):
            grain = grain_of(by)
            if grain is None:
                return one_window(con, f, by, settings)
            if groups_by_time:
                return compute(con, f, by, settings)
            rest = tuple(d for d in by if d != grain)
            spans = periods(f.start, f.end, grain)
            if rollup is not None:
                p = Params(con)
                windows = month_end_windows(p, rollup, [f.window(start, end) for _, start, end in spans], settings,
                                            uses_tiers(f, by))
                if windows is not None:
                    out = month_end_aggregate(con, f, rest, p, rollup, windows, grain,
                                              [label for label, _, _ in spans])
                    return out[[*by, *[c for c in out.columns if c not in by]]]
            frames = []
            for label, start, end in spans:
                frame = one_window(con, f.window(start, end), rest, settings)
                frame.insert(0, grain, label)
                frames.append(frame)
            out = pd.concat(frames, ignore_index=True)
            return out[[*by, *[c for c in out.columns if c not in by]]]

        wrapped.__doc__ = compute.__doc__
        wrapped.__name__ = compute.__name__
        wrapped.per_period = True  # type: ignore[attr-defined]  # a marker on the function; a time grain gives each period on its own window, tiers as of its own end
        return wrapped

    return decorate(compute) if compute is not None else decorate
