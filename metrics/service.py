"""Service views behind the response-time and complaint pages: distributions, backlog ageing,
complaint months that stand out, repeat complainants."""

from __future__ import annotations

import pandas as pd

from metrics.customer import complaints
from metrics.facts import BACKLOG, backlog_source
from metrics.filters import Filters
from metrics.inputs import loaded_inputs
from metrics.query import (
    Params,
    between,
    customer_conditions,
    fact_filters,
    periods,
    run,
    ticket_conditions,
    tier_join,
)
from metrics.settings import DEFAULT_SETTINGS, MetricSettings

DURATIONS = {"response_hours": "response_hours", "resolution_hours": "resolution_hours",
             "arrival_minutes": "arrival_minutes"}
HOUR_BUCKETS = (0, 1, 2, 4, 8, 24, 48, 72, 168, 336)
MINUTE_BUCKETS = (0, 15, 30, 45, 60, 90, 120, 180, 240)


def duration_edges(duration: str) -> tuple[int, ...]:
    return MINUTE_BUCKETS if duration == "arrival_minutes" else HOUR_BUCKETS
AGE_BUCKETS_DAYS = (0, 1, 3, 7, 30, 90)
OUTLIER_RULE = ("complaints above the mean + 2 standard deviations of the previous 12 months "
                "(at least 6 months of history)")


def _bucket_labels(edges: tuple[int, ...], unit: str) -> list[str]:
    labels = [f"{a}–{b} {unit}" for a, b in zip(edges, edges[1:])]
    return [*labels, f"{edges[-1]}+ {unit}"]


def bucket_number(p: Params, value: str, edges: tuple[int, ...]) -> str:
    """SQL for how many of the ascending `edges` are <= value (1 = the first bucket). A CASE chain: a third of the time
    of counting a filtered list per row over millions of tickets."""
    steps = " ".join(f"WHEN {value} >= {p(edge)} THEN {i}" for i, edge in reversed(list(enumerate(edges, start=1))))
    return f"CASE {steps} ELSE 0 END"


def duration_buckets_sql(p: Params, alias: str = "t") -> str:
    """SELECT items giving each ticket's bucket number of every duration (`<duration>_bucket`, 0 where it has none).
    Also run at load to store them in ticket_facts: the distribution then groups by a small integer instead of
    working out the bucket of every ticket of the window (a third of the time at 1 M customers)."""
    return ", ".join(f"CAST({bucket_number(p, f'{alias}.{column}', duration_edges(duration))} AS TINYINT) "
                     f"AS {duration}_bucket" for duration, column in DURATIONS.items())


