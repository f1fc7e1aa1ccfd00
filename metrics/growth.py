"""Learning and growth perspective (SPEC 5.5)."""

from __future__ import annotations

import pandas as pd

from metrics.customer import active_in
from metrics.facts import CUSTOMER_COLUMNS, MonthEndRollup, per_period, ratio
from metrics.query import Grouping, Params, between, customer_conditions, run, scope_sql


@per_period(rollup=MonthEndRollup("visit_coverage", "CAST(coalesce(sum(r.customers) FILTER (WHERE r.last_visit_month "
                                                   ">= w.first_day), 0) AS BIGINT) AS numerator, "
                                                   "CAST(coalesce(sum(r.customers), 0) AS BIGINT) AS denominator",
                                                   scale=1))
def visit_coverage(con, f, by, settings) -> pd.DataFrame:
    """VIP and key customers active at end with at least one visit in the window / VIP and key customers active at
    end."""
    p = Params(con)
    g = Grouping(tuple(by), None, CUSTOMER_COLUMNS)
    # The visits asked for are those of customers with the scope's attributes (visit_facts carries them): the same
    # customers found, and a region filter reads its region's visits alone (metrics.model.REGION_ORDERED_TABLES).
    sql = f"""
        WITH scope AS ({scope_sql(p, f, settings, with_tier=True)})
        SELECT {g.select}count(*) FILTER (WHERE s.customer_key IN (
                   SELECT v.customer_key FROM visit_facts v
                   WHERE {between(p, 'v.visited_on', f)} AND {customer_conditions(p, f, 'v')})) AS numerator,
               count(*) AS denominator
        FROM scope s
        WHERE s.tier IN ('VIP', 'key') AND {active_in(p, f.end, f.end)}
        {g.group} {g.order}"""
    return ratio(run(con, sql, p))


def training_hours_per_staff(con, f, by, settings) -> pd.DataFrame:
    """Training hours / distinct staff trained in the window; only the region filter applies (the staff's region)."""
    # Training is kept per staff member, not per account: filters by account manager select no staff (no data).
    p = Params(con)
    g = Grouping(tuple(by), "st.trained_on", {"region": "st.region"})
    regions = f.effective_regions
    region_filter = f"list_contains({p(list(regions))}, st.region)" if regions is not None else "true"
    if f.by_account_manager:
        region_filter = "false"
    sql = f"""
        SELECT {g.select}sum(st.hours) AS numerator, count(DISTINCT st.staff_id) AS denominator
        FROM staff_training st
        WHERE {between(p, 'st.trained_on', f)} AND {region_filter}
        {g.group} {g.order}"""
    return ratio(run(con, sql, p))
