"""The metric catalogue: the one place each scorecard KPI is defined, and `compute`, the one way to get it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import duckdb
import pandas as pd

from metrics import customer, financial, growth, process
from metrics.facts import SHARE, Ratio, TicketRollup, ticket_parts_together
from metrics.filters import Filters
from metrics.inputs import LoadedInputs, loaded_inputs
from metrics.query import CUSTOMER_DIMENSIONS, TICKET_DIMENSIONS, TIME_GRAINS, Params, periods
from metrics.settings import DEFAULT_SETTINGS, MetricSettings

Perspective = Literal["financial", "customer", "internal_process", "learning_growth"]

PERIODS = ("month", "quarter", "year")
TICKET_BY = (*TIME_GRAINS, *CUSTOMER_DIMENSIONS, *TICKET_DIMENSIONS)
CUSTOMER_BY = (*PERIODS, *CUSTOMER_DIMENSIONS)


@dataclass(frozen=True)
class Metric:
    id: str
    perspective: Perspective
    label_en: str
    label_zh: str
    unit: str
    direction: Literal["higher", "lower"]
    format: Literal["count", "yuan", "kwh", "percent", "ratio", "hours", "minutes", "score", "per_10k", "nps"]
    definition: str
    function: Callable[..., pd.DataFrame]
    dimensions: tuple[str, ...]
    is_ratio: bool
    # What the metric is computed from (SPEC 5.7): "table" or "table.column" inputs some loaded source must have, and
    # the fact table whose days the window must overlap; otherwise the figure is "no data" (null), never 0.
    needs: tuple[str, ...]
    over: str | None
    # Compares the window with the same window a year earlier, which must lie wholly inside the days the facts cover:
    # a year-earlier window the exports only half cover would read as growth.
    year_earlier: bool
    # A duration quantile (process.Quantile): compute_many computes several of them for one window in one query.
    quantile: process.Quantile | None = None
    # A ticket metric over the ticket parts: (Params, Filters, settings) -> its TicketRollup (None where it is computed
    # otherwise); compute_many computes several of them from one read of ticket_months (ticket_parts_together).
    ticket_rollup: Callable[[Params, Filters, MetricSettings], TicketRollup | None] | None = None
    # A ratio whose numerator and denominator are sums over the rows of the customers in scope, every customer in one
    # region, and whose frame by region leaves out no region with a non-zero part: the figure of the whole scope is
    # then the Ratio of its regions' summed parts (from_regions; the scorecard's KPIs and league share one read).
    # Not declared: quantiles, distinct counts (training: staff).
    parts: Ratio | None = None


def _m(id, perspective, label_en, label_zh, unit, direction, fmt, function, dimensions, is_ratio=False, *,
       needs: tuple[str, ...], over: str | None, year_earlier: bool = False, parts: Ratio | None = None) -> Metric:
    definition = " ".join(function.__doc__.split())
    return Metric(id, perspective, label_en, label_zh, unit, direction, fmt, definition, function, dimensions, is_ratio,
                  needs, over, year_earlier, getattr(function, "quantile", None),
                  getattr(function, "ticket_rollup", None), parts)


CATALOGUE: dict[str, Metric] = {m.id: m for m in (
    _m("revenue", "financial", "Revenue", "售电收入", "yuan", "higher", "yuan", financial.revenue, CUSTOMER_BY,
       needs=("billing.amount_billed",), over="billing"),
    _m("consumption_kwh", "financial", "Electricity sold", "售电量", "kWh", "higher", "kwh",
       financial.consumption_kwh, CUSTOMER_BY, needs=("billing.consumption_kwh",), over="billing"),
    _m("revenue_yoy", "financial", "Revenue growth (YoY)", "收入同比增长", "%", "higher", "percent",
       financial.revenue_yoy, CUSTOMER_BY, True, needs=("billing.amount_billed",), over="billing", year_earlier=True,
       parts=financial.GROWTH),
    _m("collection_rate", "financial", "Collection rate", "电费回收率", "%", "higher", "percent",
       financial.collection_rate, CUSTOMER_BY, True,
       needs=("billing.amount_billed", "billing.amount_paid"), over="billing", parts=SHARE),
    _m("key_account_revenue_share", "financial", "Key-account revenue share", "大客户收入占比", "%", "higher",
       "percent", financial.key_account_revenue_share, CUSTOMER_BY, True,
       needs=("billing.amount_billed",), over="billing"),
    _m("top20_revenue_share", "financial", "Top 20% revenue share", "前20%客户收入占比", "%", "lower", "percent",
       financial.top20_revenue_share, CUSTOMER_BY, True, needs=("billing.amount_billed",), over="billing"),
    _m("active_customers", "customer", "Active customers", "在册客户数", "customers", "higher", "count",
       customer.active_customers, CUSTOMER_BY, needs=(), over=None),
    _m("complaints", "customer", "Complaints", "投诉量", "tickets", "lower", "count", customer.complaints,
       TICKET_BY, needs=(), over="tickets"),
    _m("complaint_rate_per_10k", "customer", "Complaints per 10k customers", "万户投诉率", "per 10k", "lower",
       "per_10k", customer.complaint_rate_per_10k, CUSTOMER_BY, True, needs=(), over="tickets",
       parts=customer.PER_10K),
    _m("substantiated_share", "customer", "Substantiated complaint share", "投诉属实率", "%", "lower", "percent",
       customer.substantiated_share, TICKET_BY, True, needs=("tickets.substantiated",), over="tickets"),
    _m("csat", "customer", "Customer satisfaction (CSAT)", "客户满意率", "%", "higher", "percent", customer.csat,
       CUSTOMER_BY, True, needs=("surveys",), over="surveys", parts=SHARE),
    _m("nps", "customer", "Net promoter score", "净推荐值", "points", "higher", "nps", customer.nps,
       CUSTOMER_BY, True, needs=("surveys.nps",), over="surveys", parts=customer.NPS_POINTS),
    _m("callback_satisfaction", "customer", "Callback satisfaction", "回访满意度", "score 1-5", "higher", "score",
       customer.callback_satisfaction, TICKET_BY, True, needs=("tickets.satisfaction",), over="tickets"),
    _m("logo_retention", "customer", "Customer retention", "客户保有率", "%", "higher", "percent",
       customer.logo_retention, CUSTOMER_BY, True, needs=("customers.closed_on",), over=None, parts=SHARE),
    _m("churned_customers", "customer", "Churned customers", "流失客户数", "customers", "lower", "count",
       customer.churned_customers, CUSTOMER_BY, needs=("customers.closed_on",), over=None),
    _m("net_revenue_retention", "customer", "Net revenue retention", "净收入留存率", "%", "higher", "percent",
       customer.net_revenue_retention, CUSTOMER_BY, True,
       needs=("billing.amount_billed",), over="billing", year_earlier=True, parts=SHARE),
    _m("gross_revenue_retention", "customer", "Gross revenue retention", "总收入留存率", "%", "higher", "percent",
       customer.gross_revenue_retention, CUSTOMER_BY, True,
       needs=("billing.amount_billed",), over="billing", year_earlier=True),
    _m("tickets", "internal_process", "Service tickets", "服务工单量", "tickets", "lower", "count", process.tickets,
       TICKET_BY, needs=(), over="tickets"),
    _m("backlog", "internal_process", "Open backlog", "在途工单", "tickets", "lower", "count", process.backlog,
       TICKET_BY, needs=("tickets.resolved_at",), over="tickets"),
    _m("median_response_hours", "internal_process", "Median response time", "响应时长中位数", "hours", "lower",
       "hours", process.median_response_hours, TICKET_BY, needs=("tickets.first_response_at",), over="tickets"),
    _m("p90_response_hours", "internal_process", "90th percentile response time", "响应时长P90", "hours", "lower",
       "hours", process.p90_response_hours, TICKET_BY, needs=("tickets.first_response_at",), over="tickets"),
    _m("median_resolution_hours", "internal_process", "Median resolution time", "办结时长中位数", "hours", "lower",
       "hours", process.median_resolution_hours, TICKET_BY, needs=("tickets.resolved_at",), over="tickets"),
    _m("p90_resolution_hours", "internal_process", "90th percentile resolution time", "办结时长P90", "hours",
       "lower", "hours", process.p90_resolution_hours, TICKET_BY, needs=("tickets.resolved_at",), over="tickets"),
    _m("repair_arrival_minutes", "internal_process", "Repair arrival time", "抢修到达时长", "minutes", "lower",
       "minutes", process.repair_arrival_minutes, TICKET_BY, True, needs=("tickets.arrived_at",), over="tickets",
       parts=SHARE),
    _m("sla_compliance", "internal_process", "SLA compliance", "服务承诺达标率", "%", "higher", "percent",
       process.sla_compliance, TICKET_BY, True, needs=(), over="tickets", parts=SHARE),
    _m("first_contact_resolution", "internal_process", "First-contact resolution", "首问一次解决率", "%", "higher",
       "percent", process.first_contact_resolution, TICKET_BY, True,
       needs=("tickets.first_contact_resolution", "tickets.resolved_at"), over="tickets", parts=SHARE),
    _m("reopen_rate", "internal_process", "Reopen rate", "工单重复率", "%", "lower", "percent", process.reopen_rate,
       TICKET_BY, True, needs=("tickets.reopened", "tickets.resolved_at"), over="tickets", parts=SHARE),
    _m("visit_coverage", "learning_growth", "Key-account visit coverage", "大客户走访覆盖率", "%", "higher",
       "percent", growth.visit_coverage, CUSTOMER_BY, True, needs=("visits",), over="visits", parts=SHARE),
    _m("training_hours_per_staff", "learning_growth", "Training hours per staff", "人均培训学时", "hours",
       "higher", "hours", growth.training_hours_per_staff, (*PERIODS, "region"), True,
       needs=("staff_training.hours",), over="staff_training"),
)}

PERSPECTIVES: dict[str, tuple[str, str]] = {
    "financial": ("Financial", "财务"),
    "customer": ("Customer", "客户"),
    "internal_process": ("Internal process", "内部流程"),
    "learning_growth": ("Learning and growth", "学习与成长"),
}


def _checked(metric_id: str, by: tuple[str, ...]) -> Metric:
    metric = CATALOGUE.get(metric_id)
    if metric is None:
        raise KeyError(f"unknown metric '{metric_id}'; known metrics: {', '.join(CATALOGUE)}")
    wrong = [d for d in by if d not in metric.dimensions]
    if wrong:
        raise ValueError(f"metric '{metric_id}' cannot be broken down by {', '.join(wrong)}; "
                         f"it can be broken down by {', '.join(metric.dimensions)}")
    if len(set(by)) != len(by) or sum(d in TIME_GRAINS for d in by) > 1:
        raise ValueError(f"by {by}: name each dimension once and at most one time grain")
    return metric


def _finished(metric: Metric, frame: pd.DataFrame, filters: Filters, by: tuple[str, ...],
              inputs: LoadedInputs) -> pd.DataFrame:
    """The metric function's frame as `compute` returns it: the `by` columns, value (and the ratio's parts), rows
    without the inputs or facts they need null (SPEC 5.7)."""
    columns = [*by, "value", *(("numerator", "denominator") if metric.is_ratio else ())]
    frame = frame[columns].reset_index(drop=True)
    no_data = without_inputs(metric, frame, filters, by, inputs)
    if no_data.any():
        for name in columns[len(by):]:
            frame[name] = frame[name].astype("float64").where(~no_data)
    return frame


def compute(con: duckdb.DuckDBPyConnection, metric_id: str, filters: Filters, by: tuple[str, ...] | list[str] = (),
            settings: MetricSettings = DEFAULT_SETTINGS, inputs: LoadedInputs | None = None) -> pd.DataFrame:
    """The metric's value for the filters, one row per combination of the `by` dimensions. `inputs`: what the
    warehouse's sources had, when the caller has read it once for many metrics."""
    by = tuple(by)
    metric = _checked(metric_id, by)
    frame = metric.function(con, filters, by, settings)
    return _finished(metric, frame, filters, by, inputs or loaded_inputs(con))


