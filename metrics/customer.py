"""Customer perspective (SPEC 5.3)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from metrics.facts import (
    SHARE,
    MonthEndRollup,
    Ratio,
    TicketRollup,
    customer_aggregate,
    fact_columns,
    per_period,
    ratio,
    survey_aggregate,
    ticket_parts_metric,
    total,
    window_revenue_sql,
)
from metrics.filters import Filters
from metrics.inputs import loaded_inputs
from metrics.model import CUSTOMER_DIMENSIONS
from metrics.query import (
    Grouping,
    Params,
    TierDate,
    between,
    customer_conditions,
    month_between,
    periods,
    run,
    snapshot_month_ends,
    tier_condition,
    tier_join,
    tier_on,
    tiers_on_sql,
)
from metrics.settings import DEFAULT_BOUNDARIES


def active_in(p: Params, start: dt.date, end: dt.date, alias: str = "s") -> str:
    """Active in a window: opened on or before its end and not closed before its start."""
    return (f"{alias}.opened_on <= {p(end)}::DATE AND "
            f"({alias}.closed_on IS NULL OR {alias}.closed_on >= {p(start)}::DATE)")


@per_period(rollup=MonthEndRollup("customer_counts", "CAST(coalesce(sum(r.customers) FILTER (WHERE r.closed_month IS "
                                                    "NULL OR r.closed_month >= w.first_day), 0) AS BIGINT) AS value"))
def active_customers(con, f, by, settings) -> pd.DataFrame:
    """Customers active in the window: opened_on <= end and (closed_on is null or closed_on >= start)."""
    p = Params(con)
    return customer_aggregate(con, f, by, settings, "count(*) AS value", "s.opened_on",
                              active_in(p, f.start, f.end), p)


complaints = ticket_parts_metric("Tickets with ticket_type complaint, by created_at.", TicketRollup(
    f"{total('tickets')} AS value", "t.ticket_type = 'complaint'", ticket_types=False))


PER_10K = Ratio(scale=10_000)  # per 10,000 customers


@per_period(groups_by_time=True)
def complaint_rate_per_10k(con, f, by, settings) -> pd.DataFrame:
    """Complaints / active customers x 10,000."""
    num = complaints(con, f, by, settings).rename(columns={"value": "numerator"})
    den = active_customers(con, f, by, settings).rename(columns={"value": "denominator"})
    # Every group with complaints or active customers keeps its row (one with complaints but no customer active in
    # the window, such as a closed account's late complaint, has no rate): the groups' parts add up to the whole's
    # (Metric.parts).
    frame = den.merge(num, on=list(by), how="outer") if by else pd.concat([num, den], axis=1)
    frame = PER_10K.of(frame.fillna({"numerator": 0}))
    return frame[[*by, "value", "numerator", "denominator"]]


def csat(con, f, by, settings) -> pd.DataFrame:
    """Surveys with overall >= 4 / surveys with overall."""
    return SHARE.of(survey_aggregate(con, f, by, settings,
                                     "count(*) FILTER (WHERE v.overall >= 4) AS numerator, "
                                     "count(v.overall) AS denominator"))


NPS_POINTS = Ratio(scale=100)  # the net share of promoters, in points


def nps(con, f, by, settings) -> pd.DataFrame:
    """(Share of surveys with nps >= 9 - share with nps <= 6) x 100."""
    return NPS_POINTS.of(survey_aggregate(con, f, by, settings,
                                          "count(*) FILTER (WHERE v.nps >= 9) - count(*) FILTER (WHERE v.nps <= 6) "
                                          "AS numerator, count(v.nps) AS denominator"))


callback_satisfaction = ticket_parts_metric("Mean of tickets.satisfaction (callback score, 1-5).", TicketRollup(
    "sum(t.satisfaction_sum) / nullif(sum(t.satisfaction_scores), 0) AS value, sum(t.satisfaction_sum) AS numerator, "
    f"{total('satisfaction_scores')} AS denominator"))


def logo_base_day(f: Filters) -> dt.date:
    """Logo retention's cohort: the customers active on the day before the window starts, with their tiers that day."""
    return f.start - dt.timedelta(days=1)


def active_on_month_end(alias: str, month_end_sql: str) -> str:
    """Over customer_counts rows (metrics.rollups.build_customer_counts, customers opened by the slice's month end):
    active on a month end on or after the slice's, that is not closed before it (closed_on >= the month end)."""
    return f"({alias}.last_active_month_end IS NULL OR {alias}.last_active_month_end >= {month_end_sql})"


_LOGO_BASE = active_on_month_end("r", "r.as_of")
_LOGO_KEPT = active_on_month_end("r", "w.last_day")  # later than as_of: active then is active on as_of too


