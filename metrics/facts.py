"""Grouped aggregates over each fact table, filtered through the customer scope.

Each helper takes the measures as SQL over the fact alias and returns the `by` columns plus the
measures. Time attribution follows SPEC section 4: bills by period, tickets by created_at,
surveys by surveyed_on, visits by visited_on, churn by closed_on.
"""

from __future__ import annotations

from typing import Callable

import duckdb
import pandas as pd

from metrics.filters import Filters
from metrics.query import (CUSTOMER_DIMENSIONS, TICKET_DIMENSIONS, Grouping, Params, between, month_between, periods,
                           run, scope_sql, ticket_conditions, TIME_GRAINS)
from metrics.settings import MetricSettings

CUSTOMER_COLUMNS = {d: f"s.{d}" for d in CUSTOMER_DIMENSIONS}
TICKET_COLUMNS = {**CUSTOMER_COLUMNS, **{d: f"t.{d}" for d in TICKET_DIMENSIONS}}


def _aggregate(con, f: Filters, by, settings, p: Params, measures: str, fact: str, time_column: str,
               window: str, columns: dict[str, str], where: str = "true") -> pd.DataFrame:
    g = Grouping(tuple(by), time_column, columns)
    sql = f"""
        WITH scope AS ({scope_sql(p, f, settings, with_tier='tier' in by)})
        SELECT {g.select}{measures}
        FROM {fact} JOIN scope s USING (customer_id)
        WHERE {window} AND {where}
        {g.group} {g.order}"""
    return run(con, sql, p)


def billing_aggregate(con, f, by, settings, measures: str, where: str = "true", p: Params | None = None):
    p = p or Params()
    return _aggregate(con, f, by, settings, p, measures, "billing b", "b.period",
                      month_between(p, "b.period", f), CUSTOMER_COLUMNS, where)


def ticket_aggregate(con, f, by, settings, measures: str, where: str = "true", apply_ticket_types: bool = True,
                     p: Params | None = None):
    p = p or Params()
    return _aggregate(con, f, by, settings, p, measures, "ticket_facts t", "t.created_at",
                      between(p, "t.created_at", f), TICKET_COLUMNS,
                      f"{ticket_conditions(p, f, 't', apply_ticket_types)} AND {where}")


def survey_aggregate(con, f, by, settings, measures: str, where: str = "true"):
    p = Params()
    return _aggregate(con, f, by, settings, p, measures, "surveys v", "v.surveyed_on",
                      between(p, "v.surveyed_on", f), CUSTOMER_COLUMNS, where)


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


def per_period(compute: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    """For window metrics (stocks, retention, year-on-year): a time grain in `by` evaluates the metric
    on each period's own window, clipped to the filter's window."""

    def wrapped(con: duckdb.DuckDBPyConnection, f: Filters, by: tuple[str, ...], settings: MetricSettings):
        grains = [d for d in by if d in TIME_GRAINS]
        if not grains:
            return compute(con, f, by, settings)
        grain, rest = grains[0], tuple(d for d in by if d != grains[0])
        frames = []
        for label, start, end in periods(f.start, f.end, grain):
            frame = compute(con, f.window(start, end), rest, settings)
            frame.insert(0, grain, label)
            frames.append(frame)
        out = pd.concat(frames, ignore_index=True)
        return out[[*by, *[c for c in out.columns if c not in by]]]

    wrapped.__doc__ = compute.__doc__
    wrapped.__name__ = compute.__name__
    return wrapped