def from_regions(metric_id: str, by_region: pd.DataFrame, filters: Filters, inputs: LoadedInputs) -> pd.DataFrame:
    """The metric's frame for the whole of the filters' scope (as `compute` gives it, but its numerator and denominator
    null rather than 0 when no region has any) from its frame by region for the same filters (`compute` with
    by=("region",)): the regions' numerators and denominators summed, through the metric's Ratio (Metric.parts)."""
    metric = CATALOGUE[metric_id]
    if metric.parts is None:
        raise ValueError(f"{metric_id} is not a ratio of sums that add up over regions")
    sums = pd.DataFrame({part: [by_region[part].sum(min_count=1)] for part in ("numerator", "denominator")})
    return _finished(metric, metric.parts.of(sums), filters, (), inputs)


def compute_many(con: duckdb.DuckDBPyConnection, metric_ids: tuple[str, ...] | list[str], filters: Filters,
                 by: tuple[str, ...] | list[str] = (), settings: MetricSettings = DEFAULT_SETTINGS,
                 inputs: LoadedInputs | None = None) -> dict[str, pd.DataFrame]:
    """Several metrics for the same filters and `by`, by metric id, each frame equal to `compute`'s for it. The
    duration quantiles among them (Metric.quantile) come from one query (process.duration_quantiles: one scan, one
    quantile_cont per duration for all its fractions), the ticket metrics over the ticket parts (Metric.ticket_rollup)
    from one read of ticket_months where it answers (facts.ticket_parts_together); the others are computed one by
    one."""
    by = tuple(by)
    chosen = [_checked(metric_id, by) for metric_id in dict.fromkeys(metric_ids)]
    inputs = inputs or loaded_inputs(con)
    frames: dict[str, pd.DataFrame] = {}
    quantiles = [m for m in chosen if m.quantile is not None]
    if len(quantiles) > 1:
        wanted = [m.quantile for m in quantiles if m.quantile is not None]
        frames.update(zip((m.id for m in quantiles), process.duration_quantiles(con, filters, by, settings, wanted)))
    p = Params(con)
    over_parts = {m.id: rollup for m in chosen if m.ticket_rollup is not None
                  and (rollup := m.ticket_rollup(p, filters, settings)) is not None}
    if len(over_parts) > 1:
        frames.update(ticket_parts_together(con, filters, by, settings, p, over_parts) or {})
    return {m.id: _finished(m, frames[m.id] if m.id in frames else m.function(con, filters, by, settings), filters,
                            by, inputs) for m in chosen}


