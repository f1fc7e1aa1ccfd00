"""Customer tiers (SPEC 5.1): assignment, distribution, concentration, migration and rising accounts."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from metrics.customer import active_in
from metrics.filters import TIERS, Filters
from metrics.query import Params, month_between, run, scope_sql, tiers_sql
from metrics.settings import DEFAULT_SETTINGS, MetricSettings


def tier_assignment(con: duckdb.DuckDBPyConnection, as_of: dt.date,
                    settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """customer_id -> tier as of a date (given tier, else by trailing-12-month revenue rank), company-wide."""
    p = Params(con)
    return run(con, f"SELECT customer_id, tier, trailing_revenue, share_before FROM ({tiers_sql(p, as_of, settings)}) "
                    "ORDER BY trailing_revenue DESC, customer_id", p)


def tier_distribution(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Per tier: customers active in the window, revenue and consumption in the window, and each one's share."""
    p = Params(con)
    sql = f"""
        WITH scope AS ({scope_sql(p, f, settings)}),
        bills AS (SELECT customer_id, sum(amount_billed) AS revenue, sum(consumption_kwh) AS consumption_kwh
                  FROM billing b WHERE {month_between(p, 'b.period', f)} GROUP BY ALL)
        SELECT s.tier, count(*) AS customers, coalesce(sum(bills.revenue), 0) AS revenue,
               coalesce(sum(bills.consumption_kwh), 0) AS consumption_kwh
        FROM scope s LEFT JOIN bills USING (customer_id)
        WHERE {active_in(p, f.start, f.end)}
        GROUP BY s.tier"""
    frame = run(con, sql, p).set_index("tier").reindex(list(TIERS), fill_value=0).reset_index()
    for column in ("customers", "revenue", "consumption_kwh"):
        total = frame[column].sum()
        frame[f"{column}_share"] = frame[column] / total if total else float("nan")
    return frame


def pareto_curve(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Customers with revenue in the window, largest first, with cumulative customer and revenue shares."""
    p = Params(con)
    sql = f"""
        WITH scope AS ({scope_sql(p, f, settings, with_tier=False)})
        SELECT b.customer_id, sum(b.amount_billed) AS revenue
        FROM billing b JOIN scope s USING (customer_id)
        WHERE {month_between(p, 'b.period', f)}
        GROUP BY ALL HAVING sum(b.amount_billed) > 0
        ORDER BY revenue DESC, customer_id"""
    frame = run(con, sql, p)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    frame["customer_share"] = frame["rank"] / max(len(frame), 1)
    total = frame["revenue"].sum()
    frame["revenue_share"] = frame["revenue"].cumsum() / total if total else 0.0
    return frame


def revenue_concentration(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """One row: customers with revenue, revenue share of the top 20% of them, and the Gini coefficient."""
    curve = pareto_curve(con, f, settings)
    n, total = len(curve), curve["revenue"].sum()
    if n == 0 or total == 0:
        return pd.DataFrame({"customers": [n], "top20_share": [float("nan")], "gini": [float("nan")]})
    top = -(-n // 5)  # ceil(0.2 n)
    ascending = curve["revenue"].to_numpy()[::-1]
    ranks = pd.RangeIndex(1, n + 1).to_numpy()
    gini = 2 * (ranks * ascending).sum() / (n * total) - (n + 1) / n
    return pd.DataFrame({"customers": [n], "top20_share": [curve["revenue"].iloc[:top].sum() / total],
                         "gini": [gini]})


def tier_migration(con, f: Filters, before: dt.date, after: dt.date,
                   settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Customers by tier on `before` and on `after`; 'new' if not active on `before`, 'closed' if not active on `after`."""
    p = Params(con)
    scoped = f.model_copy(update={"tiers": None})
    sql = f"""
        WITH scope AS ({scope_sql(p, scoped, settings, with_tier=False)}),
        t0 AS ({tiers_sql(p, before, settings)}),
        t1 AS ({tiers_sql(p, after, settings)})
        SELECT CASE WHEN {active_in(p, before, before)} THEN t0.tier ELSE 'new' END AS from_tier,
               CASE WHEN {active_in(p, after, after)} THEN t1.tier ELSE 'closed' END AS to_tier,
               count(*) AS customers
        FROM scope s JOIN t0 USING (customer_id) JOIN t1 USING (customer_id)
        WHERE {active_in(p, before, after)}
        GROUP BY ALL"""
    frame = run(con, sql, p)
    order = {t: i for i, t in enumerate(("new", *TIERS, "closed"))}
    return frame.sort_values(["from_tier", "to_tier"], key=lambda s: s.map(order)).reset_index(drop=True)


def rising_accounts(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS,
                    min_growth: float = 0.30) -> pd.DataFrame:
    """Standard or key customers whose trailing-12-month revenue grew by at least 30% year on year.

    Only customers open for the whole year-earlier period count, so a first partial year is not mistaken for growth."""
    p = Params(con)
    year_before = f.shifted_years(-1).end
    sql = f"""
        WITH scope AS ({scope_sql(p, f, settings)}),
        now AS ({tiers_sql(p, f.end, settings)}),
        before AS ({tiers_sql(p, year_before, settings)})
        SELECT s.customer_id, c.customer_name, s.region, s.service_center, s.industry, s.tier,
               now.trailing_revenue AS revenue_12m, before.trailing_revenue AS revenue_12m_year_before,
               now.trailing_revenue / before.trailing_revenue - 1 AS growth
        FROM scope s JOIN customers c USING (customer_id)
        JOIN now USING (customer_id) JOIN before USING (customer_id)
        WHERE s.tier IN ('standard', 'key') AND before.trailing_revenue > 0
          AND now.trailing_revenue >= before.trailing_revenue * (1 + {p(min_growth)})
          AND {active_in(p, f.end, f.end)} AND s.opened_on <= {p(year_before)}::DATE - INTERVAL 1 YEAR
        ORDER BY growth DESC, s.customer_id"""
    return run(con, sql, p)
