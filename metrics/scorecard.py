"""The balanced scorecard (SPEC 5.6): KPI targets from a TOML file, status, 0-100 scores, composite and league table."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from metrics.catalogue import CATALOGUE, PERSPECTIVES, compute, compute_many, compute_sets, from_regions
from metrics.facts import inner_months, rollup_tier_sql, ticket_rollup
from metrics.filters import Filters
from metrics.inputs import LoadedInputs, loaded_inputs
from metrics.model import month_rollup
from metrics.query import Params, between, customer_conditions, fact_filters, month_between, run, whole_months
from metrics.settings import DEFAULT_SETTINGS, MetricSettings, read_toml

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "scorecard.toml"
Status = Literal["green", "amber", "red", "grey"]
T = TypeVar("T")


YEAR_KEY = re.compile(r"^(19|20)\d\d$|^2100$")
COMPANY = "*"  # the company-wide scope (owners), as in the application store


def _years(years: dict) -> dict:
    for year in years:
        if not YEAR_KEY.match(str(year)):
            raise ValueError(f"year '{year}' is not a year from 1900 to 2100 (write it as \"2026\")")
    return years


class TargetOverride(BaseModel):
    """A target and/or amber band that replaces the company default for a year or a region; what it leaves out
    comes from the next level (region's year, then region, then year, then the company default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: float | None = None
    amber_within: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _says_something(self) -> TargetOverride:
        if self.target is None and self.amber_within is None and not getattr(self, "by_year", None):
            raise ValueError("an override must set target, amber_within or by_year")
        return self


class RegionTargets(TargetOverride):
    by_year: dict[str, TargetOverride] = {}

    _known_years = field_validator("by_year")(lambda cls, v: _years(v))


class Kpi(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    target: float
    amber_within: float = Field(ge=0, description="distance from target, in the metric's units, still shown amber")
    weight: float = Field(1.0, gt=0)
    direction: Literal["higher", "lower"] | None = None
    by_year: dict[str, TargetOverride] = Field({}, description="company-wide targets for a year (\"2026\")")
    by_region: dict[str, RegionTargets] = Field({}, description="a region's targets, for every year or by year")
    owner: str | None = Field(None, min_length=1, max_length=64, description="company-wide owner (a user name)")
    owners: dict[str, str] = Field({}, description="owner per region (region -> user name)")

    _known_years = field_validator("by_year")(lambda cls, v: _years(v))

    @field_validator("by_region", "owners")
    @classmethod
    def _regions_named(cls, values: dict) -> dict:
        for region, value in values.items():
            if not region.strip() or region == COMPANY or len(region) > 64:
                raise ValueError(f"region '{region[:64]}' must be a region name of 1 to 64 characters")
            if isinstance(value, str) and not 1 <= len(value.strip()) <= 64:
                raise ValueError(f"owner of {region} must be a user name of 1 to 64 characters")
        return values

    def applying(self, region: str | None, year: int) -> Kpi:
        """The KPI with the target and amber band that apply in `region` (None: company-wide) in `year`: the region's
        own for that year, else the region's, else the company's for that year, else the company default; target and
        amber band each taken from the first level that sets it."""
        levels: list[TargetOverride] = []
        regional = self.by_region.get(region) if region is not None else None
        if regional is not None:
            if str(year) in regional.by_year:
                levels.append(regional.by_year[str(year)])
            levels.append(regional)
        if str(year) in self.by_year:
            levels.append(self.by_year[str(year)])
        target = next((level.target for level in levels if level.target is not None), self.target)
        amber = next((level.amber_within for level in levels if level.amber_within is not None), self.amber_within)
        return self.model_copy(update={"target": target, "amber_within": amber})

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


def target_region(f: Filters) -> str | None:
    """The region whose targets a scorecard of these filters is held to: the one region it covers, else None (the
    company's targets)."""
    regions = f.effective_regions
    return regions[0] if regions is not None and len(regions) == 1 else None


def file_values(config: ScorecardConfig) -> tuple[dict[tuple[str, str], str], dict[str, dict[str, float]]]:
    """The file's owners {(metric, region or "*"): user} and targets {"metric/region/year": {target, amber_within}}
    ("*" for every region or year), flat, so that a change to any of them can be told apart (the audit trail)."""
    owners: dict[tuple[str, str], str] = {}
    targets: dict[str, dict[str, float]] = {}

    def put(key: str, level) -> None:
        targets[key] = {k: v for k, v in (("target", level.target), ("amber_within", level.amber_within))
                        if v is not None}

    for _, kpi in config.kpis():
        if kpi.owner:
            owners[(kpi.metric, COMPANY)] = kpi.owner
        owners.update({(kpi.metric, region): user for region, user in kpi.owners.items()})
        put(f"{kpi.metric}/*/*", kpi)
        for year, level in kpi.by_year.items():
            put(f"{kpi.metric}/*/{year}", level)
        for region, regional in kpi.by_region.items():
            if regional.target is not None or regional.amber_within is not None:
                put(f"{kpi.metric}/{region}/*", regional)
            for year, level in regional.by_year.items():
                put(f"{kpi.metric}/{region}/{year}", level)
    return owners, targets


def status(value: float, kpi: Kpi) -> Status:
    if value is None or np.isnan(value):
        return "grey"
    gap = (kpi.target - value) if kpi.better == "higher" else (value - kpi.target)
    # a value on the target or on the band's edge is in: 0.55 - 0.50 is 0.05000000000000004 in floating point
    noise = 1e-9 * max(1.0, abs(kpi.target))
    if gap <= noise:
        return "green"
    return "amber" if gap <= kpi.amber_within + noise else "red"


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
    """The previous comparable period (SPEC 5.6): for a window of whole months, the same number of whole months just
    before it (January to October -> March to December of the year before; a quarter -> the quarter before); for any
    other window, the same number of days just before it."""
    months = whole_months(f)
    end = f.start - dt.timedelta(days=1)
    if months is None:
        return f.window(f.start - dt.timedelta(days=(f.end - f.start).days + 1), end)
    first = end.year * 12 + (end.month - 1) - (months - 1)  # the first month, as months since January of year 0
    return f.window(dt.date(first // 12, first % 12 + 1, 1), end)


@dataclass(frozen=True)
class Job:
    """A computation for in_parallel on a cursor of its own. `heavy`: one of the few that take most of the time (a
    duration quantile sorts every ticket of its window), so started first, while the light ones fill the other
    threads around it; listed after them, it would run alone at the end."""

    run: Callable[[duckdb.DuckDBPyConnection], Any]
    heavy: bool = False

    def __call__(self, con: duckdb.DuckDBPyConnection) -> Any:
        return self.run(con)


def in_parallel(con: duckdb.DuckDBPyConnection, jobs: list[Callable[[duckdb.DuckDBPyConnection], T]]) -> list[T]:
    """Run independent computations on a few threads, each job on its own cursor, the heavy Jobs first; the results
    in the order of `jobs`. DuckDB releases the GIL while a query runs, and most of the scorecard's queries are too
    small to keep both cores busy alone."""
    order = sorted(range(len(jobs)), key=lambda i: not _heavy(jobs[i]))
    cursors = [con.cursor() for _ in jobs]
    try:
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            done = list(pool.map(lambda i: jobs[i](cursors[i]), order))
    finally:
        for cursor in cursors:
            cursor.close()
    results: list[T] = [None] * len(jobs)  # type: ignore[list-item]  # each replaced below
    for i, result in zip(order, done):
        results[i] = result
    return results


def _heavy(job: object) -> bool:
    return isinstance(job, Job) and job.heavy


Frames = dict[str, pd.DataFrame]


def computes_quantiles(metric_ids: list[str] | tuple[str, ...]) -> bool:
    return any(CATALOGUE[m].quantile is not None for m in metric_ids)


def metric_jobs(metric_ids: list[str], f: Filters, by: tuple[str, ...], settings: MetricSettings,
                inputs: LoadedInputs) -> list[Job]:
    """Jobs for in_parallel computing the metrics for `f` and `by`, each giving {metric id: frame}: the ticket metrics
    over the ticket parts together in one (compute_many reads ticket_months once for them all), every other alone."""
    together = [m for m in metric_ids if CATALOGUE[m].ticket_rollup is not None]
    jobs = [Job(partial(_alone, metric_id=m, f=f, by=by, settings=settings, inputs=inputs), computes_quantiles([m]))
            for m in metric_ids if m not in together]
    if together:
        jobs.insert(0, Job(partial(compute_many, metric_ids=together, filters=f, by=by, settings=settings,
                                   inputs=inputs), computes_quantiles(together)))
    return jobs


def _alone(con: duckdb.DuckDBPyConnection, metric_id: str, f: Filters, by: tuple[str, ...],
           settings: MetricSettings, inputs: LoadedInputs) -> Frames:
    return {metric_id: compute(con, metric_id, f, by, settings, inputs)}


def merged(results: list[Frames]) -> Frames:
    return {metric: frame for frames in results for metric, frame in frames.items()}


def evaluate(con: duckdb.DuckDBPyConnection, config: ScorecardConfig, f: Filters,
             settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """One row per KPI: value, target, status, score, previous period's value, the change, and `missing`: the inputs
    the KPI needs that no loaded source has (SPEC 5.7). The target is the one that applies (`Kpi.applying`) in the
    window's one region (else the company's) in the year the window ends. A window in which the filters' customers
    have no bill, ticket, survey or visit has no data: every KPI of it is null."""
    figures = _figures(con, config, f, settings, with_league=False)
    return _kpi_rows(config, f, figures)


class ScorecardPage(NamedTuple):
    """What the scorecard page shows: the KPI rows (evaluate), the league table and each KPI's sparkline."""

    kpis: pd.DataFrame
    league: pd.DataFrame
    sparklines: dict[str, pd.DataFrame]


def scorecard_page(con: duckdb.DuckDBPyConnection, config: ScorecardConfig, f: Filters,
                   settings: MetricSettings = DEFAULT_SETTINGS) -> ScorecardPage:
    """evaluate's KPI rows, league_table's ranking and each KPI's sparkline, from one batch of jobs: every KPI by
    region once (the league's), and from those the window's value of each KPI that is a ratio of sums over customers
    (Metric.parts, catalogue.from_regions); the other KPIs and the previous period's as evaluate computes them. The
    sparklines' queries fill the threads around the KPIs' heavy ones instead of running in a second batch after them
    (with the heavy jobs started first, at 1 M customers the page's median of five cold runs went from 0.79 to 0.73 s
    over 24 months and from 0.89 to 0.77 s mid-month)."""
    figures = _figures(con, config, f, settings, with_league=True, with_sparklines=True)
    assert figures.with_data is not None and figures.trends is not None
    return ScorecardPage(_kpi_rows(config, f, figures), _league_rows(config, f, figures.by_region, figures.with_data),
                         {kpi.metric: figures.trends[kpi.metric] for _, kpi in config.kpis()})


@dataclass(frozen=True)
class _Figures:
    """The KPIs' frames a scorecard is made of: for the window (`now`) and the previous period (`earlier`), each
    metric's frame for the whole scope, absent when its window has no data; by region (all KPIs with the league,
    else those read from it); with the league, the regions with data in the window; with the sparklines, each KPI's
    by month over sparkline_window."""

    inputs: LoadedInputs
    now: Frames
    earlier: Frames
    by_region: Frames
    with_data: set[str] | None
    trends: Frames | None


def _figures(con: duckdb.DuckDBPyConnection, config: ScorecardConfig, f: Filters, settings: MetricSettings,
             with_league: bool, with_sparklines: bool = False) -> _Figures:
    """All the computations in one batch of jobs on a few threads (in_parallel), after the two windows' has_data: a
    window without data is not computed (e.g. a previous period before the data)."""
    inputs = loaded_inputs(con)
    before = previous_period(f)
    now_has_data, before_had_data = in_parallel(con, [partial(has_data, f=w, settings=settings, inputs=inputs)
                                                       for w in (f, before)])
    metric_ids = [kpi.metric for _, kpi in config.kpis()]
    from_parts = [m for m in metric_ids if CATALOGUE[m].parts is not None]
    regional = metric_ids if with_league else (from_parts if now_has_data else [])
    whole = [m for m in metric_ids if m not in from_parts] if now_has_data else []
    # a duration quantile wanted for the scope and by region: one query groups the window's tickets by both
    both = [m for m in whole if m in regional and CATALOGUE[m].quantile is not None]
    jobs: dict[str, list[Job]] = {
        "now": metric_jobs([m for m in whole if m not in both], f, (), settings, inputs),
        "earlier": metric_jobs(metric_ids, before, (), settings, inputs) if before_had_data else [],
        "by_region": metric_jobs([m for m in regional if m not in both], f, ("region",), settings, inputs),
        "both": [Job(partial(compute_sets, metric_ids=both, filters=f, bys=((), ("region",)), settings=settings,
                             inputs=inputs), heavy=True)] if both else [],
        "with_data": [Job(lambda c: regions_with_data(c, f, settings, inputs))] if with_league else [],
        "trends": metric_jobs(metric_ids, sparkline_window(f), ("month",), settings, inputs) if with_sparklines
        else []}
    results = iter(in_parallel(con, [job for batch in jobs.values() for job in batch]))
    got = {name: [next(results) for _ in batch] for name, batch in jobs.items()}
    sets = got["both"][0] if both else {(): {}, ("region",): {}}
    now, earlier = merged([*got["now"], sets[()]]), merged(got["earlier"])
    by_region = merged([*got["by_region"], sets[("region",)]])
    if now_has_data:
        now.update({m: from_regions(m, by_region[m], f, inputs) for m in from_parts})
    return _Figures(inputs, now, earlier, by_region, got["with_data"][0] if with_league else None,
                    merged(got["trends"]) if with_sparklines else None)


def _kpi_rows(config: ScorecardConfig, f: Filters, figures: _Figures) -> pd.DataFrame:
    rows = []
    region, year = target_region(f), f.end.year
    for perspective, kpi in config.kpis():
        value, previous = (frames[kpi.metric]["value"].iloc[0] if kpi.metric in frames else float("nan")
                           for frames in (figures.now, figures.earlier))
        kpi = kpi.applying(region, year)
        rows.append({
            "perspective": perspective, "metric": kpi.metric, "value": value, "target": kpi.target,
            "direction": kpi.better, "weight": kpi.weight, "status": status(value, kpi), "score": score(value, kpi),
            "previous": previous, "change": value - previous,
            "missing": figures.inputs.absent(CATALOGUE[kpi.metric].needs),
        })
    return pd.DataFrame(rows)


def _facts_in_window(p: Params, f: Filters, settings: MetricSettings) -> list[tuple[str, str]]:
    """(fact table, SELECT of the region of each of its rows) for the filters' customers' bills, tickets, surveys and
    visits in the window. Bills come from billing_months and tickets over whole months from ticket_months (each
    summed per month, with the tiers of the month ends after it: metrics.facts.rollup_tier_sql) where they answer:
    the same months, a small fraction of the rows."""
    bills = rollup_tier_sql(p, f, (), settings, "b.month")
    tickets = ticket_rollup(p, f, (), settings)
    summed = ([("billing", month_rollup("billing", f, ()), "b", bills)] if bills is not None else []) + (
        [("tickets", tickets[0], "t", tickets[1])] if tickets is not None else [])
    parts = [(fact, f"SELECT {alias}.region FROM {table} {alias} WHERE {month_between(p, f'{alias}.month', f)} "
                    f"AND {customer_conditions(p, f, alias)} AND {tier.condition}")
             for fact, table, alias, tier in summed]
    facts = [("billing", "billing_facts", "b", month_between(p, "b.period", f))] if bills is None else []
    facts += [("tickets", "ticket_facts", "t", between(p, "t.created_at", f))] if tickets is None else []
    facts += [("surveys", "survey_facts", "v", between(p, "v.surveyed_on", f)),
              ("visits", "visit_facts", "v", between(p, "v.visited_on", f))]
    for fact, table, alias, window in facts:
        join, conditions = fact_filters(p, f, settings, alias)
        parts.append((fact, f"SELECT {alias}.region FROM {table} {alias} {join} WHERE {window} AND {conditions}"))
    return parts


def _facts_overlapping(f: Filters, settings: MetricSettings, p: Params, inputs: LoadedInputs) -> list[str]:
    """_facts_in_window's SELECTs of the facts whose rows cover days of the window (fact_coverage): the others have
    no row in it, so they are not asked (a window before the data begins asks nothing, and computes no tiers)."""
    return [part for fact, part in _facts_in_window(p, f, settings) if inputs.covers(fact, f.start, f.end)]


def regions_with_data(con: duckdb.DuckDBPyConnection, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS,
                      inputs: LoadedInputs | None = None) -> set[str]:
    """The regions in which the filters' customers have at least one bill, ticket, survey or visit in the window. The
    facts are asked in turn, and no further once every region the filters' customers can be in has one (bills
    usually do)."""
    p = Params(con)
    chosen = f.effective_regions
    within = f"list_contains({p(list(chosen))}, region)" if chosen is not None else "true"
    possible = set(run(con, f"SELECT DISTINCT region FROM customer_facts WHERE {within}", p)["region"])
    found: set[str] = set()
    for part in _facts_overlapping(f, settings, p, inputs or loaded_inputs(con)):
        if found >= possible:
            break
        found |= set(run(con, f"SELECT DISTINCT region FROM ({part})", p)["region"])
    return found


def has_data(con: duckdb.DuckDBPyConnection, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS,
             inputs: LoadedInputs | None = None) -> bool:
    """Whether the filters' customers have any bill, ticket, survey or visit in the window (stops at the first fact
    that has). Counted, not asked for one row: DuckDB 2.0.0 can wait forever on a LIMIT over a join whose result is
    empty (seen at 1 M customers: tickets before the data, joined with tiers, every filter), and an empty result is
    what a user's filters often give."""
    p = Params(con)
    return any(run(con, f"SELECT count(*) AS found FROM ({part})", p)["found"].iloc[0] > 0
               for part in _facts_overlapping(f, settings, p, inputs or loaded_inputs(con)))


def weighted_score(kpis: pd.DataFrame) -> float:
    """Weighted mean score of the KPIs that have data; null when none has."""
    return weighted_mean(kpis["score"].to_numpy(dtype="float64"), kpis["weight"].to_numpy(dtype="float64"))


def weighted_mean(scores: np.ndarray, weights: np.ndarray) -> float:
    """The mean of the scores that are numbers, weighted; null when none is."""
    has = ~np.isnan(scores)
    return float(np.average(scores[has], weights=weights[has])) if has.any() else float("nan")


def perspective_scores(kpis: pd.DataFrame) -> pd.DataFrame:
    rows = [{"perspective": p, "score": weighted_score(kpis[kpis["perspective"] == p])} for p in PERSPECTIVES]
    rows.append({"perspective": "composite", "score": weighted_score(kpis)})
    return pd.DataFrame(rows)


def league_table(con: duckdb.DuckDBPyConnection, config: ScorecardConfig, f: Filters,
                 settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Regions ranked by composite score, with each perspective's score. A region with no bill, ticket, survey or visit
    in the window, or with no KPI with data, has no scores and no rank, and is listed last. Each region is scored
against its own targets for the year the window ends (`Kpi.applying`). Regions tied on composite
    share a rank (1, 1, 3)."""
    inputs = loaded_inputs(con)
    jobs = metric_jobs([kpi.metric for _, kpi in config.kpis()], f, ("region",), settings, inputs)
    results: list[Any] = in_parallel(con, [*jobs, lambda c: regions_with_data(c, f, settings, inputs)])
    *computed, with_data = results
    return _league_rows(config, f, merged(computed), with_data)


def _league_rows(config: ScorecardConfig, f: Filters, by_region: Frames, with_data: set[str]) -> pd.DataFrame:
    year = f.end.year
    scored: dict[str, list[tuple[str, float, float]]] = {}  # region -> (perspective, weight, score) of each KPI
    for perspective, kpi in config.kpis():
        frame = by_region[kpi.metric]
        for region, value in zip(frame["region"].tolist(), frame["value"].astype("float64").tolist()):
            if pd.isna(region):  # a row of customers with no region: the league ranks regions (as a group-by does)
                continue
            scored.setdefault(region, []).append(
                (perspective, kpi.weight, score(value, kpi.applying(region, year)) if region in with_data
                 else float("nan")))
    rows = []
    for region, kpis in sorted(scored.items()):
        perspectives = np.array([perspective for perspective, _, _ in kpis])
        weights, scores = (np.array([kpi[i] for kpi in kpis], dtype="float64") for i in (1, 2))
        rows.append({"region": region, "composite": weighted_mean(scores, weights),
                     **{p: weighted_mean(scores[perspectives == p], weights[perspectives == p]) for p in PERSPECTIVES}})
    table = pd.DataFrame(rows, columns=["region", "composite", *PERSPECTIVES])
    if table.empty:
        return pd.DataFrame(columns=["rank", "region", "composite", *PERSPECTIVES])
    table = table.sort_values(["composite", "region"], ascending=[False, True], na_position="last")
    table.insert(0, "rank", competition_ranks(table["composite"]))
    return table.reset_index(drop=True)


def competition_ranks(composite: pd.Series) -> pd.array:
    """Standard competition ranking, highest first: scores that tie share a rank and the next rank skips (1, 1, 3);
    no score, no rank (null). Scores equal but for floating-point noise in a weighted mean's last digits are a tie."""
    ranks = composite.astype("float64").round(9).rank(method="min", ascending=False)
    return pd.array([None if r != r else int(r) for r in ranks], dtype="Int64")


def sparkline_window(f: Filters) -> Filters:
    """A KPI's sparkline: by month over the last twelve whole months of the window (or all of them, if fewer). A
    window starting or ending mid-month leaves out its part-months, so that every point is a whole month's figure:
    complaints per 10k, visit coverage or training hours over ten days would read low beside whole months. A window
    with no whole month inside is its own single point."""
    inner = inner_months(f) if whole_months(f) is None else (f.start, f.end)
    if inner is None:
        return f
    first, last = inner
    return f.window(max(first, (pd.Timestamp(last) - pd.DateOffset(months=11)).replace(day=1).date()), last)
