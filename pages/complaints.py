"""Complaints: volume and rate per 10,000 customers, months that stand out, where they come from, who repeats."""

import streamlit as st

from dashboard import charts, data, store_ui
from dashboard.filters import current, ticket_filters
from dashboard.i18n import _
from dashboard.labels import TIER, column
from dashboard.ui import chart, kpi_tile, page_header, table
from metrics.service import OUTLIER_RULE

f = current("complaints")
if f is None:
    st.stop()
page_header(_("Complaints"),
            _("How many complaints, is any month out of line, where do they come from and who keeps complaining?"))
f = ticket_filters(f, "cp", types=False)

complaint_tickets = f.model_copy(update={"ticket_types": ("complaint",)})
cols = st.columns(4)
with cols[0]:
    kpi_tile("complaints", data.metric("complaints", f)["value"].iloc[0])
with cols[1]:
    kpi_tile("complaint_rate_per_10k", data.metric("complaint_rate_per_10k", f)["value"].iloc[0])
repeat = data.view("repeat_complainants", f)
cols[2].metric(_("Repeat complainants"), f"{len(repeat):,}", border=True,
               help=_("Customers with two or more complaints in the period."))
with cols[3]:
    kpi_tile("median_resolution_hours", data.metric("median_resolution_hours", complaint_tickets)["value"].iloc[0])

outliers = data.view("complaint_outliers", f)
events = store_ui.events_for(f)
monthly = outliers.rename(columns={"complaints": "value"})
left, right = st.columns(2)
with left:
    chart(charts.trend(monthly, _("Complaints by month"), column("complaints"), "count",
                       highlight=monthly["stands_out"], events=events), outliers, "complaints_by_month")
    st.caption(_("Marked months:") + " " + _(OUTLIER_RULE) + ".")
    store_ui.outlier_events(outliers, events)
with right:
    rate = data.metric("complaint_rate_per_10k", f, by=("month",))
    chart(charts.trend(rate, _("Complaints per 10,000 active customers"), _("Per 10,000 customers"), "per_10k",
                       events=events),
          rate, "complaint_rate_by_month")

st.subheader(_("Where complaints come from"))
left, middle, right = st.columns(3)
with left:
    by_category = data.metric("complaints", f, by=("category",)).sort_values("value", ascending=False)
    chart(charts.bars(by_category, "category", _("By category"), column("complaints"), "count", horizontal=True),
          by_category, "complaints_by_category")
with middle:
    by_region = data.metric("complaint_rate_per_10k", f, by=("region",)).sort_values("value", ascending=False)
    chart(charts.bars(by_region, "region", _("Rate per 10,000 customers by region"), _("Per 10,000 customers"),
                      "per_10k", horizontal=True), by_region, "complaint_rate_by_region")
with right:
    by_tier = data.metric("complaint_rate_per_10k", f, by=("tier",))
    chart(charts.bars(by_tier, "tier", _("Rate per 10,000 customers by tier"), _("Per 10,000 customers"), "per_10k",
                      colors=charts.TIER_COLORS, labels=TIER), by_tier, "complaint_rate_by_tier")

st.subheader(_("Handling"))
left, right = st.columns(2)
with left:
    resolution = data.metric("median_resolution_hours", complaint_tickets, by=("month",))
    chart(charts.trend(resolution, _("Median complaint resolution time"), _("Hours"), "hours", target=7 * 24,
                       events=events),
          resolution, "complaint_resolution_trend")
with right:
    substantiated = data.metric("substantiated_share", complaint_tickets, by=("category",)).sort_values(
        "value", ascending=False)
    chart(charts.bars(substantiated, "category", _("Substantiated share by category"), _("Share substantiated"),
                      "percent", horizontal=True), substantiated, "substantiated_share")

with st.expander(_("Complaints in the period")):
    st.caption(_("Newest first (at most 1,000), with category and whether substantiated; each opens its account "
                 "page."))
    table(data.view("ticket_list", complaint_tickets), "complaint_list")

st.subheader(_("Repeat complainants"))
table(repeat, "repeat_complainants")
