"""Account (一户一策): one account at a glance: who it is, what it buys and pays, what it asked of us, and its warning
signs. The account is in the URL (`?customer=ID`), so a link opens it."""

import pandas as pd
import streamlit as st

from dashboard import charts, data, escape, exports, store_ui
from dashboard.filters import current
from dashboard.format import count, day, number
from dashboard.i18n import _, language
from dashboard.labels import TIER, column, early_warning_reasons, label
from dashboard.ui import chart, page_header, slug, table

f = current("account")
if f is None:
    st.stop()
page_header(_("Account"), _("How is this customer doing, and what do we owe them?"))

typed = st.text_input(_("Find an account"), key="account_search",
                      placeholder=_("Customer ID or part of the name, in Chinese or Latin letters"))
if typed.strip():
    found = data.view("find_accounts", f, text=typed)
    if found.empty:
        st.info(_("No account you may open matches that."), icon=":material/search_off:")
    else:
        names = dict(zip(found["customer_id"], found["customer_name"]))
        picked = st.selectbox(_("Matching accounts"), found["customer_id"].tolist(), index=None, key="account_pick",
                              format_func=lambda c: f"{names[c]} ({c})", placeholder=_("Choose an account"))
        if picked is not None and picked != st.query_params.get("customer"):
            st.query_params["customer"] = picked

customer_id = st.query_params.get("customer")
if not customer_id:
    st.info(_("Search for an account by its ID or name, or open one from any list that names accounts."),
            icon=":material/person_search:")
    st.stop()

tables = data.view("account_tables", f, customer_id=customer_id)
profile = tables["profile"]
if profile.empty:
    st.warning(_("This account is not available to you."), icon=":material/lock:")
    st.stop()
who = profile.iloc[0]
summary = tables["summary"].iloc[0]

st.subheader(escape.markdown(f"{who['customer_name']} · {who['customer_id']}"))


def listing(frame, name: str, **options) -> None:
    """A table of the account's records, or a line saying there are none (not a hint to change the filters)."""
    if frame.empty:
        st.caption(_("None recorded up to the period's end."))
    else:
        table(frame, name, **options)


def shown(value, fmt=None) -> str:
    if pd.isna(value):
        return "–"
    return day(value) if fmt == "day" else fmt.format(value) if fmt else str(value)


facts = [(_("Tier (as of period end)"), label(TIER, who["tier"])), (column("region"), who["region"]),
         (column("service_center"), who["service_center"]), (column("industry"), who["industry"]),
         (column("voltage_kv"), shown(who["voltage_kv"], "{:g}")),
         (column("contract_capacity_kva"), shown(who["contract_capacity_kva"], "{:,.0f}")),
         (column("account_manager"), who["account_manager"]), (column("opened_on"), shown(who["opened_on"], "day")),
         (column("closed_on"), shown(who["closed_on"], "day"))]
st.caption(" · ".join(f"{name}: {escape.markdown(shown(value))}" for name, value in facts))
st.caption(_("Everything below is as of {end}, the end of the sidebar's period.").format(end=day(f.end)))

revenue_change = None if pd.isna(summary["revenue_change_12m"]) else summary["revenue_change_12m"]
tiles = [*st.columns(3), *st.columns(3)]
tiles[0].metric(column("revenue_12m"), number(summary["revenue_12m"], "yuan"), border=True,
                delta=None if revenue_change is None else f"{revenue_change:+.1%}",
                delta_description=_("vs the 12 months before") if revenue_change is not None else None)
tiles[1].metric(column("collection_rate_12m"), number(summary["collection_rate_12m"], "percent"), border=True)
# the months the unpaid amount spans go under the amount (grey, no arrow): beside it they were cut off
months_unpaid = summary["unpaid_months"]
unpaid_months = (None if pd.isna(months_unpaid) else _("1 month") if months_unpaid == 1
                 else _("{n} months").format(n=count(months_unpaid)))
tiles[2].metric(column("unpaid_amount"), number(summary["unpaid_amount"], "yuan"), border=True,
                delta=unpaid_months, delta_color="off", delta_arrow="off",
                help=_("Over every bill up to the period's end."))
