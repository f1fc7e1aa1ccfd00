"""What people read instead of column names and code values."""

from __future__ import annotations

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
VALUE_LABELS = {"tier": TIER, "from_tier": TIER, "to_tier": TIER, "current_tier": TIER, "area": AREA,
                "ticket_type": TICKET_TYPE, "channel": CHANNEL, "status": STATUS, "method": METHOD,
                "dimension": DIMENSION, "event": EVENT}

COLUMNS = {
    "month": "Month", "quarter": "Quarter", "year": "Year", "week": "Week", "region": "Region",
    "service_center": "Service centre", "industry": "Industry", "tier": "Tier", "area": "Area",
    "ticket_type": "Ticket type", "channel": "Channel", "category": "Category", "value": "Value",
    "numerator": "Numerator", "denominator": "Denominator", "customer_id": "Customer ID",
    "customer_name": "Customer", "customers": "Customers", "revenue": "Revenue (¥)",
    "consumption_kwh": "Consumption (kWh)", "customers_share": "Share of customers", "revenue_share": "Share of revenue",
    "consumption_kwh_share": "Share of consumption", "rank": "Rank", "customer_share": "Share of customers (cumulative)",
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
    "composite": "Composite score", "financial": "Financial", "customer": "Customer",
    "internal_process": "Internal process", "learning_growth": "Learning and growth", "metric": "KPI",
    "target": "Target", "status": "Status", "score": "Score (0–100)", "previous": "Previous period",
    "change": "Change", "weight": "Weight", "table_name": "Table", "row_count": "Rows", "latest": "Latest date",
    "load_id": "Load", "loaded_at": "Loaded at", "mode": "Mode", "files": "Files", "rows_read": "Rows read",
    "rows_loaded": "Rows loaded", "rows_rejected": "Rows rejected", "duration_seconds": "Duration (s)",
    "source_file": "File", "line": "Line", "raw_row": "Row as read", "current_tier": "Tier (as of period end)",
    "share_before": "Revenue share ranked above", "trailing_revenue": "Revenue, trailing 12 months (¥)",
    "consumption_down": "Consumption down", "repeat_complaints": "Repeat complaints", "unpaid_bills": "Unpaid bills",
    "low_satisfaction": "Low satisfaction", "no_recent_visit": "No recent visit", "capacity_reduced": "Capacity reduced",
    "direction": "Better when", "age_days": "Age (days)", "bucket_no": "Bucket",
}


def column(name: str) -> str:
    return COLUMNS.get(name, name.replace("_", " ").capitalize())


def readable(frame):
    """A copy with code values translated and column headers a person can read."""
    out = frame.copy()
    for name, mapping in VALUE_LABELS.items():
        if name in out.columns:
            out[name] = out[name].map(lambda v, m=mapping: m.get(v, v) if isinstance(v, str) else v)
    return out.rename(columns={c: column(c) for c in out.columns})
