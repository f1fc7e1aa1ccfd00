"""Retention: are we keeping accounts and their revenue, why do they leave, and who is at risk now?"""

from functools import partial

import pandas as pd
import streamlit as st

from dashboard import charts, data, store_ui
from dashboard.filters import current
from dashboard.format import month
from dashboard.i18n import _, language
from dashboard.labels import EVENT, column, early_warning_reasons, label
from dashboard.ui import chart, kpi_tile, page_header, table

f = current("retention")
if f is None:
    st.stop()
page_header(_("Retention"),
            _("Are we keeping our accounts and their revenue, why do they leave, and which key accounts are at risk?"))
# the early-warning list, the page's heaviest figure, computed while the others are drawn
early_warning = data.in_background(partial(data.view, "early_warning", f))

cols = st.columns(4)
for col, metric_id in zip(cols, ("logo_retention", "churned_customers", "net_revenue_retention",
                                 "gross_revenue_retention")):
    with col:
        kpi_tile(metric_id, data.metric(metric_id, f)["value"].iloc[0])
st.caption(_("Tiers here are those each cohort had at its base: retention takes customers' tiers on the day before the "
             "period starts, churn each account's tier at the end of the month before it closed, revenue retention the "
             "tiers at the end of the same period a year earlier, and the cohort table the tiers at the end of the "
             "quarter each customer opened in."))

left, right = st.columns(2)
with left:
    churn = data.metric("churned_customers", f, by=("month",))
    chart(charts.bars(churn.assign(month=churn["month"].map(month)), "month", _("Churned customers by month"),
                      column("customers"), "count"), churn, "churn_by_month")
with right:
    retention = data.metric("logo_retention", f, by=("quarter",))
    chart(charts.trend(retention, _("Customer retention by quarter"), _("Share retained"), "percent", x="quarter",
                       events=store_ui.events_for(f)), retention, "retention_by_quarter")

left, right = st.columns(2)
with left:
    nrr = data.metric("net_revenue_retention", f, by=("region",)).sort_values("value")
    chart(charts.bars(nrr, "region", _("Net revenue retention by region"), _("Revenue kept"), "percent", target=1.0,
                      horizontal=True), nrr, "nrr_by_region")
with right:
    reasons = data.view("churn_reasons", f)
    labelled = reasons.assign(label=[f"{label(EVENT, e)}: {r}" for e, r in zip(reasons["event"], reasons["reason"])])
    chart(charts.bars(labelled, "label", _("Why customers left"), column("customers"), "count", value="customers",
                      horizontal=True), reasons, "churn_reasons")

st.subheader(_("Cohort retention"))
st.caption(_("Customers opened in each quarter of the period, and the share still active at the end of each later "
             "quarter."))
cohorts = data.view("cohort_retention", f)
chart(charts.heatmap(cohorts.assign(cohort=cohorts["cohort"].map(month)), "quarters_since_open", "cohort",
                     "retention", _("Cohort retention")), cohorts, "cohort_retention")

st.subheader(_("Early warning: key accounts at risk"))
st.caption(_("VIP and key accounts with at least one warning sign: consumption down 20% or more on a year earlier, "
             "two or more complaints in 90 days, unpaid bills, low satisfaction, no visit in 180 days, "
             "capacity reduction or suspension."))
COLUMNS = ["customer_id", "customer_name", "tier", "region", "reasons", "reason_count", "revenue_12m",
           "service_center", "account_manager"]


def listed(accounts: pd.DataFrame) -> pd.DataFrame:
    """The columns shown, the reasons in the current language."""
    if language() == "zh":
        accounts = accounts.assign(reasons=early_warning_reasons(accounts))
    return accounts[COLUMNS]


table(early_warning.result(), "early_warning", prepared=listed, column_config={
    column("revenue_12m"): st.column_config.NumberColumn(format="¥%,.0f"),
    column("reasons"): st.column_config.TextColumn(width="large")})
