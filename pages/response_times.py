"""Response times: SLA compliance against the service commitments, speed trends, distributions, backlog."""

import pandas as pd
import streamlit as st

from dashboard import charts, data
from dashboard.filters import current, ticket_filters
from dashboard.format import number
from dashboard.labels import TICKET_TYPE
from dashboard.ui import chart, kpi_tile, page_header, table

f = current("response_times")
if f is None:
    st.stop()
page_header("Response times", "Are we keeping our service commitments, and where are we slow?")
f = ticket_filters(f, "rt")

cols = st.columns(5)
for col, metric_id in zip(cols, ("sla_compliance", "median_response_hours", "repair_arrival_minutes",
                                 "first_contact_resolution", "reopen_rate")):
    with col:
        kpi_tile(metric_id, data.metric(metric_id, f)["value"].iloc[0])

left, right = st.columns(2)
with left:
    sla = data.metric("sla_compliance", f, by=("ticket_type",)).sort_values("value")
    chart(charts.bars(sla, "ticket_type", "SLA compliance by ticket type", "Share meeting target", "percent",
                      target=0.95, labels=TICKET_TYPE, horizontal=True), sla, "sla_by_type")
with right:
    monthly = pd.concat([data.metric("median_response_hours", f, by=("month",)).assign(series="Median"),
                         data.metric("p90_response_hours", f, by=("month",)).assign(series="90th percentile")])
    chart(charts.trend(monthly, "Response time trend", "Hours to first response", "hours", series="series"),
          monthly, "response_trend")

left, right = st.columns(2)
with left:
    resolution = pd.concat([data.metric("median_resolution_hours", f, by=("month",)).assign(series="Median"),
                            data.metric("p90_resolution_hours", f, by=("month",)).assign(series="90th percentile")])
    chart(charts.trend(resolution, "Resolution time trend", "Hours to resolution", "hours", series="series"),
          resolution, "resolution_trend")
with right:
    sla_month = data.metric("sla_compliance", f, by=("month",))
    chart(charts.trend(sla_month, "SLA compliance by month", "Share meeting target", "percent", target=0.95),
          sla_month, "sla_trend")

st.subheader("Distributions")
duration = st.segmented_control("Duration", ["resolution_hours", "response_hours", "arrival_minutes"],
                                default="resolution_hours", key="rt_duration",
                                format_func={"resolution_hours": "Resolution", "response_hours": "First response",
                                             "arrival_minutes": "Repair arrival"}.get) or "resolution_hours"
distribution = data.view("duration_distribution", f, duration=duration)
chart(charts.stacked(distribution, "bucket", "ticket_type", "tickets", "Tickets by duration", "Tickets",
                     labels=TICKET_TYPE), distribution, f"distribution_{duration}")

st.subheader("By region and service centre")
dim = st.segmented_control("Break down by", ["region", "service_center"], default="region", key="rt_dim",
                           format_func={"region": "Region", "service_center": "Service centre"}.get) or "region"
by_place = data.metric("sla_compliance", f, by=(dim,)).sort_values("value")
arrival = data.metric("repair_arrival_minutes", f, by=(dim,)).sort_values("value", ascending=False)
left, right = st.columns(2)
with left:
    chart(charts.bars(by_place, dim, "SLA compliance", "Share meeting target", "percent", target=0.95,
                      horizontal=True), by_place, f"sla_by_{dim}")
with right:
    chart(charts.bars(arrival, dim, "Mean repair arrival time", "Minutes", "minutes", horizontal=True),
          arrival, f"arrival_by_{dim}")

st.subheader("Backlog")
backlog_total = data.metric("backlog", f)["value"].iloc[0]
st.caption(f"{number(backlog_total, 'count')} tickets open at the end of {f.end:%Y-%m-%d}, by age.")
ageing = data.view("backlog_ageing", f)
chart(charts.stacked(ageing, "age", "ticket_type", "tickets", "Open tickets by age", "Tickets", labels=TICKET_TYPE),
      ageing, "backlog_ageing")
with st.expander("Response and resolution by ticket type"):
    summary = data.metric("median_resolution_hours", f, by=("ticket_type",)).rename(columns={"value": "median_resolution_hours"})
    for metric_id in ("p90_resolution_hours", "median_response_hours", "first_contact_resolution", "reopen_rate"):
        summary = summary.merge(data.metric(metric_id, f, by=("ticket_type",))[["ticket_type", "value"]]
                                .rename(columns={"value": metric_id}), on="ticket_type", how="outer")
    table(summary, "by_ticket_type", column_config={
        "Median resolution hours": st.column_config.NumberColumn(format="%.1f h"),
        "P90 resolution hours": st.column_config.NumberColumn(format="%.1f h"),
        "Median response hours": st.column_config.NumberColumn(format="%.1f h"),
        "First contact resolution": st.column_config.NumberColumn(format="percent"),
        "Reopen rate": st.column_config.NumberColumn(format="percent")})
