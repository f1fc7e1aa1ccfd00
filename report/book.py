"""What the briefing book says for one month and scope, gathered from `metrics` (every number is a catalogue metric or a
metrics view; nothing here computes one of its own)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from metrics import CATALOGUE, compute, compute_many, retention, scorecard, warehouse
from metrics.filters import Filters
from metrics.inputs import loaded_inputs
from metrics.scorecard import ScorecardConfig, in_parallel

TREND_MONTHS = 13
EARLY_WARNING_ROWS = 15
# The breakdowns each perspective's section draws (name -> metric), the same as the pages draw them: by region in a
# book about several regions, by service centre in a region's own book.
BREAKDOWNS: dict[str, str] = {
    "revenue_by_place": "revenue", "complaint_rate_by_place": "complaint_rate_per_10k", "csat_by_place": "csat",
    "sla_by_place": "sla_compliance", "arrival_by_place": "repair_arrival_minutes",
    "visit_coverage_by_place": "visit_coverage", "training_by_place": "training_hours_per_staff",
}
BY_KIND: dict[str, tuple[str, str]] = {
    "complaints_by_category": ("complaints", "category"), "sla_by_type": ("sla_compliance", "ticket_type"),
}


def place_dimension(scope: tuple[str, ...] | None) -> str:
    return "service_center" if scope is not None and len(scope) == 1 else "region"


# Monthly series beside the KPIs' own 13-month trends (name -> metric).
SERIES = ("revenue", "median_response_hours", "p90_response_hours")
# The month's size beside the KPIs: what was sold and billed, how many accounts, tickets and complaints.
VOLUMES = ("revenue", "consumption_kwh", "active_customers", "tickets", "complaints", "backlog")


@dataclass(frozen=True)
class Commentary:
    """A KPI's commentary for the month, as the application store keeps it (issue 19)."""
    metric: str
    text: str
    author: str
    written_on: dt.date


@dataclass(frozen=True)
class Action:
    """An open action (督办) on a KPI, as the application store keeps it (issue 19)."""
    metric: str
    title: str
    owner: str
    due: dt.date | None
    status: str


@dataclass
class Book:
    month: dt.date  # the month's first day
    filters: Filters  # the month, with the scope (regions, the user's row limits)
    scope: tuple[str, ...] | None  # the regions the book is about; None: the company
    reader: str | None  # whose view of the data (--user), None: no row limit
    generated_at: dt.datetime
    loaded_at: dt.datetime | None
    data_until: dt.date | None
    config: ScorecardConfig
    kpis: pd.DataFrame  # one row per KPI: the month's evaluation plus previous_month, year_ago, ytd, ytd_status
    scores: pd.DataFrame  # perspective and composite scores: score (month), ytd
    volumes: pd.DataFrame  # one row per VOLUMES metric: value, previous_month, year_ago, ytd
    league: pd.DataFrame
    trends: dict[str, pd.DataFrame]  # metric -> month, value over the 13 months to the month
    series: dict[str, pd.DataFrame]  # SERIES metric -> month, value (and the year-earlier revenue)
    breakdowns: dict[str, pd.DataFrame]  # BREAKDOWNS (those the place dimension applies to) and BY_KIND
    early_warning: pd.DataFrame
    early_warning_total: int
    commentary: tuple[Commentary, ...] = field(default_factory=tuple)
    actions: tuple[Action, ...] = field(default_factory=tuple)


