"""Customer tiers (SPEC 5.1): assignment, distribution, concentration, migration and rising accounts."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from metrics.catalogue import CATALOGUE, compute, without_inputs
from metrics.customer import active_in
from metrics.facts import window_revenue_sql
from metrics.filters import TIERS, Filters
from metrics.inputs import LoadedInputs, loaded_inputs
from metrics.query import (
    Params,
    customer_conditions,
    month_between,
    month_end,
    run,
    scope_sql,
    snapshot_answers,
    tier_condition,
    tiers_sql,
)
from metrics.rollups import month_end_column
from metrics.settings import DEFAULT_SETTINGS, MetricSettings


def tier_assignment(con: duckdb.DuckDBPyConnection, as_of: dt.date,
                    settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """customer_id -> tier as of a date (given tier, else by trailing-12-month revenue rank), company-wide."""
    p = Params(con)
    return run(con, f"SELECT customer_id, tier, trailing_revenue, share_before FROM ({tiers_sql(p, as_of, settings)}) "
                    "ORDER BY trailing_revenue DESC, customer_id", p)


def no_data(con, metric_id: str, f: Filters, inputs: LoadedInputs | None = None) -> bool:
    """Whether the catalogue metric is "no data" for the window (SPEC 5.7): an input it needs is in no loaded source, or
    the window lies outside the days its facts cover (a window without bills has no revenue figure, never 0)."""
    inputs = inputs or loaded_inputs(con)
    return bool(without_inputs(CATALOGUE[metric_id], pd.DataFrame(index=[0]), f, (), inputs).iloc[0])


def tier_distribution(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Per tier: customers active in the window, revenue and consumption in the window (the catalogue's
    active_customers, revenue and consumption_kwh by tier), and each one's share of the total. A measure whose
    inputs the window does not have (no bills in it) is null in every row, shares too, never 0."""
    frame = pd.DataFrame({"tier": list(TIERS)})
    inputs = loaded_inputs(con)
    for column, metric_id in (("customers", "active_customers"), ("revenue", "revenue"),
                              ("consumption_kwh", "consumption_kwh")):
        if no_data(con, metric_id, f, inputs):
            frame[column] = float("nan")
            continue
        values = compute(con, metric_id, f, by=("tier",), settings=settings, inputs=inputs).set_index("tier")["value"]
        frame[column] = frame["tier"].map(values).fillna(0)
    frame["customers"] = frame["customers"].astype("int64")
    for column in ("customers", "revenue", "consumption_kwh"):
        total = frame[column].sum(min_count=1)
        frame[f"{column}_share"] = frame[column] / total if total == total and total else float("nan")
    return frame


def customer_revenue_sql(p: Params, f: Filters, settings: MetricSettings) -> str:
    """customer_id, customer_key, revenue: each customer's revenue in the window, for customers with revenue > 0. Over
    twelve whole months ending on a month end it is the trailing revenue stored in tier_snapshots. Rank ties by
    customer_key: it is numbered in customer_id order, and sorts faster than the text."""
    stored = window_revenue_sql(p, f, settings)
    if stored is not None:
        return f"SELECT customer_id, customer_key, revenue FROM ({stored}) WHERE revenue > 0"
    return f"""
        SELECT b.customer_id, b.customer_key, sum(b.amount_billed) AS revenue
        FROM billing_facts b JOIN ({scope_sql(p, f, settings, with_tier=False)}) s USING (customer_key)
        WHERE {month_between(p, 'b.period', f)}
        GROUP BY ALL HAVING sum(b.amount_billed) > 0"""