# A window of whole months: the cohort is the slice of the month end before it starts (tiers as of that day).
@per_period(rollup=MonthEndRollup(
    "customer_counts", f"CAST(coalesce(sum(r.customers) FILTER (WHERE {_LOGO_KEPT}), 0) AS BIGINT) AS numerator, "
                       f"CAST(coalesce(sum(r.customers) FILTER (WHERE {_LOGO_BASE}), 0) AS BIGINT) AS denominator",
    scale=1, cohort_base=True, having=f"coalesce(sum(r.customers) FILTER (WHERE {_LOGO_BASE}), 0) > 0"))
def logo_retention(con, f, by, settings) -> pd.DataFrame:
    """Customers active on the day before start who are still active on end / customers active on the day before start
    (tiers as of the day before start)."""
    p = Params(con)
    day_before = logo_base_day(f)
    frame = customer_aggregate(
        con, f, by, settings,
        f"count(*) FILTER (WHERE {active_in(p, f.end, f.end)}) AS numerator, count(*) AS denominator",
        "s.opened_on", active_in(p, day_before, day_before), p, date=tier_on(p, day_before))
    return ratio(frame)


def churn_tier_day_sql(closed_on: str) -> str:
    """The day whose tier a churned account counts under: the last day of the month before the month it closed (before
    a departure drains its trailing revenue)."""
    return f"CAST(date_trunc('month', {closed_on}) - INTERVAL 1 DAY AS DATE)"


def churn_tier_date(p: Params, f: Filters, alias: str = "c") -> TierDate:
    """churn_tier_day_sql for the accounts closed in the window (alias: the customers' table)."""
    return TierDate(churn_tier_day_sql(f"{alias}.closed_on"),
                    tuple(label - dt.timedelta(days=1) for label, _start, _end in periods(f.start, f.end, "month")))


def churn_tiers_sql(since: str | None = None) -> str:
    """customer_key, tier: each closed account's tier (default boundaries) as of churn_tier_day_sql, from the tier
    snapshots, for the accounts whose day has a snapshot (with `since`, a SQL date expression such as a
    parameter, from that day on). Built at load
    (`churn_tiers`), so churn figures with tiers read 1 row per closed account instead of a month of snapshots."""
    day = churn_tier_day_sql("c.closed_on")
    return f"""
        SELECT c.customer_key, s.tier FROM customer_facts c
        JOIN tier_snapshots s ON s.customer_key = c.customer_key AND s.as_of = {day}
        WHERE {f"{day} >= {since}" if since is not None else 'true'}"""


def churn_tier_join(p: Params, f: Filters, settings, alias: str = "c") -> tuple[str, str]:
    """(JOIN clause, tier column) giving the accounts closed in the window their churn tier (churn_tier_day_sql): the
    stored churn_tiers (default boundaries) for the accounts whose day has a snapshot, and for those whose day has
    none (a window starting in the first month of bills: the month end before them) that day's tiers computed; with
    other boundaries the snapshots or tiers computed for those days."""
    date = churn_tier_date(p, f, alias)
    if settings.rollups and settings.tiers == DEFAULT_BOUNDARIES:
        stored = snapshot_month_ends(p.con, list(date.dates))
        join = f"JOIN churn_tiers tr ON tr.customer_key = {alias}.customer_key"
        if stored == set(date.dates):
            return join, "tr.tier"
        if stored:
            # churn_tiers holds every closed account whose day has a snapshot, so each account is in one part
            missing = tuple(day for day in date.dates if day not in stored)
            computed = (f"SELECT k.customer_key, d.tier FROM customer_facts k "
                        f"JOIN ({tiers_on_sql(p, missing, settings)}) d ON d.customer_key = k.customer_key "
                        f"AND d.as_of = last_day({churn_tier_day_sql('k.closed_on')})")
            return (f"JOIN (SELECT customer_key, tier FROM churn_tiers UNION ALL {computed}) tr "
                    f"ON tr.customer_key = {alias}.customer_key", "tr.tier")
    join, tier, _condition = tier_join(p, f.model_copy(update={"tiers": None}), settings, alias, True, date)
    return join, tier


def churned_customers(con, f, by, settings) -> pd.DataFrame:
    """Customers with closed_on in the window (tiers as of the last day of the month before the month each closed)."""
    p = Params(con)
    if "tier" not in by and f.tiers is None:
        return customer_aggregate(con, f, by, settings, "count(*) AS value", "s.closed_on",
                                  between(p, "s.closed_on", f), p)
    join, tier = churn_tier_join(p, f, settings)
    g = Grouping(tuple(by), "c.closed_on", {**{d: f"c.{d}" for d in CUSTOMER_DIMENSIONS}, "tier": tier})
    sql = f"""
        SELECT {g.select}count(*) AS value FROM customer_facts c {join}
        WHERE {between(p, 'c.closed_on', f)} AND {customer_conditions(p, f, 'c')} AND {tier_condition(p, f, tier)}
        {g.group} {g.order}"""
    return run(con, sql, p)