def month_window(month: dt.date, base: Filters | None = None) -> Filters:
    """The calendar month that holds `month`, with the base filters' scope."""
    start = month.replace(day=1)
    end = (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
    return base.window(start, end) if base is not None else Filters(start=start, end=end)


def shift_months(month: dt.date, months: int) -> dt.date:
    return (pd.Timestamp(month.replace(day=1)) + pd.DateOffset(months=months)).date()


def gather(con: duckdb.DuckDBPyConnection, month: dt.date, base: Filters, config: ScorecardConfig,
           scope: tuple[str, ...] | None = None, reader: str | None = None,
           commentary: tuple[Commentary, ...] = (), actions: tuple[Action, ...] = ()) -> Book:
    """Everything the book for `month` shows, for the filters `base` (whose dates are ignored) selects."""
    f = month_window(month, base)
    previous = month_window(shift_months(month, -1), base)
    year_ago = month_window(shift_months(month, -12), base)
    ytd = f.window(f.start.replace(month=1), f.end)
    trend_window = f.window(shift_months(month, -(TREND_MONTHS - 1)), f.end)
    inputs = loaded_inputs(con)
    metric_ids = [kpi.metric for _, kpi in config.kpis()]

    now, year_to_date = (scorecard.evaluate(con, config, window) for window in (f, ytd))
    # the other months' values only (no status or score), null where the window has no data, as `evaluate` has them
    earlier: list[Any] = in_parallel(con, [*(lambda c, m=m, w=w: compute(c, m, w, inputs=inputs)["value"].iloc[0]
                                  for w in (previous, year_ago) for m in metric_ids),
                                lambda c: scorecard.has_data(c, previous, inputs=inputs),
                                lambda c: scorecard.has_data(c, year_ago, inputs=inputs)])
    before, last_year = earlier[:len(metric_ids)], earlier[len(metric_ids):2 * len(metric_ids)]
    before = [v if earlier[-2] else float("nan") for v in before]
    last_year = [v if earlier[-1] else float("nan") for v in last_year]
    kpis = now.drop(columns=["previous", "change"]).assign(
        previous_month=before, year_ago=last_year,
        ytd=year_to_date["value"].to_numpy(), ytd_status=year_to_date["status"].to_numpy())
    kpis["change_month"] = kpis["value"] - kpis["previous_month"]
    kpis["change_year"] = kpis["value"] - kpis["year_ago"]
    scores = scorecard.perspective_scores(now).assign(
        ytd=scorecard.perspective_scores(year_to_date)["score"].to_numpy())

    def monthly(metric_id: str, window: Filters):
        return lambda c: compute(c, metric_id, window, by=("month",), inputs=inputs)

    # The duration quantiles among the KPIs' trends and the series (the median response time is both) in one query,
    # the ticket metrics over the ticket parts in one read of ticket_months (compute_many); every other trend on its
    # own job.
    together = tuple(dict.fromkeys(m for m in (*metric_ids, *SERIES)
                                   if CATALOGUE[m].quantile is not None or CATALOGUE[m].ticket_rollup is not None))
    alone = [m for m in dict.fromkeys((*metric_ids, *SERIES)) if m not in together]
    jobs = [monthly(m, trend_window) for m in alone]
    jobs.append(lambda c: compute_many(c, together, trend_window, by=("month",), inputs=inputs))
    jobs.append(monthly("revenue", trend_window.shifted_years(-1)))
    jobs += [lambda c, m=m, w=w: compute(c, m, w, inputs=inputs)["value"].iloc[0]
             for m in VOLUMES for w in (f, previous, year_ago, ytd)]
    place = place_dimension(scope)
    wanted = {name: (m, place) for name, m in BREAKDOWNS.items() if place in CATALOGUE[m].dimensions}
    wanted.update(BY_KIND)
    jobs += [lambda c, m=m, d=d: compute(c, m, f, by=(d,), inputs=inputs) for m, d in wanted.values()]
    jobs += [lambda c: scorecard.league_table(c, config, f), lambda c: retention.early_warning(c, f),
             lambda c: warehouse.load_history(c), lambda c: warehouse.data_range(c)]
    results = in_parallel(con, jobs)
    monthly_frames = {**dict(zip(alone, results[:len(alone)])), **results[len(alone)]}
    trends = {m: monthly_frames[m] for m in metric_ids}
    series = {m: monthly_frames[m] for m in SERIES}
    year_before = results[len(alone) + 1]
    series["revenue_year_before"] = year_before.assign(month=[shift_months(m, 12) for m in year_before["month"]])
    rest = results[len(alone) + 2:]
    figures = rest[:4 * len(VOLUMES)]
    volumes = pd.DataFrame({"metric": list(VOLUMES), "value": figures[0::4], "previous_month": figures[1::4],
                            "year_ago": figures[2::4], "ytd": figures[3::4]})
    rest = rest[4 * len(VOLUMES):]
    breakdowns = dict(zip(wanted, rest[:len(wanted)]))
    league, warning, loads, data_range = rest[len(wanted):]
    return Book(
        month=f.start, filters=f, scope=scope, reader=reader,
        generated_at=dt.datetime.now().replace(microsecond=0),
        loaded_at=None if loads.empty else pd.Timestamp(loads["loaded_at"].max()).to_pydatetime(),
        data_until=None if data_range is None else data_range[1],
        config=config, kpis=kpis, scores=scores, volumes=volumes, league=league, trends=trends, series=series,
        breakdowns=breakdowns, early_warning=warning.head(EARLY_WARNING_ROWS), early_warning_total=len(warning),
        commentary=tuple(commentary), actions=tuple(actions))
