"""Account managers (客户经理制): how each manager's accounts are doing, and each manager's portfolio. An
account_manager user sees only their own row and their own portfolio (the limit is in the metric layer)."""

import streamlit as st

from dashboard import data, escape
from dashboard.filters import current
from dashboard.i18n import _, language
from dashboard.labels import column, early_warning_reasons
from dashboard.ui import page_header, table

f = current("account_managers")
if f is None:
    st.stop()
page_header(_("Account managers"), _("How are each manager's accounts doing, and which of them need a visit?"))

own = f.allowed_account_managers is not None
if own:
    # An account manager: their own accounts, wherever they are (the sidebar can still narrow them).
    scope = f
else:
    regions = data.filter_choices()["dimensions"]["region"]
    regions = [r for r in regions if f.effective_regions is None or r in f.effective_regions]
    if not regions:
        st.info(_("No data for these filters. Widen the period or clear some filters in the sidebar."),
                icon=":material/filter_alt_off:")
        st.stop()
    region = st.selectbox(_("Region"), regions, key="managers_region", bind="query-params",
                          help=_("The managers of one region at a time: each figure is the catalogue metric computed "
                                 "for the manager's own accounts."))
    scope = f.model_copy(update={"regions": (region,)})

st.subheader(_("League table") if not own else _("Your accounts at a glance"))
st.caption(_("Sort by any column. Accounts and VIP and key accounts are those active in the period (tiers as of its "
             "end); on the early-warning list: at the period's end."))
league = data.view("manager_league", scope)
formats = {"revenue": "¥%,.0f", "revenue_yoy": "percent", "visit_coverage": "percent", "sla_compliance": "percent",
           "csat": "percent", "complaints_per_account": "%.2f"}
table(league, "account_manager_league",
      column_config={column(m): st.column_config.NumberColumn(format=fmt) for m, fmt in formats.items()})

managers = league["account_manager"].tolist()
if not managers:
    st.stop()
if len(managers) == 1:
    manager = managers[0]
else:
    manager = st.selectbox(_("Portfolio of"), managers, key="managers_pick", bind="query-params")
st.subheader(_("Portfolio: {manager}").format(manager=escape.markdown(manager)))
st.caption(_("Accounts active at the period's end, largest revenue first. Visit due: a VIP or key account without a "
             "visit in 90 days; overdue: none in 180 days."))
accounts = data.view("manager_portfolio", scope, manager=manager)
if language() == "zh" and not accounts.empty:
    listed = accounts["reason_count"] > 0
    accounts = accounts.assign(reasons=accounts["reasons"].astype(object).where(~listed, None))
    accounts.loc[listed, "reasons"] = early_warning_reasons(accounts[listed])
shown = ["customer_id", "customer_name", "tier", "revenue_12m", "revenue_trend", "open_tickets", "last_visit",
         "days_since_last_visit", "visit_due", "reason_count", "reasons", "service_center", "industry"]
table(accounts[shown] if not accounts.empty else accounts, "account_manager_portfolio", days=("last_visit",),
      column_config={
          column("revenue_12m"): st.column_config.NumberColumn(format="¥%,.0f"),
          column("revenue_trend"): st.column_config.LineChartColumn(
              help=_("Amount billed in each of the 12 months up to the period's end; a gap is a month without a "
                     "bill.")),
          column("reasons"): st.column_config.TextColumn(width="large")})

st.subheader(_("Visit planning"))
st.caption(_("VIP and key accounts without a visit in 90 days (due) or 180 days (overdue), by revenue at stake: the "
             "account's revenue over the 12 months to the period's end."))
plan = data.view("manager_visit_plan", scope, manager=manager)
if plan.empty:
    st.success(_("Every VIP and key account of this portfolio was visited in the last 90 days."),
               icon=":material/check_circle:")
else:
    if language() == "zh":
        plan = plan.assign(reasons=accounts.set_index("customer_id")["reasons"].reindex(plan["customer_id"]).values)
    table(plan, "account_manager_visit_plan", days=("last_visit",), column_config={
        column("revenue_12m"): st.column_config.NumberColumn(format="¥%,.0f"),
        column("reasons"): st.column_config.TextColumn(width="large")})
