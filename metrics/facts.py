"""Grouped aggregates over each fact table, filtered through the customer scope.

Each helper takes the measures as SQL over the fact alias and returns the `by` columns plus the
measures. Time attribution follows SPEC section 4: bills by period, tickets by created_at,
surveys by surveyed_on, visits by visited_on, churn by closed_on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import duckdb
import pandas as pd

from metrics.filters import Filters
from metrics.query import (CUSTOMER_DIMENSIONS, TICKET_DIMENSIONS, TIME_GRAINS, Grouping, Params, between,
                           fact_filters, has_snapshot, month_between, periods, rollup_conditions, rollup_window, run,
                           scope_sql, snapshot_month_ends, ticket_conditions, whole_months)
from metrics.settings import DEFAULT_BOUNDARIES, MetricSettings

CUSTOMER_COLUMNS = {d: f"s.{d}" for d in CUSTOMER_DIMENSIONS}


def fact_columns(alias: str, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Dimension -> column on a fact table that carries the customer's attributes; tier comes from the tier join."""
    return {**{d: f"{alias}.{d}" for d in (*CUSTOMER_DIMENSIONS, *extra) if d != "tier"}, "tier": "tr.tier"}


TICKET_COLUMNS = fact_columns("t", TICKET_DIMENSIONS)


def fact_aggregate(con, f: Filters, by, settings, p: Params, measures: str, fact: str, alias: str,
                   time_column: str, window: str, columns: dict[str, str], where: str = "true",
                   tier_in_fact: bool = False, having: str = "") -> pd.DataFrame:
    """Aggregate a fact table that carries customer attributes, so filters need no join with customers.
    With `tier_in_fact` the table also carries the tier (a roll-up keyed by month-end tier), so tiers need no join.
    `having` (a condition on the aggregates) applies only when there are groups."""
    g = Grouping(tuple(by), time_column, {**columns, "tier": f"{alias}.tier"} if tier_in_fact else columns)
    if tier_in_fact:
        join, conditions = "", rollup_conditions(p, f, alias)
    else:
        join, conditions = fact_filters(p, f, settings, alias, "tier" in by)
    sql = f"""
        SELECT {g.select}{measures}
        FROM {fact} {alias} {join}
        WHERE {window} AND {conditions} AND {where}
        {g.group} {f'HAVING {having}' if having and by else ''} {g.order}"""
    return run(con, sql, p)


def billing_aggregate(con, f, by, settings, measures: str, p: Params | None = None):
    """Sums over bills (measures must be sums of b.amount_billed, b.amount_paid, b.consumption_kwh).

    Tiers in a query are as of the window's end. Without tiers, or over one whole month, the sums come from
    `billing_monthly` (summed per month, customer attributes and month-end tier at load); over twelve whole months
    ending on a month end, without a time grain, from `billing_yearly` (summed per month end over the year before);
    otherwise from the bills themselves."""
    p = p or Params(con)
    uses_tiers = "tier" in by or f.tiers is not None
    # Only with tiers does the answer depend on a snapshot at the window's end, so only then is one asked for.
    window = rollup_window(p, f, settings, uses_tiers) if uses_tiers and not settings.month_end_tiers else None
    months = window[0] if window else None
    if settings.rollups and (not uses_tiers or months == 1 or settings.month_end_tiers):
        return fact_aggregate(con, f, by, settings, p, measures, "billing_monthly", "b", "b.period",
                              month_between(p, "b.period", f), fact_columns("b"), tier_in_fact=True)
    if months == 12 and not any(d in TIME_GRAINS for d in by):
        return fact_aggregate(con, f, by, settings, p, measures, "billing_yearly", "b", None,
                              f"b.as_of = {p(f.end)}::DATE", fact_columns("b"), tier_in_fact=True)
    return fact_aggregate(con, f, by, settings, p, measures, "billing_facts", "b", "b.period",
                          month_between(p, "b.period", f), fact_columns("b"))


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


def ticket_rollup(p: Params, f: Filters, by, settings: MetricSettings) -> str | None:
    """The ticket roll-up that answers a query over a window of whole months without a grain finer than a month, if
    one does. Without tiers, or with the month-end tiers (`month_end_tiers`), `ticket_monthly`; when tiers are
    involved (as of the window's end, under the default boundaries) and the window ends on a month end with a
    snapshot, `ticket_monthly` for one month (its tiers are that month end's) and `ticket_yearly` for up to twelve."""
    months = whole_months(f)
    if not settings.rollups or "week" in by or months is None:
        return None
    if ("tier" not in by and f.tiers is None) or settings.month_end_tiers:
        return "ticket_monthly"
    if months > 12 or settings.tiers != DEFAULT_BOUNDARIES or not has_snapshot(p.con, f.end):
        return None
    return "ticket_monthly" if months == 1 else "ticket_yearly"


def ticket_aggregate(con, f, by, settings, measures: str, where: str = "true", apply_ticket_types: bool = True,
                     p: Params | None = None, rollup: TicketRollup | None = None, having: str = ""):
    """Aggregates over tickets created in the window; with `rollup`, the same parts from a ticket roll-up where one
    answers the query."""
    p = p or Params(con)
    types = ticket_conditions(p, f, "t", apply_ticket_types)
    table = ticket_rollup(p, f, by, settings) if rollup is not None else None
    if table is not None:
        window = month_between(p, "t.month", f)
        if table == "ticket_yearly":
            window += f" AND t.as_of = {p(f.end)}::DATE"
        return fact_aggregate(con, f, by, settings, p, rollup.measures, table, "t", "t.month", window, TICKET_COLUMNS,
                              f"{types} AND {rollup.where}", tier_in_fact=True, having=rollup.having)
    return fact_aggregate(con, f, by, settings, p, measures, "ticket_facts", "t", "t.created_at",
                          between(p, "t.created_at", f), TICKET_COLUMNS, f"{types} AND {where}", having=having)