def compute_sets(con: duckdb.DuckDBPyConnection, metric_ids: tuple[str, ...] | list[str], filters: Filters,
                 bys: tuple[tuple[str, ...], ...] | list[tuple[str, ...]], settings: MetricSettings = DEFAULT_SETTINGS,
                 inputs: LoadedInputs | None = None) -> dict[tuple[str, ...], dict[str, pd.DataFrame]]:
    """compute_many for each of several `by`s of the same filters, {by: {metric id: frame}}, each frame equal to
    `compute`'s. The duration quantiles among them come from one query grouping the window's tickets by every `by`
    at once where they read the same rows (process.duration_quantiles_by: the scorecard's median for the scope and
    by region); the other metrics as compute_many gives them, one `by` after another."""
    bys = tuple(dict.fromkeys(tuple(by) for by in bys))
    chosen = [_checked(metric_id, bys[0] if bys else ()) for metric_id in dict.fromkeys(metric_ids)]
    for by in bys[1:]:
        for metric in chosen:
            _checked(metric.id, by)
    inputs = inputs or loaded_inputs(con)
    out: dict[tuple[str, ...], dict[str, pd.DataFrame]] = {by: {} for by in bys}
    quantiles = [m for m in chosen if m.quantile is not None]
    if quantiles:
        got = process.duration_quantiles_by(con, filters, bys, settings, [m.quantile for m in quantiles
                                                                           if m.quantile is not None])
        for by in bys:
            out[by].update({m.id: _finished(m, frame, filters, by, inputs) for m, frame in zip(quantiles, got[by])})
    others = [m.id for m in chosen if m.quantile is None]
    for by in bys if others else ():
        out[by].update(compute_many(con, others, filters, by, settings, inputs))
    return out


def without_inputs(metric: Metric, frame: pd.DataFrame, f: Filters, by: tuple[str, ...],
                   inputs: LoadedInputs) -> pd.Series:
    """Which rows are "no data" (SPEC 5.7): all of them when an input the metric needs is absent from every loaded
    source; those whose window (the filter's, or each period's part of it) lies outside the days its facts cover, or,
    for a comparison with a year earlier, whose year-earlier window is not wholly inside them."""
    if inputs.absent(metric.needs):
        return pd.Series(True, index=frame.index)
    over = metric.over
    if over is None:
        return pd.Series(False, index=frame.index)

    def outside(window: Filters) -> bool:
        earlier = window.shifted_years(-1)
        return not inputs.covers(over, window.start, window.end) or (
            metric.year_earlier and not inputs.covers_wholly(over, earlier.start, earlier.end))

    grain = next((d for d in by if d in TIME_GRAINS), None)
    if grain is None:
        return pd.Series(outside(f), index=frame.index)
    windows = {label: f.window(start, end) for label, start, end in periods(f.start, f.end, grain)}
    return frame[grain].map(lambda label: label not in windows or outside(windows[label])).astype(bool)