def duration_distribution(con, f: Filters, duration: str = "resolution_hours",
                          settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Tickets created in the window per ticket type and duration bucket (response, resolution or repair arrival)."""
    column = DURATIONS[duration]
    edges = duration_edges(duration)
    p = Params(con)
    join, customers = fact_filters(p, f, settings, "t")
    # the bucket stored at load (duration_buckets_sql) when the tables built at load are used, else worked out here;
    # bucket 0 is a ticket without the duration (durations are never negative: the loader's order rules), so the
    # stored bucket alone tells it, without reading the duration's doubles (0.15 to 0.10 s over 36 months at 1 M)
    bucket = f"t.{duration}_bucket" if settings.rollups else bucket_number(p, f"t.{column}", edges)
    has_duration = f"t.{duration}_bucket > 0" if settings.rollups else f"t.{column} IS NOT NULL"
    sql = f"""
        SELECT t.ticket_type, {bucket} AS bucket_no, count(*) AS tickets
        FROM ticket_facts t {join}
        WHERE {between(p, 't.created_at', f)} AND {ticket_conditions(p, f)} AND {customers} AND {has_duration}
        GROUP BY ALL ORDER BY ALL"""
    frame = run(con, sql, p)
    labels = _bucket_labels(edges, "min" if duration == "arrival_minutes" else "h")
    frame["bucket"] = pd.Categorical([labels[int(i) - 1] for i in frame["bucket_no"]], categories=labels, ordered=True)
    return frame[["ticket_type", "bucket", "tickets"]]


def backlog_ageing(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Tickets open at the end of `end`, per ticket type and age bucket in days (none without resolved_at: without it
    no ticket is known to be open)."""
    p = Params(con)
    cutoff = f"({p(f.end)}::DATE + INTERVAL 1 DAY)"
    join, customers = fact_filters(p, f, settings, "t")
    age = bucket_number(p, f"date_diff('second', t.created_at, {cutoff})",
                        tuple(days * 86400 for days in AGE_BUCKETS_DAYS))
    sql = f"""
        SELECT t.ticket_type, {age} AS bucket_no, count(*) AS tickets
        FROM {backlog_source(settings)} t {join}
        WHERE {BACKLOG.format(t="t", cutoff=cutoff)}
          AND {ticket_conditions(p, f)} AND {customers} AND {p("tickets.resolved_at" in loaded_inputs(con).present)}
        GROUP BY ALL ORDER BY ALL"""
    frame = run(con, sql, p)
    labels = _bucket_labels(AGE_BUCKETS_DAYS, "days")
    frame["age"] = pd.Categorical([labels[int(i) - 1] for i in frame["bucket_no"]], categories=labels, ordered=True)
    return frame[["ticket_type", "age", "tickets"]]


def complaint_outliers(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Complaints per month with the baseline of the previous 12 months and whether the month stands out (OUTLIER_RULE).

    Each month's complaints are the complaints metric by month over the window and the year before it
    (metrics.customer.complaints: ticket_months for whole months, each month's tiers as of that month's end), a
    month without a complaint 0. The history starts with the warehouse's first ticket month, so months before the
    data are not counted as zero (and with no ticket loaded there are no months)."""
    p = Params(con)
    # Not before the first ticket's month (none at all with no ticket loaded): no month before it has a complaint,
    # and the tiers of those months (no tier snapshot, computed over every customer) would cost most of the figure.
    covered = loaded_inputs(con).coverage.get("tickets")
    first = max(f.shifted_years(-1).start, covered[0].replace(day=1)) if covered is not None else None
    months = ([label for label, _start, _end in periods(first, f.end, "month")]
              if first is not None and first <= f.end else [])
    counted = (complaints(con, f.window(first, f.end), ("month",), settings).set_index("month")["value"]
               if first is not None and months else pd.Series())
    sql = f"""
        WITH series AS (SELECT unnest({p(months)}::DATE[]) AS month,
                               unnest({p([int(counted.get(month, 0)) for month in months])}::BIGINT[]) AS complaints),
        baseline AS (
            SELECT month, complaints,
                   avg(complaints) OVER w AS baseline_mean, stddev_samp(complaints) OVER w AS baseline_std,
                   count(*) OVER w AS history_months
            FROM series WINDOW w AS (ORDER BY month ROWS BETWEEN 12 PRECEDING AND 1 PRECEDING))
        SELECT month, complaints, baseline_mean, baseline_std, baseline_mean + 2 * baseline_std AS threshold,
               coalesce(history_months >= 6 AND complaints > baseline_mean + 2 * baseline_std, false) AS stands_out
        FROM baseline WHERE month >= date_trunc('month', {p(f.start)}::DATE) ORDER BY month"""
    frame = run(con, sql, p)
    frame["rule"] = OUTLIER_RULE
    return frame


def repeat_complainants(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS, minimum: int = 2) -> pd.DataFrame:
    """Customers with two or more complaints created in the window, most complaints first (substantiated: null when
    no source has the flag); tiers (and the tier filter) as of the window's end.

    Complaints are counted per customer and category first, the customers with enough kept, and only their categories
    listed, sorted (as string_agg(DISTINCT category ORDER BY category) lists them, nulls left out): the distinct,
    ordered string_agg over every complaint of the window cost most of the query over 36 months. A tier filter is
    applied to the complaints (fewer to count); the tier shown is joined to the repeated customers only."""
    p = Params(con)
    early_join, _tier, early_tiers = tier_join(p, f, settings, "t", needed=False)
    join, _tier, tiers = tier_join(p, f, settings, "r", needed=True)
    sql = f"""
        WITH per_category AS (
            SELECT t.customer_key, t.category, count(*) AS complaints,
                   count(*) FILTER (WHERE t.substantiated) AS substantiated, max(t.created_at) AS last_complaint_at
            FROM ticket_facts t {early_join}
            WHERE t.ticket_type = 'complaint' AND {between(p, 't.created_at', f)}
              AND {ticket_conditions(p, f, types=False)} AND {customer_conditions(p, f, 't')} AND {early_tiers}
            GROUP BY t.customer_key, t.category),
        repeated AS (
            SELECT customer_key, CAST(sum(complaints) AS BIGINT) AS complaints,
                   CASE WHEN {p("tickets.substantiated" in loaded_inputs(con).present)}
                        THEN CAST(sum(substantiated) AS BIGINT) END AS substantiated,
                   max(last_complaint_at) AS last_complaint_at
            FROM per_category GROUP BY customer_key HAVING sum(complaints) >= {p(minimum)}),
        listed AS (
            SELECT customer_key,
                   array_to_string(list_sort(list(category) FILTER (WHERE category IS NOT NULL)), ', ') AS categories
            FROM per_category SEMI JOIN repeated USING (customer_key) GROUP BY customer_key),
        tiered AS (SELECT r.*, tr.tier FROM repeated r {join} WHERE {tiers})
        SELECT c.customer_id, c.customer_name, c.region, c.service_center, r.tier, r.complaints, r.substantiated,
               r.last_complaint_at, l.categories
        FROM tiered r JOIN listed l USING (customer_key) JOIN customer_facts c USING (customer_key)
        ORDER BY r.complaints DESC, r.last_complaint_at DESC, c.customer_id"""
    return run(con, sql, p)
