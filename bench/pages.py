"""The metric set each page computes under its default view, as (kind, name, arguments) steps; kind "metrics" names
several metrics computed together (dashboard.data.metric_set), kind "migration" the tier migration and its accounts
between the tiers page's suggested dates (dashboard.filters.migration_dates).

Kept beside the benchmark rather than shared with the pages: the pages stay plain scripts, and a test
checks that every metric and view named here exists.
"""

from __future__ import annotations

TICKET_TREND = ("median_response_hours", "p90_response_hours", "median_resolution_hours", "p90_resolution_hours")


PAGE_STEPS: dict[str, list[tuple]] = {
    "scorecard": [("scorecard", None, {})],
    "tiers": [("view", "tier_distribution", {}), ("view", "revenue_concentration", {}), ("view", "pareto_curve", {}),
              ("metric", "active_customers", {"by": ("region", "tier")}),
              ("metric", "active_customers", {"by": ("industry", "tier")}),
              ("migration", None, {}), ("view", "rising_accounts", {})],
    "response_times": [("metrics", ("sla_compliance", "median_response_hours", "repair_arrival_minutes",
                                    "first_contact_resolution", "reopen_rate"), {}),
                       ("metric", "backlog", {}),
                       ("metric", "sla_compliance", {"by": ("ticket_type",)}),
                       ("metric", "sla_compliance", {"by": ("month",)}),
                       ("metrics", TICKET_TREND, {"by": ("month",)}),
                       ("view", "duration_distribution", {"duration": "resolution_hours"}),
                       ("metric", "sla_compliance", {"by": ("region",)}),
                       ("metric", "repair_arrival_minutes", {"by": ("region",)}),
                       ("view", "backlog_ageing", {})],
    "complaints": [("metric", "complaints", {}), ("metric", "complaint_rate_per_10k", {}),
                   ("view", "repeat_complainants", {}), ("view", "complaint_outliers", {}),
                   ("metric", "complaint_rate_per_10k", {"by": ("month",)}),
                   ("metric", "complaints", {"by": ("category",)}),
                   ("metric", "complaint_rate_per_10k", {"by": ("region",)}),
                   ("metric", "complaint_rate_per_10k", {"by": ("tier",)})],
    "retention": [*[("metric", m, {}) for m in ("logo_retention", "churned_customers", "net_revenue_retention",
                                                "gross_revenue_retention")],
                  ("metric", "churned_customers", {"by": ("month",)}),
                  ("metric", "logo_retention", {"by": ("quarter",)}),
                  ("metric", "net_revenue_retention", {"by": ("region",)}),
                  ("view", "churn_reasons", {}), ("view", "cohort_retention", {}), ("view", "early_warning", {})],
    "satisfaction": [*[("metric", m, {}) for m in ("csat", "nps", "callback_satisfaction")],
                     ("view", "survey_dimensions", {}), ("view", "survey_dimensions", {"by": ("method",)}),
                     ("metric", "csat", {"by": ("quarter",)}), ("metric", "nps", {"by": ("quarter",)}),
                     ("metric", "csat", {"by": ("region",)})],
    "explore": [("metric", "revenue", {"by": ("month",)})],
}

# The step a page starts first on a thread of its own (dashboard.data.in_background) and takes where it shows it, as
# the page does: its heaviest figure, computed while the others are.
STARTED_FIRST: dict[str, tuple] = {
    "retention": ("view", "early_warning", {}),
    "response_times": ("metrics", TICKET_TREND, {"by": ("month",)}),
    "tiers": ("view", "pareto_curve", {}),
}