def revenue_base_day(f: Filters) -> dt.date:
    """Revenue retention's cohort: customers with revenue in the same window a year earlier, with their tiers as of
    that window's end."""
    return f.shifted_years(-1).end


# Revenue retention's per-customer parts (SPEC 5.3), the one definition of the measure: over customers with revenue
# in the same window a year earlier, `base` is that revenue, `current` the revenue in the window, `kept` current
# capped at base. Net retention is sum(current) / sum(base), gross sum(kept) / sum(base). The row-level paths give
# each customer's base and current and apply them; the month roll-up (metrics.rollups.build_revenue_retention_months)
# stores their sums per month end.
REVENUE_RETENTION_PARTS = {"base": "{x}.base", "current": "{x}.current", "kept": "least({x}.current, {x}.base)"}


def revenue_retention_measures(capped: bool, alias: str, summed: bool = False) -> str:
    """numerator and denominator over rows `alias` holding per-customer base and current, or (`summed`) the parts'
    sums stored in the roll-up."""
    def part(name: str) -> str:
        return f"{alias}.{name}" if summed else REVENUE_RETENTION_PARTS[name].format(x=alias)

    return f"sum({part('kept' if capped else 'current')}) AS numerator, sum({part('base')}) AS denominator"


def _revenue_retention(con, f, by, settings, capped: bool) -> pd.DataFrame:
    p = Params(con)
    measures = revenue_retention_measures(capped, "r")
    # Each customer's revenue in both windows from its row of running totals (window_revenue_sql); the cohort's tier
    # (filter and breakdown) is its tier at the base window's end, and its current revenue counts whatever its tier
    # is now.
    both = window_revenue_sql(p, f.shifted_years(-1), settings, by, tier_day=revenue_base_day(f),
                              also={"current_revenue": f})
    if both is not None:
        sql = f"""
            WITH per_customer AS (
                SELECT b.*, b.revenue AS base, coalesce(b.current_revenue, 0) AS current
                FROM ({both}) b WHERE b.revenue > 0)
            SELECT {''.join(f'{d}, ' for d in by)}{measures}
            FROM per_customer r {('GROUP BY ' + ', '.join(by)) if by else ''}
            {('ORDER BY ' + ', '.join(by)) if by else ''}"""
        return ratio(run(con, sql, p))
    base_window = f.shifted_years(-1)
    g = Grouping(tuple(by), None, fact_columns("b"))
    # The tier filter and breakdown select the cohort; its current revenue counts whatever its tier is now.
    join, _tier, tier_condition = tier_join(p, f, settings, "b", "tier" in by, tier_on(p, revenue_base_day(f)))
    in_base, in_current = month_between(p, "b.period", base_window), month_between(p, "b.period", f)
    if not loaded_inputs(con).covers("billing", base_window.start, base_window.end):
        in_base = in_current = "false"  # no bill in the base window: no cohort, and no bill of the window is read
    sql = f"""
        WITH per_customer AS (
            SELECT {g.select}b.customer_id,
                   sum(b.amount_billed) FILTER (WHERE {in_base}) AS base,
                   coalesce(sum(b.amount_billed) FILTER (WHERE {in_current}), 0) AS current
            FROM billing_facts b {join}
            WHERE ({in_base} OR {in_current}) AND {customer_conditions(p, f, 'b')} AND {tier_condition}
            GROUP BY ALL)
        SELECT {''.join(f'{d}, ' for d in by)}{measures}
        FROM per_customer r WHERE base > 0
        {('GROUP BY ' + ', '.join(by)) if by else ''} {g.order}"""
    return ratio(run(con, sql, p))


def _retention_by_month(capped: bool) -> MonthEndRollup:
    """Windows inside one calendar month (a by-month breakdown's periods, the sparklines) read the month roll-up."""
    return MonthEndRollup("revenue_retention_months", revenue_retention_measures(capped, "r", summed=True), scale=1,
                          within_one_month=True)


@per_period(rollup=_retention_by_month(capped=False))
def net_revenue_retention(con, f, by, settings) -> pd.DataFrame:
    """Revenue in the window from customers who had revenue in the same window a year earlier / that year-earlier
    revenue (tiers as of the year-earlier window's end)."""
    return _revenue_retention(con, f, by, settings, capped=False)


@per_period(rollup=_retention_by_month(capped=True))
def gross_revenue_retention(con, f, by, settings) -> pd.DataFrame:
    """As net revenue retention, counting each customer's current revenue only up to its year-earlier revenue."""
    return _revenue_retention(con, f, by, settings, capped=True)


substantiated_share = ticket_parts_metric(
    "Substantiated complaints / complaints with the substantiated flag.",
    TicketRollup(f"{total('substantiated')} AS numerator, {total('with_substantiated_flag')} AS denominator",
                 "t.ticket_type = 'complaint'", ticket_types=False, is_ratio=True))
