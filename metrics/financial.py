"""Financial perspective (SPEC 5.2). Bills count in the window when their month overlaps it."""

from __future__ import annotations

import pandas as pd

from metrics.facts import SHARE, Ratio, billing_aggregate, fact_columns, per_period, ratio, window_revenue_sql
from metrics.query import TIME_GRAINS, Grouping, Params, fact_filters, month_between, periods, run


def revenue(con, f, by, settings) -> pd.DataFrame:
    """Sum of amount_billed."""
    return billing_aggregate(con, f, by, settings, "coalesce(sum(b.amount_billed), 0) AS value")


def consumption_kwh(con, f, by, settings) -> pd.DataFrame:
    """Sum of consumption_kwh."""
    return billing_aggregate(con, f, by, settings, "coalesce(sum(b.consumption_kwh), 0) AS value")


def collection_rate(con, f, by, settings) -> pd.DataFrame:
    """Amount paid / amount billed (电费回收率)."""
    frame = billing_aggregate(con, f, by, settings,
                              "sum(b.amount_paid) AS numerator, sum(b.amount_billed) AS denominator")
    return SHARE.of(frame)


# Revenue growth: revenue / the year-earlier revenue - 1.
GROWTH = Ratio(offset=-1.0)


@per_period(groups_by_time=True)
def revenue_yoy(con, f, by, settings) -> pd.DataFrame:
    """Revenue / revenue of the same window a year earlier - 1 (each window with its own tiers: a segment's growth)."""
    current = revenue(con, f, by, settings).rename(columns={"value": "numerator"})
    base = revenue(con, f.shifted_years(-1), by, settings).rename(columns={"value": "denominator"})
    grains = [d for d in by if d in TIME_GRAINS]
    for grain in grains:  # a year-earlier period is labelled by the period it is compared with
        base[grain] = base[grain].map(lambda day: day.replace(year=day.year + 1))  # period starts: never 29 Feb
    frame = current.merge(base, on=list(by), how="outer") if by else pd.concat([current, base], axis=1)
    if grains and len(by) == 1:  # every period gets its row, as each period on its own would
        labels = [label for label, _start, _end in periods(f.start, f.end, grains[0])]
        frame = frame.set_index(grains[0]).reindex(labels).rename_axis(grains[0]).reset_index()
        frame = frame.fillna({"denominator": 0.0})
    frame = GROWTH.of(frame.fillna({"numerator": 0.0}))
    return frame.sort_values(list(by)).reset_index(drop=True) if by else frame


def key_account_revenue_share(con, f, by, settings) -> pd.DataFrame:
    """Revenue of VIP and key customers / revenue (tiers as of the window's end, or each period's end by period)."""
    frame = billing_aggregate(con, f, (*by, "tier") if "tier" not in by else by, settings,
                              "sum(b.amount_billed) AS revenue")
    frame["numerator"] = frame["revenue"].where(frame["tier"].isin(["VIP", "key"]), 0.0)
    keys = list(by)
    if keys:
        out = frame.groupby(keys, as_index=False, dropna=False)[["numerator", "revenue"]].sum()
    else:
        out = pd.DataFrame({"numerator": [frame["numerator"].sum()], "revenue": [frame["revenue"].sum()]})
    return ratio(out.rename(columns={"revenue": "denominator"}))[[*keys, "value", "numerator", "denominator"]]


def top20_revenue_share(con, f, by, settings) -> pd.DataFrame:
    """Revenue of the top 20% of customers (by revenue in the window, ceil(0.2 x customers with revenue)) / revenue."""
    p = Params(con)
    g = Grouping(tuple(by), "b.period", fact_columns("b"))
    partition = f"PARTITION BY {', '.join(by)}" if by else ""
    stored = window_revenue_sql(p, f, settings, by)
    if stored is not None:  # each customer's revenue from the running totals; ties ranked by customer_id as below
        per_customer = f"SELECT {''.join(f'{d}, ' for d in by)}customer_id, revenue FROM ({stored}) WHERE revenue > 0"
    else:
        join, customers = fact_filters(p, f, settings, "b", "tier" in by, g)
        per_customer = f"""
            SELECT {g.select}b.customer_id, sum(b.amount_billed) AS revenue
            FROM billing_facts b {join}
            WHERE {month_between(p, 'b.period', f)} AND {customers}
            GROUP BY ALL HAVING sum(b.amount_billed) > 0"""
    sql = f"""
        WITH per_customer AS ({per_customer}),
        ranked AS (
            SELECT *, row_number() OVER ({partition} ORDER BY revenue DESC, customer_id) AS rank,
                   count(*) OVER ({partition}) AS customers
            FROM per_customer)
        SELECT {''.join(f'{d}, ' for d in by)}
               sum(revenue) FILTER (WHERE rank <= ceil(0.2 * customers)) AS numerator,
               sum(revenue) AS denominator
        FROM ranked {('GROUP BY ' + ', '.join(by)) if by else ''} {g.order}"""
    return ratio(run(con, sql, p))
