"""What people read instead of column names and code values (English here, translated by `_` on use)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashboard.i18n import _

TIER = {"VIP": "VIP", "key": "Key", "standard": "Standard", "new": "New", "closed": "Closed"}
AREA = {"urban": "Urban", "rural": "Rural", "remote": "Remote"}
TICKET_TYPE = {"repair": "Repair", "connection": "Connection", "billing": "Billing", "inquiry": "Inquiry",
               "complaint": "Complaint", "suggestion": "Suggestion", "praise": "Praise"}
CHANNEL = {"hotline": "Hotline (95598)", "online": "Online", "counter": "Counter",
           "account_manager": "Account manager", "visit": "Visit"}
STATUS = {"green": "On target", "amber": "Near target", "red": "Off target", "grey": "No data"}
METHOD = {"questionnaire": "Questionnaire", "visit": "Visit", "phone": "Phone"}
DIMENSION = {"overall": "Overall", "timeliness": "Timeliness", "reliability": "Reliability",
             "communication": "Communication", "convenience": "Convenience"}
EVENT = {"open": "Opened", "close": "Closed", "capacity_increase": "Capacity increase",
         "capacity_reduction": "Capacity reduction", "suspension": "Suspension",
         "switch_out": "Switched to direct purchase", "win_back": "Won back"}
TABLES = {"customers": "Customer accounts", "billing": "Billing", "tickets": "Service tickets", "surveys": "Surveys",
          "visits": "Visits", "account_events": "Account events", "staff_training": "Staff training"}
SLA_OUTCOME = {"met": "Met", "breached": "Breached", "pending": "Pending", "no_target": "No target"}
VISIT_TYPE = {"routine": "Routine visit", "revisit": "Revisit", "on_site_service": "On-site service",
              "emergency": "Emergency", "training": "Training"}
# None: a standard account, or a VIP or key account visited in the last 90 days (nothing due, not "not given").
VISIT_DUE = {"due": "Visit due (90 days)", "overdue": "Visit overdue (180 days)", None: "–"}
DIRECTION = {"higher": "Higher is better", "lower": "Lower is better"}
VALUE_LABELS = {"direction": DIRECTION, "table_name": TABLES, "tier": TIER, "from_tier": TIER, "to_tier": TIER,
                "current_tier": TIER, "area": AREA,
                "ticket_type": TICKET_TYPE, "channel": CHANNEL, "status": STATUS, "method": METHOD,
                "dimension": DIMENSION, "event": EVENT, "sla_outcome": SLA_OUTCOME, "visit_type": VISIT_TYPE,
                "visit_due": VISIT_DUE}

COLUMNS = {
    "month": "Month", "quarter": "Quarter", "year": "Year", "week": "Week", "region": "Region",
    "service_center": "Service centre", "industry": "Industry", "tier": "Tier", "area": "Area",
    "ticket_type": "Ticket type", "channel": "Channel", "category": "Category", "value": "Value",
    "numerator": "Numerator", "denominator": "Denominator", "customer_id": "Customer ID",
    "customer_name": "Customer", "customers": "Customers", "revenue": "Revenue (¥)",
    "consumption_kwh": "Consumption (kWh)", "customers_share": "Share of customers",
    "revenue_share": "Share of revenue", "consumption_kwh_share": "Share of consumption", "rank": "Rank",
    "customer_share": "Share of customers (cumulative)",
    "from_tier": "Tier before", "to_tier": "Tier after", "revenue_12m": "Revenue, last 12 months (¥)",
    "revenue_12m_year_before": "Revenue, 12 months a year earlier (¥)", "growth": "Growth",
    "bucket": "Duration", "tickets": "Tickets", "age": "Age", "complaints": "Complaints",
    "baseline_mean": "Mean of previous 12 months", "baseline_std": "Std. dev. of previous 12 months",
    "threshold": "Threshold", "stands_out": "Stands out", "rule": "Rule", "substantiated": "Substantiated",
    "last_complaint_at": "Last complaint", "categories": "Categories", "cohort": "Cohort (quarter opened)",
    "quarters_since_open": "Quarters since opening", "cohort_customers": "Customers in cohort",
    "still_active": "Still active", "retention": "Retention", "event": "Event", "reason": "Reason",
    "key_accounts": "Of which key accounts", "account_manager": "Account manager", "reasons": "Reasons",
    "reason_count": "Number of reasons", "consumption_change": "Consumption change (3 months, YoY)",
    "complaints_90d": "Complaints (90 days)", "unpaid": "Unpaid, last 3 months (¥)",
    "last_survey_overall": "Last survey score", "callback_avg": "Callback score (12 months)",
    "last_visit": "Last visit", "capacity_events": "Capacity events", "method": "Survey method",
    "dimension": "Service dimension", "mean_score": "Mean score (1–5)", "responses": "Responses",
    "composite": "Composite score", "financial": "Financial", "customer": "Customer perspective",
    "internal_process": "Internal process", "learning_growth": "Learning and growth", "metric": "KPI",
    "target": "Target", "status": "Status", "score": "Score (0–100)", "previous": "Previous period",
    "change": "Change", "weight": "Weight", "table_name": "Table", "row_count": "Rows", "latest": "Latest date",
    "load_id": "Load", "loaded_at": "Loaded at", "mode": "Mode", "files": "Files", "rows_read": "Rows read",
    "rows_loaded": "Rows loaded", "rows_rejected": "Rows rejected", "duration_seconds": "Duration (s)",
    "header_line": "Header line", "rows_superseded": "Rows superseded", "rows_skipped": "Rows skipped (not records)",
    "empty_rows": "Empty rows",
    "source_file": "File", "line": "Line", "raw_row": "Row as read", "current_tier": "Tier (as of period end)",
    "share_before": "Revenue share ranked above", "trailing_revenue": "Revenue, trailing 12 months (¥)",
    "consumption_down": "Consumption down", "repeat_complaints": "Repeat complaints", "unpaid_bills": "Unpaid bills",
    "low_satisfaction": "Low satisfaction", "no_recent_visit": "No recent visit",
    "capacity_reduced": "Capacity reduced",
    "direction": "Better when", "median_resolution_hours": "Median resolution (h)",
    "p90_resolution_hours": "90th percentile resolution (h)", "median_response_hours": "Median response (h)",
    "first_contact_resolution": "First-contact resolution", "reopen_rate": "Reopen rate", "series": "Series",
    "label": "Reason", "perspective": "Perspective", "age_days": "Age (days)", "bucket_no": "Bucket",
    "voltage_kv": "Voltage (kV)", "contract_capacity_kva": "Contract capacity (kVA)", "opened_on": "Opened",
    "closed_on": "Closed on", "as_of": "As of", "amount_paid": "Paid (¥)", "unpaid_in_month": "Unpaid (¥)",
    "revenue_year_before": "Revenue a year earlier (¥)",
    "consumption_kwh_year_before": "Consumption a year earlier (kWh)", "ticket_id": "Ticket",
    "created_at": "Created", "first_response_at": "First response", "arrived_at": "Arrived on site",
    "resolved_at": "Resolved", "is_open": "Still open", "sla_outcome": "SLA outcome", "next_deadline": "Next deadline",
    "hours_left": "Hours left", "satisfaction": "Callback score", "visit_id": "Visit", "visited_on": "Visited on",
    "visit_type": "Visit type", "staff_id": "Staff", "survey_id": "Survey", "surveyed_on": "Surveyed on",
    "overall": "Overall", "timeliness": "Timeliness", "reliability": "Reliability", "communication": "Communication",
    "convenience": "Convenience", "nps": "Likelihood to recommend (0–10)", "event_date": "Date",
    "capacity_change_kva": "Capacity change (kVA)", "on_list": "On the early-warning list",
    "consumption_kwh_12m": "Consumption, last 12 months (kWh)",
    "collection_rate_12m": "Collection rate, last 12 months", "unpaid_months": "Unpaid months",
    "unpaid_amount": "Unpaid amount (¥)", "open_tickets": "Open tickets", "complaints_12m": "Complaints (12 months)",
    "days_since_last_visit": "Days since last visit", "active_customers": "Accounts",
    "revenue_yoy": "Revenue growth (YoY)", "visit_coverage": "Key-account visit coverage",
    "sla_compliance": "SLA compliance", "csat": "Customer satisfaction (CSAT)",
    "warned_accounts": "Accounts on the early-warning list", "visit_due": "Visit",
    "complaints_per_account": "Complaints per account", "revenue_before": "Revenue, 12 months to 'From' (¥)",
    "revenue_after": "Revenue, 12 months to 'To' (¥)", "revenue_trend": "Revenue, last 12 months by month",
}


def column(name: str) -> str:
    return _(COLUMNS[name]) if name in COLUMNS else name.replace("_", " ").capitalize()


# Text columns a chart or table groups or names rows by: a missing value there reads "(not given)", never "nan".
TEXT_DIMENSIONS = ("region", "service_center", "industry", "category", "account_manager", "area", "channel",
                   "ticket_type", "customer_name", "method", "reason")


def missing(value) -> bool:
    """None, NaN, NaT or pd.NA: a value no export gave."""
    try:
        return bool(value is None or value != value or str(value) in ("<NA>", "NaT"))
    except (TypeError, ValueError):
        return False


def not_given() -> str:
    return _("(not given)")


def label(mapping: Mapping[Any, str], value):
    """A product-defined code value (tier, ticket type, ...) in the current language; data values unchanged; a
    missing value "(not given)". Only what is shown: the data and the downloads keep the value empty."""
    if missing(value):
        return mapping[None] if None in mapping else not_given()
    return _(mapping[value]) if isinstance(value, str) and value in mapping else value


def readable(frame, download: bool = False):
    """A copy with code values translated, missing text dimensions "(not given)" and column headers a person can
    read. For a `download`, missing values stay empty: a file holds the data, not its display."""
    out = frame.copy()
    for name in set(VALUE_LABELS) | (set() if download else set(TEXT_DIMENSIONS)):
        if name in out.columns:
            mapping = VALUE_LABELS.get(name, {})
            out[name] = out[name].map(lambda v, m=mapping: v if download and missing(v) else label(m, v)) \
                if download else out[name].astype(object).map(lambda v, m=mapping: label(m, v))
    return out.rename(columns={c: column(c) for c in out.columns})


def early_warning_reasons(frame):
    """The early-warning reasons of each row in the current language, from the flags and figures metrics returns
    (metrics.retention.early_warning writes them in English for the API and CSV users)."""
    def one(row) -> str:
        parts = []
        if row.consumption_down:
            parts.append(_("consumption {change} vs a year earlier (last 3 months)").format(
                change=f"{row.consumption_change:+.0%}"))
        if row.repeat_complaints:
            parts.append(_("{n} complaints in 90 days").format(n=row.complaints_90d))
        if row.unpaid_bills:
            parts.append(_("unpaid bills ¥{amount} (last 3 months)").format(amount=f"{row.unpaid:,.0f}"))
        if row.low_satisfaction:
            parts.append(_("low satisfaction"))
        if row.no_recent_visit:
            parts.append(_("no visit in 180 days"))
        if row.capacity_reduced:
            parts.append(", ".join(label(EVENT, e) for e in row.capacity_events.split(", ")))
        return "; ".join(parts)

    return [one(row) for row in frame.itertuples(index=False)]
