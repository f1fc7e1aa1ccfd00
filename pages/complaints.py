"""Complaints: volume and rate per 10,000 customers, months that stand out, where they come from, who repeats."""

import streamlit as st

from dashboard import charts, data
from dashboard.filters import current, ticket_filters
from dashboard.labels import TIER
from dashboard.ui import chart, kpi_tile, page_header, table
from metrics.service import OUTLIER_RULE

f = current("complaints")
if f is None:
    st.stop()
page_header("Complaints", "How many complaints, is any month out of line, where do they come from and who keeps complaining?")
f = ticket_filters(f, "cp", types=False)

complaint_tickets = f.model_copy(update={"ticket_types": ("complaint",)})
cols = st.columns(4)
with cols[0]:
    kpi_tile("complaints", data.metric("complaints", f)["value"].iloc[0])
with cols[1]:
    kpi_tile("complaint_rate_per_10k", data.metric("complaint_rate_per_10k", f)["value"].iloc[0])
repeat = data.view("repeat_complainants", f)
cols[2].metric("Repeat complainants", f"{len(repeat):,}", border=True, help="Customers with two or more complaints in the period.")
with cols[3]:
    kpi_tile("median_resolution_hours", data.metric("median_resolution_hours", complaint_tickets)["value"].iloc[0])

outliers = data.view("complaint_outliers", f)
monthly = outliers.rename(columns={"complaints": "value"})
left, right = st.columns(2)
with left:
    chart(charts.trend(monthly, "Complaints by month", "Complaints", "count", highlight=monthly["stands_out"]),
          outliers, "complaints_by_month")
    st.caption(f"Marked months: {OUTLIER_RULE}.")
with right:
    rate = data.metric("complaint_rate_per_10k", f, by=("month",))
    chart(charts.trend(rate, "Complaints per 10,000 active customers", "Per 10,000 customers", "per_10k"),
          rate, "complaint_rate_by_month")

st.subheader("Where complaints come from")
left, middle, right = st.columns(3)
with left:
    by_category = data.metric("complaints", f, by=("category",)).sort_values("value", ascending=False)
    chart(charts.bars(by_category, "category", "By category", "Complaints", "count", horizontal=True),
          by_category, "complaints_by_category")
with middle:
    by_region = data.metric("complaint_rate_per_10k", f, by=("region",)).sort_values("value", ascending=False)
    chart(charts.bars(by_region, "region", "Rate per 10,000 customers by region", "Per 10,000 customers", "per_10k",
                      horizontal=True), by_region, "complaint_rate_by_region")
with right:
    by_tier = data.metric("complaint_rate_per_10k", f, by=("tier",))
    chart(charts.bars(by_tier, "tier", "Rate per 10,000 customers by tier", "Per 10,000 customers", "per_10k",
                      colors=charts.TIER_COLORS, labels=TIER), by_tier, "complaint_rate_by_tier")

st.subheader("Handling")
left, right = st.columns(2)
with left:
    resolution = data.metric("median_resolution_hours", complaint_tickets, by=("month",))
    chart(charts.trend(resolution, "Median complaint resolution time", "Hours", "hours", target=7 * 24),
          resolution, "complaint_resolution_trend")
with right:
    substantiated = data.view("table_slice", complaint_tickets, table="tickets")
    share = substantiated.groupby("category", dropna=False)["substantiated"].mean().reset_index(name="value")
    share["category"] = share["category"].fillna("(none)")
    chart(charts.bars(share.sort_values("value", ascending=False), "category", "Substantiated share by category",
                      "Share substantiated", "percent", horizontal=True), share, "substantiated_share")

st.subheader("Repeat complainants")
table(repeat, "repeat_complainants")
