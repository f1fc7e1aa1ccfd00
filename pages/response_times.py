"""Response times: SLA compliance against the service commitments, speed trends, distributions, backlog."""

from functools import partial

import pandas as pd
import streamlit as st

from dashboard import charts, data, store_ui
from dashboard.filters import current, ticket_filters
from dashboard.format import count, day
from dashboard.i18n import _
from dashboard.labels import TICKET_TYPE, column
from dashboard.ui import chart, kpi_tile, page_header, table

page_filters = current("response_times")
if page_filters is None:
    st.stop()
page_header(_("Response times"), _("Are we keeping our service commitments, and where are we slow?"))
f = ticket_filters(page_filters, "rt")

# The four trend quantiles in one query (one scan of the window's tickets), the page's heaviest figure: computed while
# the tiles and the other figures before the trend are drawn.
TREND = ("median_response_hours", "p90_response_hours", "median_resolution_hours", "p90_resolution_hours")
trend_later = data.in_background(partial(data.metric_set, TREND, f, by=("month",)))

TILES = ("sla_compliance", "median_response_hours", "repair_arrival_minutes", "first_contact_resolution",
         "reopen_rate")
tiles = data.metric_set(TILES, f)  # the ticket metrics over the ticket parts from one read of ticket_months
for col, metric_id in zip(st.columns(len(TILES)), TILES):
    with col:
        kpi_tile(metric_id, tiles[metric_id]["value"].iloc[0])


STEPS = {"arrival": _("repair arrival"), "response": _("complaint first response"),
         "resolution": _("resolution of complaints, inquiries, billing and connection tickets")}
unmeasured = data.view("unmeasured_sla_steps", f)
if not unmeasured.empty:
    st.info(_("Not measured, so not counted in SLA compliance: {steps} (no loaded export has {columns}).")
            .format(steps="; ".join(STEPS[s] for s in unmeasured["step"]), columns=", ".join(unmeasured["column"])),
            icon=":material/visibility_off:")


trend = trend_later.result()


def percentiles(median_id: str, p90_id: str) -> pd.DataFrame:
    return pd.concat([trend[median_id].assign(series=_("Median")),
                      trend[p90_id].assign(series=_("90th percentile"))])


left, right = st.columns(2)
with left:
    sla = data.metric("sla_compliance", f, by=("ticket_type",)).sort_values("value")
    chart(charts.bars(sla, "ticket_type", _("SLA compliance by ticket type"), _("Share meeting target"), "percent",
                      target=0.95, labels=TICKET_TYPE, horizontal=True), sla, "sla_by_type")
with right:
    response = percentiles("median_response_hours", "p90_response_hours")
    chart(charts.trend(response, _("Response time trend"), _("Hours to first response"), "hours", series="series",
                       events=store_ui.events_for(f)), response, "response_trend")

left, right = st.columns(2)
with left:
    resolution = percentiles("median_resolution_hours", "p90_resolution_hours")
    chart(charts.trend(resolution, _("Resolution time trend"), _("Hours to resolution"), "hours", series="series",
                       events=store_ui.events_for(f)), resolution, "resolution_trend")
with right:
    sla_month = data.metric("sla_compliance", f, by=("month",))
    chart(charts.trend(sla_month, _("SLA compliance by month"), _("Share meeting target"), "percent", target=0.95,
                       events=store_ui.events_for(f)), sla_month, "sla_trend")

st.subheader(_("Distributions"))
durations = {"resolution_hours": _("Resolution"), "response_hours": _("First response"),
             "arrival_minutes": _("Repair arrival")}
duration = st.segmented_control(_("Duration"), list(durations), default="resolution_hours", key="rt_duration",
                                format_func=lambda d: durations[d]) or "resolution_hours"
distribution = data.view("duration_distribution", f, duration=duration)
chart(charts.stacked(distribution, "bucket", "ticket_type", "tickets", _("Tickets by duration"), column("tickets"),
                     labels=TICKET_TYPE), distribution, f"distribution_{duration}")

st.subheader(_("By region and service centre"))
dim = st.segmented_control(_("Break down by"), ["region", "service_center"], default="region", key="rt_dim",
                           format_func=column) or "region"
by_place = data.metric("sla_compliance", f, by=(dim,)).sort_values("value")
arrival = data.metric("repair_arrival_minutes", f, by=(dim,)).sort_values("value", ascending=False)
left, right = st.columns(2)
with left:
    chart(charts.bars(by_place, dim, _("SLA compliance"), _("Share meeting target"), "percent", target=0.95,
                      horizontal=True), by_place, f"sla_by_{dim}")
with right:
    chart(charts.bars(arrival, dim, _("Mean repair arrival time"), _("Minutes"), "minutes", horizontal=True),
          arrival, f"arrival_by_{dim}")

st.subheader(_("Backlog"))
backlog_total = data.metric("backlog", f)["value"].iloc[0]
if backlog_total != backlog_total:
    st.caption(_("Backlog: no data (the loaded tickets have no resolved_at, or none falls in this period)."))
else:
    st.caption(_("{tickets} tickets open at the end of {date}, by age.").format(tickets=count(backlog_total),
                                                                             date=day(f.end)))
ageing = data.view("backlog_ageing", f)
chart(charts.stacked(ageing, "age", "ticket_type", "tickets", _("Open tickets by age"), column("tickets"),
                     labels=TICKET_TYPE), ageing, "backlog_ageing")
with st.expander(_("Response and resolution by ticket type")):
    by_type = data.metric_set(("median_resolution_hours", "p90_resolution_hours", "median_response_hours",
                               "first_contact_resolution", "reopen_rate"), f, by=("ticket_type",))
    summary = by_type["median_resolution_hours"].rename(columns={"value": "median_resolution_hours"})
    for metric_id in ("p90_resolution_hours", "median_response_hours", "first_contact_resolution", "reopen_rate"):
        summary = summary.merge(by_type[metric_id][["ticket_type", "value"]]
                                .rename(columns={"value": metric_id}), on="ticket_type", how="outer")
    hours = st.column_config.NumberColumn(format="%.1f")
    share = st.column_config.NumberColumn(format="percent")
    table(summary, "by_ticket_type", column_config={
        column("median_resolution_hours"): hours, column("p90_resolution_hours"): hours,
        column("median_response_hours"): hours, column("first_contact_resolution"): share,
        column("reopen_rate"): share})
with st.expander(_("Tickets that breached their SLA")):
    st.caption(_("Created in the period, newest first (at most 1,000); each opens its account page. SLA outcome as "
                 "of the end of {end}, against the default targets.").format(end=day(f.end)))
    breached = data.view("ticket_list", f, outcome="breached")
    table(breached, "breached_tickets")