def survey_aggregate(con, f, by, settings, measures: str, where: str = "true"):
    p = Params(con)
    return fact_aggregate(con, f, by, settings, p, measures, "survey_facts", "v", "v.surveyed_on",
                          between(p, "v.surveyed_on", f), fact_columns("v"), where)


@dataclass(frozen=True)
class MonthEndRollup:
    """Where a window metric's parts are summed at load per month end (revenue_retention, visit_coverage,
    customer_counts): the table and the measures over its rows `r`; `scale` makes value = numerator / denominator."""

    table: str
    measures: str
    scale: float | None = None


def month_end_aggregate(con, f: Filters, by, p: Params, rollup: MonthEndRollup, windows: list[tuple[int, dt.date]],
                        grain: str | None = None) -> pd.DataFrame:
    """The roll-up's rows for `windows` (all (months, month end) from `rollup_window`, with the same months), filtered
    by customer attributes and month-end tier; with `grain`, one row per window labelled by its first day."""
    g = Grouping(tuple(by), None, {d: f"r.{d}" for d in CUSTOMER_DIMENSIONS})
    months = windows[0][0]
    label = f"CAST(w.as_of + INTERVAL 1 DAY - INTERVAL ({p(months)}) MONTH AS DATE)"
    # Without other dimensions every window gets its row, as a single window's aggregate always has one.
    join = "LEFT JOIN" if not by else "JOIN"
    sql = f"""
        SELECT {f'{label} AS {grain}, ' if grain else ''}{g.select}{rollup.measures}
        FROM (SELECT unnest({p([as_of for _, as_of in windows])}::DATE[]) AS as_of) w
        {join} {rollup.table} r ON r.as_of = w.as_of AND r.months = {p(months)} AND {rollup_conditions(p, f, 'r')}
        {'GROUP BY ' + ', '.join(([label] if grain else []) + [g.expr(d) for d in by]) if grain or by else ''}
        ORDER BY {', '.join(([grain] if grain else []) + list(by)) or 'ALL'}"""
    frame = run(con, sql, p)
    return ratio(frame, rollup.scale) if rollup.scale is not None else frame


def customer_aggregate(con, f, by, settings, measures: str, time_column: str, window: str, p: Params):
    """Aggregates over the customer scope itself (active, churned); `window` uses the scope alias s."""
    g = Grouping(tuple(by), time_column, CUSTOMER_COLUMNS)
    sql = f"""
        WITH scope AS ({scope_sql(p, f, settings, with_tier='tier' in by)})
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
    period's own window, clipped to the filter's window. With `rollup`, a window of one whole month or twelve whole
    months ending on a month end is read from that roll-up, all such periods in one query. With `groups_by_time`
    the metric groups its parts by the grain itself, giving the same numbers in fewer queries. With tiers involved,
    each period's tiers are as of its own end: by month over whole months the metric groups by month with the
    month-end tiers held by the tables built at load (`month_end_tiers`); otherwise it goes period by period."""

    def decorate(compute: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
        def one_window(con, f: Filters, by: tuple[str, ...], settings: MetricSettings) -> pd.DataFrame:
            if rollup is not None:
                p = Params(con)
                window = rollup_window(p, f, settings, uses_tiers="tier" in by or f.tiers is not None)
                if window is not None:
                    return month_end_aggregate(con, f, by, p, rollup, [window])
            return compute(con, f, by, settings)

        def wrapped(con: duckdb.DuckDBPyConnection, f: Filters, by: tuple[str, ...], settings: MetricSettings):
            grains = [d for d in by if d in TIME_GRAINS]
            if not grains:
                return one_window(con, f, by, settings)
            uses_tiers = "tier" in by or f.tiers is not None
            if groups_by_time and not uses_tiers:
                return compute(con, f, by, settings)
            grain, rest = grains[0], tuple(d for d in by if d != grains[0])
            spans = periods(f.start, f.end, grain)
            asks_snapshots = settings.rollups and (rollup is not None or (groups_by_time and grain == "month"))
            snapshots = snapshot_month_ends(con, [end for _, _, end in spans]) if asks_snapshots else set()
            if (groups_by_time and grain == "month" and settings.rollups and settings.tiers == DEFAULT_BOUNDARIES
                    and all(whole_months(f.window(start, end)) == 1 and end in snapshots for _, start, end in spans)):
                # Whole months with month-end tiers held by the tables built at load: grouped by month in one go.
                return compute(con, f, by, settings.model_copy(update={"month_end_tiers": True}))
            if rollup is not None:
                p = Params(con)
                windows = [rollup_window(p, f.window(start, end), settings, uses_tiers, snapshots)
                           for _, start, end in spans]
                if all(windows) and len({months for months, _ in windows}) == 1:
                    out = month_end_aggregate(con, f, rest, p, rollup, windows, grain)
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
        wrapped.per_period = True  # a time grain gives each period on its own window, tiers as of its own end
        return wrapped

    return decorate(compute) if compute is not None else decorate
