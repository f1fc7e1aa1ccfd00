"""The balanced scorecard (SPEC 5.6): KPI targets from a TOML file, status, 0-100 scores, composite and league table."""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Literal, TypeVar

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from metrics.catalogue import CATALOGUE, PERSPECTIVES, compute
from metrics.filters import Filters
from metrics.inputs import LoadedInputs, loaded_inputs
from metrics.model import rollups_answer
from metrics.query import Params, between, fact_filters, month_between, run
from metrics.settings import DEFAULT_SETTINGS, MetricSettings, read_toml

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "scorecard.toml"
Status = Literal["green", "amber", "red", "grey"]
T = TypeVar("T")


class Kpi(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    target: float
    amber_within: float = Field(ge=0, description="distance from target, in the metric's units, still shown amber")
    weight: float = Field(1.0, gt=0)
    direction: Literal["higher", "lower"] | None = None

    @field_validator("metric")
    @classmethod
    def _known(cls, metric: str) -> str:
        if metric not in CATALOGUE:
            raise ValueError(f"unknown metric '{metric}'; known metrics: {', '.join(CATALOGUE)}")
        return metric

    @property
    def better(self) -> str:
        return self.direction or CATALOGUE[self.metric].direction


class ScorecardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    financial: list[Kpi]
    customer: list[Kpi]
    internal_process: list[Kpi]
    learning_growth: list[Kpi]

    def kpis(self) -> list[tuple[str, Kpi]]:
        return [(perspective, kpi) for perspective in PERSPECTIVES for kpi in getattr(self, perspective)]


class ScorecardFileError(ValueError):
    """A scorecard file that cannot be used; the message names the file and the key."""


def load_config(path: Path = DEFAULT_FILE) -> ScorecardConfig:
    return read_toml(path, ScorecardConfig, ScorecardFileError)


def status(value: float, kpi: Kpi) -> Status:
    if value is None or np.isnan(value):
        return "grey"
    gap = (kpi.target - value) if kpi.better == "higher" else (value - kpi.target)
    if gap <= 0:
        return "green"
    return "amber" if gap <= kpi.amber_within else "red"


def score(value: float, kpi: Kpi) -> float:
    """0-100: the value against its target, capped at 100 (and at 0 below)."""
    if value is None or np.isnan(value):
        return float("nan")
    if kpi.better == "higher":
        ratio = value / kpi.target if kpi.target else (1.0 if value >= 0 else 0.0)
    else:
        ratio = kpi.target / value if value > 0 else 1.0
    return float(np.clip(ratio, 0, 1) * 100)


def previous_period(f: Filters) -> Filters:
    """The window of the same length just before this one."""
    days = (f.end - f.start).days + 1
    return f.window(f.start - dt.timedelta(days=days), f.start - dt.timedelta(days=1))


def in_parallel(con: duckdb.DuckDBPyConnection, jobs: list[Callable[[duckdb.DuckDBPyConnection], T]]) -> list[T]:
    """Run independent computations on a few threads, each job on its own cursor: DuckDB releases the GIL while a
    query runs, and most of the scorecard's queries are too small to keep both cores busy alone."""
    cursors = [con.cursor() for _ in jobs]
    try:
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            return list(pool.map(lambda job, cursor: job(cursor), jobs, cursors))
    finally:
        for cursor in cursors:
            cursor.close()


def evaluate(con: duckdb.DuckDBPyConnection, config: ScorecardConfig, f: Filters,
             settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """One row per KPI: value, target, status, score, previous period's value, the change, and `missing`: the inputs
    the KPI needs that no loaded source has (SPEC 5.7). A window in which the filters' customers have no bill, ticket,
    survey or visit has no data: every KPI of it is null."""
    before = previous_period(f)
    kpis = config.kpis()
    inputs = loaded_inputs(con)
    jobs = [lambda c, m=kpi.metric, w=window: compute(c, m, w, settings=settings, inputs=inputs)["value"].iloc[0]
            for _, kpi in kpis for window in (f, before)]
    *values, now_has_data, before_had_data = in_parallel(
        con, [*jobs, lambda c: has_data(c, f, settings), lambda c: has_data(c, before, settings)])
    values[0::2] = [v if now_has_data else float("nan") for v in values[0::2]]
    values[1::2] = [v if before_had_data else float("nan") for v in values[1::2]]
    rows = []
    for (perspective, kpi), value, previous in zip(kpis, values[0::2], values[1::2]):
        rows.append({
            "perspective": perspective, "metric": kpi.metric, "value": value, "target": kpi.target,
            "direction": kpi.better, "weight": kpi.weight, "status": status(value, kpi), "score": score(value, kpi),
            "previous": previous, "change": value - previous,
            "missing": inputs.absent(CATALOGUE[kpi.metric].needs),
        })
    return pd.DataFrame(rows)


def _facts_in_window(p: Params, f: Filters, settings: MetricSettings) -> list[str]:
    """SELECTs of the region of each bill, ticket, survey and visit of the filters' customers in the window. Without a
    tier filter, bills come from billing_parts (each month's own slice): the same months, a small fraction of the rows."""
    bills = ("(SELECT month AS period, * EXCLUDE (month) FROM billing_parts WHERE as_of = last_day(month))"
             if settings.rollups and f.tiers is None and rollups_answer(f, ()) else "billing_facts")
    facts = [(bills, "b", month_between(p, "b.period", f)), ("ticket_facts", "t", between(p, "t.created_at", f)),
             ("survey_facts", "v", between(p, "v.surveyed_on", f)),
             ("(SELECT c.*, v.visited_on FROM visits v JOIN customer_facts c USING (customer_id))", "c",
              between(p, "c.visited_on", f))]
    parts = []
    for table, alias, window in facts:
        join, conditions = fact_filters(p, f, settings, alias)
        parts.append(f"SELECT {alias}.region FROM {table} {alias} {join} WHERE {window} AND {conditions}")
    return parts


def regions_with_data(con: duckdb.DuckDBPyConnection, f: Filters,
                      settings: MetricSettings = DEFAULT_SETTINGS) -> set[str]:
    """The regions in which the filters' customers have at least one bill, ticket, survey or visit in the window."""
    p = Params(con)
    sql = " UNION ".join(f"SELECT DISTINCT region FROM ({part})" for part in _facts_in_window(p, f, settings))
    return set(run(con, sql, p)["region"])


def has_data(con: duckdb.DuckDBPyConnection, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS) -> bool:
    """Whether the filters' customers have any bill, ticket, survey or visit in the window (stops at the first)."""
    p = Params(con)
    return any(not run(con, f"{part} LIMIT 1", p).empty for part in _facts_in_window(p, f, settings))


def weighted_score(kpis: pd.DataFrame) -> float:
    """Weighted mean score of the KPIs that have data; null when none has."""
    has = kpis["score"].notna()
    return float(np.average(kpis.loc[has, "score"], weights=kpis.loc[has, "weight"])) if has.any() else float("nan")


def perspective_scores(kpis: pd.DataFrame) -> pd.DataFrame:
    rows = [{"perspective": p, "score": weighted_score(kpis[kpis["perspective"] == p])} for p in PERSPECTIVES]
    rows.append({"perspective": "composite", "score": weighted_score(kpis)})
    return pd.DataFrame(rows)


def league_table(con: duckdb.DuckDBPyConnection, config: ScorecardConfig, f: Filters,
                 settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Regions ranked by composite score, with each perspective's score. A region with no bill, ticket, survey or visit
    in the window, or with no KPI with data, has no scores and no rank, and is listed last. Regions tied on composite
    share a rank (1, 1, 3)."""
    scored = []
    kpis = config.kpis()
    inputs = loaded_inputs(con)
    *frames, with_data = in_parallel(con, [
        *(lambda c, m=kpi.metric: compute(c, m, f, by=("region",), settings=settings, inputs=inputs)
          for _, kpi in kpis),
        lambda c: regions_with_data(c, f, settings)])
    for (perspective, kpi), frame in zip(kpis, frames):
        scores = [score(value, kpi) if region in with_data else float("nan")
                  for region, value in zip(frame["region"], frame["value"])]
        scored.append(pd.DataFrame({"region": frame["region"], "perspective": perspective, "weight": kpi.weight,
                                    "score": scores}, columns=["region", "perspective", "weight", "score"]))
    if not scored:
        return pd.DataFrame(columns=["rank", "region", "composite", *PERSPECTIVES])
    all_scores = pd.concat(scored, ignore_index=True)
    rows = []
    for region, group in all_scores.groupby("region"):
        row = {"region": region, "composite": weighted_score(group)}
        row.update({p: weighted_score(group[group["perspective"] == p]) for p in PERSPECTIVES})
        rows.append(row)
    table = pd.DataFrame(rows, columns=["region", "composite", *PERSPECTIVES])
    table = table.sort_values(["composite", "region"], ascending=[False, True], na_position="last")
    table.insert(0, "rank", competition_ranks(table["composite"]))
    return table.reset_index(drop=True)


def competition_ranks(composite: pd.Series) -> pd.array:
    """Standard competition ranking, highest first: scores that tie share a rank and the next rank skips (1, 1, 3);
    no score, no rank (null). Scores equal but for floating-point noise in a weighted mean's last digits are a tie."""
    ranks = composite.astype("float64").round(9).rank(method="min", ascending=False)
    return pd.array([None if r != r else int(r) for r in ranks], dtype="Int64")


def sparkline(con: duckdb.DuckDBPyConnection, metric_id: str, f: Filters,
              settings: MetricSettings = DEFAULT_SETTINGS, inputs: LoadedInputs | None = None) -> pd.DataFrame:
    """The KPI by month over the last twelve months up to `end` (or the window, if shorter)."""
    start = max(f.start, (pd.Timestamp(f.end) - pd.DateOffset(months=11)).replace(day=1).date())
    return compute(con, metric_id, f.window(start, f.end), by=("month",), settings=settings, inputs=inputs)


def sparklines(con: duckdb.DuckDBPyConnection, config: ScorecardConfig, f: Filters,
               settings: MetricSettings = DEFAULT_SETTINGS) -> dict[str, pd.DataFrame]:
    """Every KPI's sparkline, by metric id."""
    metric_ids = [kpi.metric for _, kpi in config.kpis()]
    inputs = loaded_inputs(con)
    frames = in_parallel(con, [lambda c, m=m: sparkline(c, m, f, settings, inputs) for m in metric_ids])
    return dict(zip(metric_ids, frames))
