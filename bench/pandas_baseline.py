"""The straightforward pandas way most dashboards compute these numbers: read the tables into DataFrames, filter,
group. Used only by the benchmark: each page's headline numbers (the scorecard's KPIs, the other pages' tiles)
computed this way and with the metrics package, timed, and checked to agree.

The definitions are the catalogue's (see README, Metric reference), written again here in pandas on the loaded
tables, without any of the tables the importer derives; the working-day calendar is read like a table."""

from __future__ import annotations

import time
from functools import cached_property

import duckdb
import numpy as np
import pandas as pd

from metrics import Filters, compute
from metrics.scorecard import load_config
from metrics.settings import DEFAULT_BOUNDARIES, DEFAULT_SLA
from metrics.tiers import revenue_concentration, tier_distribution

TABLES = ("customers", "billing", "tickets", "surveys", "visits", "staff_training", "calendar")

# Each page's headline numbers: catalogue metrics (value for the filters) and, on the tiers page, its two views.
PAGE_SETS: dict[str, tuple[str, ...]] = {
    "scorecard": tuple(kpi.metric for _, kpi in load_config().kpis()),
    "tiers": ("tier_distribution", "revenue_concentration"),
    "response_times": ("sla_compliance", "median_response_hours", "repair_arrival_minutes",
                       "first_contact_resolution", "reopen_rate", "backlog"),
    "complaints": ("complaints", "complaint_rate_per_10k", "substantiated_share", "complaints_by_category",
                   "complaint_rate_by_region", "complaint_rate_by_month"),
    "retention": ("logo_retention", "churned_customers", "net_revenue_retention", "gross_revenue_retention"),
    "satisfaction": ("csat", "nps", "callback_satisfaction"),
    "explore": ("revenue_by_month",),
}


DATE_COLUMNS = {"customers": ("opened_on", "closed_on"), "billing": ("period",), "surveys": ("surveyed_on",),
                "visits": ("visited_on",), "staff_training": ("trained_on",), "calendar": ("day",)}


def load_frames(db: str) -> tuple[dict[str, pd.DataFrame], float]:
    """Every table the pages need, as DataFrames with date columns as datetime64 (the loading a dashboard does once)."""
    started = time.perf_counter()
    with duckdb.connect(db, read_only=True) as con:
        frames = {t: con.table(t).df() for t in TABLES}
    for table, columns in DATE_COLUMNS.items():
        for column in columns:
            frames[table][column] = pd.to_datetime(frames[table][column])
    return frames, time.perf_counter() - started


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