def pareto_curve(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Customers with revenue in the window, largest first, with cumulative customer and revenue shares (no rows when
    the window has no bills)."""
    p = Params(con)
    frame = run(con, f"SELECT customer_id, revenue FROM ({customer_revenue_sql(p, f, settings)}) "
                     "ORDER BY revenue DESC, customer_key", p)
    if no_data(con, "revenue", f):
        frame = frame.iloc[0:0]
    frame.insert(0, "rank", range(1, len(frame) + 1))
    frame["customer_share"] = frame["rank"] / max(len(frame), 1)
    total = frame["revenue"].sum()
    frame["revenue_share"] = frame["revenue"].cumsum() / total if total else 0.0
    return frame


def revenue_concentration(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """One row: customers with revenue, revenue share of the top 20% of them (ceil(0.2 n)), and the Gini coefficient
    G = 2 x sum(i x revenue_i) / (n x total) - (n + 1) / n over revenues in ascending order (i = 1..n). Every figure is
    null when the window has no bills (no bill loaded for any of its months): "no data", not 0 customers with
    revenue."""
    if no_data(con, "revenue", f):
        return pd.DataFrame({"customers": pd.array([None], dtype="Int64"), "top20_share": [float("nan")],
                             "gini": [float("nan")]})
    p = Params(con)
    # n counted apart: a count(*) OVER () beside the ranking window doubles the work over a million customers
    sql = f"""
        WITH revenues AS (SELECT customer_key, revenue FROM ({customer_revenue_sql(p, f, settings)})),
        counted AS (SELECT count(*) AS n FROM revenues),
        ranked AS (SELECT revenue, row_number() OVER (ORDER BY revenue DESC, customer_key) AS rank FROM revenues)
        SELECT count(*) AS customers,
               sum(revenue) FILTER (WHERE rank <= ceil(0.2 * counted.n)) / nullif(sum(revenue), 0) AS top20_share,
               2 * sum((counted.n - rank + 1) * revenue) / nullif(any_value(counted.n) * sum(revenue), 0)
                   - (any_value(counted.n) + 1) / any_value(counted.n) AS gini
        FROM ranked, counted"""
    return run(con, sql, p).astype({"top20_share": "float64", "gini": "float64"})


def tier_paths_sql(p: Params, f: Filters, before: dt.date, after: dt.date, settings: MetricSettings) -> str:
    """SELECT customer_key, customer_id, from_tier, to_tier of the customers the filters select, whatever their tier
    (the migration shows where each tier went), active at some time from `before` to `after`: the tier on each day,
    'new' if not active on `before`, 'closed' if not active on `after`. Where both days' month-end snapshots answer
    (snapshot_answers), the two tiers are columns of customer_month_ends, read in one scan (at 1 M customers no join of
    two million-row snapshot slices); else each day's tiers are joined (tiers_sql)."""
    scoped = f.model_copy(update={"tiers": None})

    def path(tier_before: str, tier_after: str, alias: str) -> str:
        return (f"CASE WHEN {active_in(p, before, before, alias)} THEN {tier_before} ELSE 'new' END AS from_tier, "
                f"CASE WHEN {active_in(p, after, after, alias)} THEN {tier_after} ELSE 'closed' END AS to_tier")

    if snapshot_answers(p, before, settings) and snapshot_answers(p, after, settings):
        tier_before, tier_after = (f"c.{month_end_column('tier', month_end(day))}" for day in (before, after))
        return f"""
            SELECT c.customer_key, c.customer_id, {path(tier_before, tier_after, "c")}
            FROM customer_month_ends c
            WHERE {customer_conditions(p, scoped, "c")} AND {active_in(p, before, after, "c")}"""
    return f"""
        WITH scope AS ({scope_sql(p, scoped, settings, with_tier=False)}),
        t0 AS ({tiers_sql(p, before, settings)}),
        t1 AS ({tiers_sql(p, after, settings)})
        SELECT s.customer_key, s.customer_id, {path("t0.tier", "t1.tier", "s")}
        FROM scope s JOIN t0 USING (customer_key) JOIN t1 USING (customer_key)
        WHERE {active_in(p, before, after)}"""


def tier_migration(con, f: Filters, before: dt.date, after: dt.date,
                   settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Customers by tier on `before` and on `after`; 'new' if not active on `before`, 'closed' if not active on
    `after` (tier_paths_sql)."""
    p = Params(con)
    sql = f"""
        SELECT from_tier, to_tier, count(*) AS customers FROM ({tier_paths_sql(p, f, before, after, settings)})
        GROUP BY ALL"""
    frame = run(con, sql, p)
    order = {t: i for i, t in enumerate(("new", *TIERS, "closed"))}
    return frame.sort_values(["from_tier", "to_tier"], key=lambda s: s.map(order)).reset_index(drop=True)


def trailing_year(f: Filters, day: dt.date) -> Filters:
    """The twelve whole months up to the end of `day`'s month, with f's filters: the trailing revenue behind tiers."""
    months = day.year * 12 + day.month - 12  # the month after this one, a year earlier, counted from year 0
    return f.window(dt.date(months // 12, months % 12 + 1, 1), month_end(day))


def rising_accounts(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS,
                    min_growth: float = 0.30) -> pd.DataFrame:
    """Standard or key customers whose trailing-12-month revenue grew by at least 30% year on year.

    Only customers open for the whole year-earlier period count, so a first partial year is not mistaken for growth.
    No rows when the window has no bills."""
    p = Params(con)
    year_before = f.shifted_years(-1).end

    def growing(tier: str, revenue: str, before: str) -> str:
        return (f"{tier} IN ('standard', 'key') AND {before} > 0 AND {revenue} >= {before} * (1 + {p(min_growth)}) "
                f"AND {active_in(p, f.end, f.end, 'c')} AND c.opened_on <= {p(year_before)}::DATE - INTERVAL 1 YEAR")

    # Each customer's trailing twelve months of bills up to both month ends and its tier now from its row of running
    # totals (window_revenue_sql): the trailing revenue a tier snapshot holds is the revenue of those twelve months.
    both = window_revenue_sql(p, trailing_year(f, f.end), settings, ("tier",),
                              also={"before": trailing_year(f, year_before)})
    if both is not None:
        sql = f"""
            SELECT c.customer_id, c.customer_name, c.region, c.service_center, c.industry, r.tier,
                   r.revenue AS revenue_12m, r.before AS revenue_12m_year_before, r.revenue / r.before - 1 AS growth
            FROM ({both}) r JOIN customer_facts c USING (customer_key)
            WHERE {growing('r.tier', 'r.revenue', 'r.before')}
            ORDER BY growth DESC, c.customer_id"""
    else:
        sql = f"""
            SELECT c.customer_id, c.customer_name, c.region, c.service_center, c.industry, now.tier,
                   now.trailing_revenue AS revenue_12m, before.trailing_revenue AS revenue_12m_year_before,
                   now.trailing_revenue / before.trailing_revenue - 1 AS growth
            FROM customer_facts c
            JOIN ({tiers_sql(p, f.end, settings)}) now USING (customer_key)
            JOIN ({tiers_sql(p, year_before, settings)}) before USING (customer_key)
            WHERE {customer_conditions(p, f, 'c')} AND {tier_condition(p, f, 'now.tier')}
              AND {growing('now.tier', 'now.trailing_revenue', 'before.trailing_revenue')}
            ORDER BY growth DESC, c.customer_id"""
    frame = run(con, sql, p)
    return frame.iloc[0:0] if no_data(con, "revenue", f) else frame