tiles[3].metric(column("open_tickets"), number(summary["open_tickets"], "count"), border=True)
tiles[4].metric(column("complaints_12m"), number(summary["complaints_12m"], "count"), border=True)
tiles[5].metric(column("days_since_last_visit"), number(summary["days_since_last_visit"], "count"), border=True,
                help=_("Last visit: {day}").format(day=shown(summary["last_visit"], "day")))

strip = tables["tiers"]
# Each month end drawn at its month's start, so the axis labels it with its own month (the last: the period's end).
chart(charts.tier_strip(strip.assign(as_of=[d.replace(day=1) for d in strip["as_of"]]), _("Tier at every month end")),
      strip, "account_tiers")

st.subheader(_("Revenue and consumption"))
bills = tables["billing"]
events = store_ui.events_of_region(bills["month"], who["region"])
left, right = st.columns(2)
with left:
    chart(charts.year_on_year(bills, "revenue", "revenue_year_before", _("Revenue by month, against a year earlier"),
                              column("revenue"), "yuan", events=events), bills, "account_revenue")
with right:
    chart(charts.year_on_year(bills, "consumption_kwh", "consumption_kwh_year_before",
                              _("Consumption by month, against a year earlier"), column("consumption_kwh"), "kwh",
                              events=events),
          bills, "account_consumption")
with st.expander(_("Bills, paid and unpaid, by month")):
    table(bills, "account_bills", column_config={column(c): st.column_config.NumberColumn(format="%,.2f") for c in
                                                 ("revenue", "amount_paid", "unpaid_in_month", "revenue_year_before")})

st.subheader(_("Early warning"))
warnings = tables["warnings"]
if language() == "zh" and warnings["on_list"].any():
    listed = warnings["on_list"].astype(bool)
    warnings = warnings.assign(reasons=warnings["reasons"].where(~listed, None))
    warnings.loc[listed, "reasons"] = early_warning_reasons(warnings[listed])
now = warnings.iloc[0]
if now["on_list"] and now["reason_count"] > 0:
    st.error(_("On the early-warning list now:") + " " + escape.markdown(now["reasons"]), icon=":material/warning:")
else:
    st.success(_("Not on the early-warning list now (it lists VIP and key accounts with a warning sign)."),
               icon=":material/check_circle:")
table(warnings[["as_of", "on_list", "tier", "reason_count", "reasons"]], "account_warnings",
      column_config={column("reasons"): st.column_config.TextColumn(width="large")})

st.subheader(_("Service tickets"))
st.caption(_("SLA outcome and time left as of the end of {end}; a negative time left is overdue.").format(
    end=day(f.end)))
listing(tables["tickets"], "account_tickets",
      column_config={column("hours_left"): st.column_config.NumberColumn(format="%.1f")})

left, right = st.columns(2)
with left:
    st.subheader(_("Complaints"))
    listing(tables["complaints"], "account_complaints")
with right:
    st.subheader(_("Visits"))
    listing(tables["visits"], "account_visits")

left, right = st.columns(2)
with left:
    st.subheader(_("Surveys"))
    listing(tables["surveys"], "account_surveys")
with right:
    st.subheader(_("Lifecycle events"))
    listing(tables["events"], "account_events",
            column_config={column("reason"): st.column_config.TextColumn(width="large")})

st.subheader(_("Download this account"))
sheets = {_("Profile"): profile, _("Summary"): tables["summary"], _("Tiers"): strip, _("Bills"): bills,
          _("Tickets"): tables["tickets"], _("Complaints"): tables["complaints"], _("Visits"): tables["visits"],
          _("Surveys"): tables["surveys"], _("Lifecycle events"): tables["events"], _("Early warning"): warnings}
base = slug(f"account_{customer_id}")
row = st.container(horizontal=True, gap="small")
row.download_button(_("Excel workbook (a sheet per table)"), lambda: exports.workbook_bytes(sheets), f"{base}.xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="account_workbook",
                    icon=":material/download:", on_click="ignore")
row.download_button(_("CSV files (zip)"), lambda: exports.csv_zip_bytes({slug(k): v for k, v in tables.items()}),
                    f"{base}_csv.zip", "application/zip", key="account_csv_zip", icon=":material/download:",
                    on_click="ignore")
