"""The query model, declared once: the dimensions a figure can be filtered and broken down by, where each lives, and
which of the tables built at load carry it. Filters (metrics.filters), the customer conditions every fact query
applies (metrics.query.customer_conditions), the columns facts carry (ingest builds them from CUSTOMER_ATTRIBUTES)
and the planner's test whether a roll-up can answer (`rollups_answer`) all read this one list.

Ideas taken from MetricFlow (dbt-labs/metricflow): dimensions declared beside the facts' additive measures; a
cumulative measure (each customer's revenue summed from the first bill up to every month end, in tier_snapshots)
turns the revenue of any run of whole months into a difference of two running totals; a planner picks the cheapest
source that can answer exactly and falls back to the facts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dimension:
    """A customer attribute: `name`, its column on customers and on every *_facts table; `filter`, the Filters field
    choosing values (None = all); `allowed`, the Filters field holding the signed-in user's row limit on it (never
    from the URL; the two are intersected, Filters.chosen); `in_rollups`, whether the roll-ups built at load are kept
    per this attribute (when not, a query filtering or breaking down by it is answered from the facts)."""

    name: str
    filter: str
    allowed: str | None = None
    in_rollups: bool = True


# Customer attributes. `tier` is a customer dimension too, but derived (tier snapshots, SPEC 5.1), not a column.
CUSTOMER_ATTRIBUTE_DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("region", "regions", "allowed_regions"),
    Dimension("service_center", "service_centers", "allowed_service_centers"),
    Dimension("industry", "industries"),
    Dimension("area", "areas"),
    Dimension("voltage_kv", "voltages"),
    Dimension("account_manager", "account_managers", "allowed_account_managers", in_rollups=False),
)
CUSTOMER_ATTRIBUTES: tuple[str, ...] = tuple(d.name for d in CUSTOMER_ATTRIBUTE_DIMENSIONS)
# In the order `by` lists them; tier after service_center as before.
CUSTOMER_DIMENSIONS: tuple[str, ...] = ("region", "service_center", "industry", "tier", "area", "voltage_kv",
                                        "account_manager")
ROLLUP_CUSTOMER_ATTRIBUTES: tuple[str, ...] = tuple(d.name for d in CUSTOMER_ATTRIBUTE_DIMENSIONS if d.in_rollups)
TICKET_DIMENSIONS: tuple[str, ...] = ("ticket_type", "channel", "category")
TIME_GRAINS: tuple[str, ...] = ("week", "month", "quarter", "year")
# How many month ends, from a row's own month's on, the one-copy roll-ups (billing_months, ticket_months) keep its
# customers' tiers for: windows of up to this many whole months with tiers as of their end are answered from them.
ROLLUP_HORIZON_MONTHS = 36

DIMENSION_BY_NAME = {d.name: d for d in CUSTOMER_ATTRIBUTE_DIMENSIONS}


@dataclass(frozen=True)
class MonthRollup:
    """A one-copy roll-up of a fact's months (metrics.rollups): `table`, and the customer attributes its rows are
    summed per. The whole one (`coarser_of` None) keeps every attribute kept in roll-ups; a coarser one is the whole
    one's rows summed over the attributes it leaves out, every other column kept (the month, the tier codes, the
    ticket dimensions and SLA months, the parts), so it answers exactly what the whole one answers for a query whose
    filters and breakdowns use its attributes alone, from fewer rows."""

    table: str
    attributes: tuple[str, ...] = ROLLUP_CUSTOMER_ATTRIBUTES
    coarser_of: str | None = None


# Each fact's month roll-ups, the smallest first: a query reads the first that keeps every customer attribute it uses
# (month_rollup). Per region alone, at 1 M customers: ticket_months 3.5 M rows to 0.6 M (most of what is left is the
# tier paths and the ticket dimensions), billing_months 1.4 M to 0.2 M; a 24-month read of the ticket parts 0.10 to
# 0.025 s. The scorecard, and every page without a filter other than region, tier and the ticket filters, read them.
MONTH_ROLLUPS: dict[str, tuple[MonthRollup, ...]] = {
    "billing": (MonthRollup("billing_months_by_region", ("region",), "billing_months"), MonthRollup("billing_months")),
    "tickets": (MonthRollup("ticket_months_by_region", ("region",), "ticket_months"), MonthRollup("ticket_months")),
}

# The large tables a window's figures are read from, each stored in order of region, then the column given (time, or
# for customer_month_ends, one row per customer, the customer's key): a region filter (a service-centre lead's every
# query) reads that region's row groups alone, and a window its run of dates within each region's (zone maps).
# Measured at 1 M customers, cold: a 24-month median under every sidebar filter 0.21 to 0.06 s, the scorecard for one
# region over 24 months 0.85 to 0.55 s; a month alone reads a row group per region instead of two or three in all
# (the 1-month scorecard unchanged). ingest.model writes them so.
REGION_ORDERED_TABLES: tuple[tuple[str, str], ...] = (
    ("ticket_facts", "created_at"), ("ticket_late_outcomes", "created_at"), ("visit_facts", "visited_on"),
    *((rollup.table, "month") for rollups in MONTH_ROLLUPS.values() for rollup in rollups),
    ("customer_month_ends", "customer_key"))


def attributes_used(f, by) -> set[str]:
    """The customer attributes a query filters by (the user's choice or a row limit) or breaks down by."""
    return {d.name for d in CUSTOMER_ATTRIBUTE_DIMENSIONS if d.name in by or f.chosen(d.name) is not None}


def rollups_answer(f, by) -> bool:
    """Whether the roll-ups built at load carry every customer dimension the filters choose or `by` breaks down by."""
    return attributes_used(f, by) <= set(ROLLUP_CUSTOMER_ATTRIBUTES)


def month_rollup(fact: str, f, by) -> str:
    """The smallest of `fact`'s month roll-ups (MONTH_ROLLUPS) keeping every customer attribute the query uses; the
    caller has checked that the roll-ups answer (rollups_answer)."""
    used = attributes_used(f, by)
    return next(r.table for r in MONTH_ROLLUPS[fact] if used <= set(r.attributes))
