"""The straightforward pandas way most dashboards compute these numbers: load tables into DataFrames,
filter, group. Used only by the benchmark, to compare speed and to check that both give the same numbers."""

from __future__ import annotations

import time

import duckdb
import pandas as pd

from metrics import Filters, compute

CORE_SET = ("revenue", "collection_rate", "active_customers", "complaints", "tickets", "median_response_hours",
            "median_resolution_hours", "csat")


def load_frames(db: str) -> tuple[dict[str, pd.DataFrame], float]:
    started = time.perf_counter()
    with duckdb.connect(db, read_only=True) as con:
        frames = {t: con.execute(f"SELECT * FROM {t}").df() for t in ("customers", "billing", "tickets", "surveys")}
    return frames, time.perf_counter() - started


def _scope(frames, f: Filters) -> pd.DataFrame:
    customers = frames["customers"]
    if f.effective_regions is not None:
        customers = customers[customers["region"].isin(f.effective_regions)]
    return customers


def core_set_pandas(frames, f: Filters) -> dict[str, float]:
    scope = _scope(frames, f)
    ids = set(scope["customer_id"])
    start, end = pd.Timestamp(f.start), pd.Timestamp(f.end)
    bills = frames["billing"]
    bills = bills[bills["customer_id"].isin(ids) & (bills["period"] >= start.to_period("M").to_timestamp())
                  & (bills["period"] <= end)]
    tickets = frames["tickets"]
    tickets = tickets[tickets["customer_id"].isin(ids) & (tickets["created_at"] >= start)
                      & (tickets["created_at"] < end + pd.Timedelta(days=1))]
    surveys = frames["surveys"]
    surveys = surveys[surveys["customer_id"].isin(ids) & (pd.to_datetime(surveys["surveyed_on"]) >= start)
                      & (pd.to_datetime(surveys["surveyed_on"]) <= end)]
    opened, closed = pd.to_datetime(scope["opened_on"]), pd.to_datetime(scope["closed_on"])
    response = (tickets["first_response_at"] - tickets["created_at"]).dt.total_seconds() / 3600
    resolution = (tickets["resolved_at"] - tickets["created_at"]).dt.total_seconds() / 3600
    return {
        "revenue": bills["amount_billed"].sum(),
        "collection_rate": bills["amount_paid"].sum() / bills["amount_billed"].sum(),
        "active_customers": int(((opened <= end) & (closed.isna() | (closed >= start))).sum()),
        "complaints": int((tickets["ticket_type"] == "complaint").sum()),
        "tickets": len(tickets),
        "median_response_hours": response.median(),
        "median_resolution_hours": resolution.median(),
        "csat": (surveys["overall"] >= 4).sum() / surveys["overall"].notna().sum(),
    }


def core_set_duckdb(con, f: Filters) -> dict[str, float]:
    return {metric_id: float(compute(con, metric_id, f)["value"].iloc[0]) for metric_id in CORE_SET}
