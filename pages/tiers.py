"""Tiers: who the key accounts are, how concentrated revenue is, how accounts move between tiers, who is rising."""

from functools import partial

import pandas as pd
import streamlit as st

from dashboard import charts, data
from dashboard.filters import current, migration_dates
from dashboard.format import day
from dashboard.i18n import _
from dashboard.labels import TIER, column
from dashboard.ui import chart, page_header, table

f = current("tiers")
if f is None:
    st.stop()
page_header(_("Customer tiers"),
            _("How much of the business sits with a few accounts, and which accounts are moving up or out?"))

# the Pareto curve (every customer's revenue in order), the page's heaviest figure, computed while the others are drawn
pareto = data.in_background(partial(data.view, "pareto_curve", f))
distribution = data.view("tier_distribution", f)
concentration = data.view("revenue_concentration", f).iloc[0]
cols = st.columns(4)
cols[0].metric(_("Customers with revenue"), "–" if pd.isna(concentration["customers"])
               else f"{int(concentration['customers']):,}", border=True)
cols[1].metric(_("Revenue share of the top 20%"), "–" if pd.isna(concentration["top20_share"])
               else f"{concentration['top20_share']:.1%}", border=True)
cols[2].metric(_("Gini coefficient"), "–" if pd.isna(concentration["gini"])
               else f"{concentration['gini']:.2f}", border=True,
               help=_("0 = every customer pays the same; 1 = one customer pays everything."))
key_share = distribution.loc[distribution["tier"].isin(["VIP", "key"]), "revenue_share"].sum(min_count=1)
cols[3].metric(_("VIP and key share of revenue"), "–" if key_share != key_share else f"{key_share:.1%}", border=True)

left, right = st.columns(2)
with left:
    chart(charts.tier_shares(distribution, _("Customers vs revenue by tier")),
          distribution if distribution["customers"].sum() else distribution.iloc[0:0], "tier_distribution")
with right:
    curve = pareto.result()
    chart(charts.pareto(charts.pareto_points(curve), _("Revenue concentration (Pareto curve)")), curve, "pareto_curve")

st.subheader(_("Tiers across regions and industries"))
left, right = st.columns(2)
for col, dim, title in ((left, "region", _("Active customers by region and tier")),
                        (right, "industry", _("Active customers by industry and tier"))):
    with col:
        by_tier = data.metric("active_customers", f, by=(dim, "tier"))
        chart(charts.stacked(by_tier, dim, "tier", "value", title, column("customers"),
                             colors=charts.TIER_COLORS, labels=TIER), by_tier, f"tiers_by_{dim}")

st.subheader(_("Tier migration"))
first_day = data.filter_choices()["range"][0]
c1, c2 = st.columns(2)
suggested = migration_dates(f, first_day)
before = c1.date_input(_("From"), value=suggested[0], min_value=first_day, max_value=f.end, key="migration_from")
after = c2.date_input(_("To"), value=suggested[1], min_value=first_day, max_value=f.end, key="migration_to")
if before >= after:
    st.warning(_("Choose a 'From' date before the 'To' date."))
else:
    migration = data.view("tier_migration", f, before=before, after=after)
    chart(charts.migration_sankey(migration, _("Accounts by tier on both dates"), day(before), day(after)),
          migration, "tier_migration")
    with st.expander(_("The accounts that changed tier")):
        moves = data.view("tier_moves", f, before=before, after=after)
        table(moves, "tier_moves", column_config={
            column(c): st.column_config.NumberColumn(format="¥%,.0f") for c in ("revenue_before", "revenue_after")})

st.subheader(_("Rising accounts"))
st.caption(_("Standard and key customers whose revenue over the last 12 months grew at least 30% on the 12 months "
             "before."))
rising = data.view("rising_accounts", f)
table(rising, "rising_accounts", column_config={
    column("growth"): st.column_config.NumberColumn(format="percent"),
    column("revenue_12m"): st.column_config.NumberColumn(format="¥%,.0f"),
    column("revenue_12m_year_before"): st.column_config.NumberColumn(format="¥%,.0f")})