class PandasPage:
    """One page's numbers from the in-memory tables; every filtered frame is built once per page."""

    def __init__(self, frames: dict[str, pd.DataFrame], f: Filters) -> None:
        self.t, self.f = frames, f
        self.start, self.end = pd.Timestamp(f.start), pd.Timestamp(f.end)
        self.after_end = self.end + pd.Timedelta(days=1)

    # ---- scope and windows -------------------------------------------------------------------------------------
    @cached_property
    def customers(self) -> pd.DataFrame:
        c = self.t["customers"]
        if self.f.effective_regions is not None:
            c = c[c["region"].isin(self.f.effective_regions)]
        return c

    def in_scope(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of customers the filters select (all rows when nothing is filtered)."""
        if self.f.effective_regions is None:
            return frame
        return frame[frame["customer_id"].isin(self.customers["customer_id"])]

    def active(self, first: pd.Timestamp, last: pd.Timestamp) -> pd.Series:
        c = self.customers
        return (c["opened_on"] <= last) & (c["closed_on"].isna() | (c["closed_on"] >= first))

    def bills(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        b = self.t["billing"]
        return self.in_scope(b[(b["period"] >= start.to_period("M").to_timestamp()) & (b["period"] <= end)])

    @cached_property
    def tickets(self) -> pd.DataFrame:
        t = self.t["tickets"]
        return self.in_scope(t[(t["created_at"] >= self.start) & (t["created_at"] < self.after_end)])

    @cached_property
    def surveys(self) -> pd.DataFrame:
        s = self.t["surveys"]
        return self.in_scope(s[(s["surveyed_on"] >= self.start) & (s["surveyed_on"] <= self.end)])

    @cached_property
    def tiers(self) -> pd.Series:
        """customer_id -> tier as of the window's end, company-wide (SPEC 5.1)."""
        b = self.t["billing"]
        year = b[(b["period"] > self.end - pd.DateOffset(years=1)) & (b["period"] <= self.end)]
        revenue = year.groupby("customer_id")["amount_billed"].sum()
        c = self.t["customers"][["customer_id", "tier"]].assign(
            revenue=lambda x: x["customer_id"].map(revenue).fillna(0.0))
        c = c.sort_values(["revenue", "customer_id"], ascending=[False, True])
        total = c["revenue"].sum()
        share_before = (c["revenue"].cumsum() - c["revenue"]) / total if total else pd.Series(np.nan, c.index)
        ranked = np.select([(c["revenue"] <= 0) | share_before.isna(), share_before < DEFAULT_BOUNDARIES.vip_below,
                            share_before < DEFAULT_BOUNDARIES.key_below], ["standard", "VIP", "key"], "standard")
        return pd.Series(c["tier"].fillna(pd.Series(ranked, c.index)).to_numpy(), index=c["customer_id"])

    # ---- financial -----------------------------------------------------------------------------------------------
    def revenue(self) -> float:
        return self.bills(self.start, self.end)["amount_billed"].sum()

    def revenue_yoy(self) -> float:
        before = self.f.shifted_years(-1)
        base = self.bills(pd.Timestamp(before.start), pd.Timestamp(before.end))["amount_billed"].sum()
        return _ratio(self.revenue(), base) - 1

    def collection_rate(self) -> float:
        b = self.bills(self.start, self.end)
        return _ratio(b["amount_paid"].sum(), b["amount_billed"].sum())

    def revenue_by_month(self) -> pd.Series:
        b = self.bills(self.start, self.end)
        return b.groupby(b["period"].dt.to_period("M"))["amount_billed"].sum()

    def _revenue_retention(self, capped: bool) -> float:
        before = self.f.shifted_years(-1)
        base = (self.bills(pd.Timestamp(before.start), pd.Timestamp(before.end))
                .groupby("customer_id")["amount_billed"].sum())
        base = base[base > 0]
        current = self.bills(self.start, self.end).groupby("customer_id")["amount_billed"].sum()
        current = current.reindex(base.index, fill_value=0.0)
        return _ratio(np.minimum(current, base).sum() if capped else current.sum(), base.sum())

    def net_revenue_retention(self) -> float:
        return self._revenue_retention(capped=False)

    def gross_revenue_retention(self) -> float:
        return self._revenue_retention(capped=True)

    # ---- customer ------------------------------------------------------------------------------------------------
    def complaints(self) -> float:
        return float((self.tickets["ticket_type"] == "complaint").sum())

    def complaint_rate_per_10k(self) -> float:
        return _ratio(self.complaints(), self.active(self.start, self.end).sum()) * 10_000

    def complaints_by_category(self) -> pd.Series:
        complaints = self.tickets[self.tickets["ticket_type"] == "complaint"]
        return complaints.groupby("category").size().astype("float64").sort_index()

    def complaint_rate_by_region(self) -> pd.Series:
        complaints = self.tickets[self.tickets["ticket_type"] == "complaint"]
        region = complaints["customer_id"].map(self.customers.set_index("customer_id")["region"])
        active = self.customers[self.active(self.start, self.end)].groupby("region").size()
        return (region.value_counts().reindex(active.index, fill_value=0) / active * 10_000).sort_index()

    def complaint_rate_by_month(self) -> pd.Series:
        """Each month's complaints over the customers active in that month (clipped to the window)."""
        complaints = self.tickets[self.tickets["ticket_type"] == "complaint"]
        counts = complaints.groupby(complaints["created_at"].dt.to_period("M")).size()
        rates = {}
        for month in pd.period_range(self.start, self.end, freq="M"):
            first, last = max(month.start_time, self.start), min(month.end_time.normalize(), self.end)
            rates[month] = _ratio(counts.get(month, 0), self.active(first, last).sum()) * 10_000
        return pd.Series(rates)

    def substantiated_share(self) -> float:
        flag = self.tickets.loc[self.tickets["ticket_type"] == "complaint", "substantiated"]
        return _ratio((flag == True).sum(), flag.notna().sum())  # noqa: E712 (nullable booleans)

    def csat(self) -> float:
        overall = self.surveys["overall"]
        return _ratio((overall >= 4).sum(), overall.notna().sum())

    def nps(self) -> float:
        score = self.surveys["nps"]
        return _ratio((score >= 9).sum() - (score <= 6).sum(), score.notna().sum()) * 100

    def callback_satisfaction(self) -> float:
        return self.tickets["satisfaction"].mean()

    def logo_retention(self) -> float:
        day_before = self.start - pd.Timedelta(days=1)
        base = self.active(day_before, day_before)
        return _ratio((base & self.active(self.end, self.end)).sum(), base.sum())

    def churned_customers(self) -> float:
        closed = self.customers["closed_on"]
        return float(((closed >= self.start) & (closed <= self.end)).sum())

    # ---- internal process ----------------------------------------------------------------------------------------
    def _hours(self, column: str) -> pd.Series:
        return (self.tickets[column] - self.tickets["created_at"]).dt.total_seconds() / 3600

    def median_response_hours(self) -> float:
        return self._hours("first_response_at").median()

    def repair_arrival_minutes(self) -> float:
        repairs = self.tickets[self.tickets["ticket_type"] == "repair"]
        return ((repairs["arrived_at"] - repairs["created_at"]).dt.total_seconds() / 60).mean()

    def first_contact_resolution(self) -> float:
        resolved = self.tickets[self.tickets["resolved_at"].notna()]["first_contact_resolution"]
        return _ratio((resolved == True).sum(), resolved.notna().sum())  # noqa: E712

    def reopen_rate(self) -> float:
        resolved = self.tickets[self.tickets["resolved_at"].notna()]
        return _ratio((resolved["reopened"] == True).sum(), len(resolved))  # noqa: E712

    def backlog(self) -> float:
        t = self.in_scope(self.t["tickets"])
        return float(((t["created_at"] < self.after_end)
                      & (t["resolved_at"].isna() | (t["resolved_at"] >= self.after_end))).sum())

    def sla_compliance(self) -> float:
        sla = DEFAULT_SLA
        t = self.tickets.merge(self.customers[["customer_id", "area", "voltage_kv"]], on="customer_id")
        kind, created = t["ticket_type"], t["created_at"]
        minutes = t["area"].map({"urban": sla.repair_arrival_minutes.urban, "rural": sla.repair_arrival_minutes.rural,
                                 "remote": sla.repair_arrival_minutes.remote})
        arrival = (created + pd.to_timedelta(minutes, unit="min")).where(kind == "repair")
        response = (created + pd.Timedelta(hours=sla.complaint_response_hours)).where(kind == "complaint")
        hours = kind.map({"complaint": sla.complaint_resolution_hours, "inquiry": sla.inquiry_resolution_hours,
                          "billing": sla.billing_resolution_hours})
        resolution = created + pd.to_timedelta(hours, unit="h")
        calendar = self.t["calendar"]
        number = pd.Series(calendar["workday_number"].to_numpy(), index=calendar["day"])
        workday = calendar[calendar["is_workday"]]
        due_day = pd.Series(workday["day"].to_numpy(), index=workday["workday_number"].to_numpy())
        days = np.where(t["voltage_kv"] <= sla.low_voltage_max_kv, sla.connection_working_days_low_voltage,
                        sla.connection_working_days_high_voltage)
        due = (created.dt.normalize().map(number) + days).map(due_day) + pd.Timedelta(days=1)
        resolution = resolution.where(kind != "connection", due)
        late, done_steps = [], []
        for done, deadline in ((t["arrived_at"], arrival), (t["first_response_at"], response),
                               (t["resolved_at"], resolution)):
            late.append(deadline.where(done.isna() | (done > deadline)))
            done_steps.append(done.where(deadline.notna()))
        breached_after = pd.concat(late, axis=1).min(axis=1)
        met_after = pd.concat(done_steps, axis=1).max(axis=1).where(breached_after.isna())
        met = met_after < self.after_end
        return _ratio(met.sum(), (met | (breached_after < self.after_end)).sum())

    # ---- learning and growth -------------------------------------------------------------------------------------
    def visit_coverage(self) -> float:
        c = self.customers
        keys = c[c["customer_id"].map(self.tiers).isin(["VIP", "key"]) & self.active(self.end, self.end)]
        v = self.t["visits"]
        visited = set(v.loc[(v["visited_on"] >= self.start) & (v["visited_on"] <= self.end), "customer_id"])
        return _ratio(keys["customer_id"].isin(visited).sum(), len(keys))

    def training_hours_per_staff(self) -> float:
        s = self.t["staff_training"]
        s = s[(s["trained_on"] >= self.start) & (s["trained_on"] <= self.end)]
        if self.f.effective_regions is not None:
            s = s[s["region"].isin(self.f.effective_regions)]
        return _ratio(s["hours"].sum(), s["staff_id"].nunique())

    # ---- tiers page ----------------------------------------------------------------------------------------------
    def tier_distribution(self) -> pd.DataFrame:
        c = self.customers[self.active(self.start, self.end)]
        b = self.bills(self.start, self.end)
        tier_of = self.tiers
        return pd.DataFrame({
            "customers": c.groupby(c["customer_id"].map(tier_of)).size(),
            "revenue": b.groupby(b["customer_id"].map(tier_of))["amount_billed"].sum(),
            "consumption_kwh": b.groupby(b["customer_id"].map(tier_of))["consumption_kwh"].sum(),
        }).reindex(["VIP", "key", "standard"]).fillna(0.0)

    def revenue_concentration(self) -> pd.Series:
        revenue = self.bills(self.start, self.end).groupby("customer_id")["amount_billed"].sum()
        revenue = revenue[revenue > 0].sort_values(ascending=False)
        n, total = len(revenue), revenue.sum()
        ascending = revenue.to_numpy()[::-1]
        gini = 2 * (np.arange(1, n + 1) * ascending).sum() / (n * total) - (n + 1) / n
        return pd.Series({"customers": n, "top20_share": revenue.iloc[:-(-n // 5)].sum() / total, "gini": gini})


def page_pandas(frames: dict[str, pd.DataFrame], f: Filters, page: str) -> dict[str, object]:
    numbers = PandasPage(frames, f)
    return {name: getattr(numbers, name)() for name in PAGE_SETS[page]}


BROKEN_DOWN = {"revenue_by_month": ("revenue", "month"), "complaints_by_category": ("complaints", "category"),
               "complaint_rate_by_region": ("complaint_rate_per_10k", "region"),
               "complaint_rate_by_month": ("complaint_rate_per_10k", "month")}


def page_duckdb(con: duckdb.DuckDBPyConnection, f: Filters, page: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in PAGE_SETS[page]:
        if name == "tier_distribution":
            out[name] = tier_distribution(con, f).set_index("tier")[["customers", "revenue", "consumption_kwh"]]
        elif name == "revenue_concentration":
            out[name] = revenue_concentration(con, f).iloc[0]
        elif name in BROKEN_DOWN:
            metric_id, dim = BROKEN_DOWN[name]
            frame = compute(con, metric_id, f, by=(dim,))
            index = pd.PeriodIndex(frame[dim], freq="M") if dim == "month" else pd.Index(frame[dim])
            out[name] = pd.Series(frame["value"].to_numpy(), index=index).sort_index()
        else:
            out[name] = float(compute(con, name, f)["value"].iloc[0])
    return out


def mismatches(expected: dict[str, object], actual: dict[str, object], rtol: float = 1e-9) -> dict[str, str]:
    """The numbers that differ between the two implementations (beyond floating-point summation order)."""
    wrong = {}
    for name, want in expected.items():
        got = actual[name]
        if isinstance(want, pd.Series) and isinstance(got, pd.Series) and not want.index.equals(got.index):
            wrong[name] = f"pandas labels {list(want.index)} vs metrics {list(got.index)}"
            continue
        want_values = np.asarray(want, dtype="float64").ravel()
        got_values = np.asarray(got, dtype="float64").ravel()
        if want_values.shape != got_values.shape or not np.allclose(want_values, got_values, rtol=rtol, equal_nan=True):
            wrong[name] = f"pandas {want_values.tolist()} vs metrics {got_values.tolist()}"
    return wrong
