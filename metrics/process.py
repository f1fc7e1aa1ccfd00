"""Internal process perspective (SPEC 5.4): volumes, backlog, response and resolution times, SLA compliance."""

from __future__ import annotations


import pandas as pd

from metrics.facts import TICKET_COLUMNS, fact_aggregate, per_period, ratio, ticket_aggregate
from metrics.query import Grouping, Params, between, customer_conditions, run, ticket_conditions, tier_join


def tickets(con, f, by, settings) -> pd.DataFrame:
    """Tickets created in the window."""
    return ticket_aggregate(con, f, by, settings, "count(*) AS value")


@per_period
def backlog(con, f, by, settings) -> pd.DataFrame:
    """Tickets created on or before end and not resolved by the end of that day."""
    p = Params(con)
    end_of_day = f"{p(f.end)}::DATE + INTERVAL 1 DAY"
    return fact_aggregate(con, f, by, settings, p, "count(*) AS value", "ticket_facts", "t", None,
                           f"t.created_at < {end_of_day} AND (t.resolved_at IS NULL OR t.resolved_at >= {end_of_day})",
                           TICKET_COLUMNS, ticket_conditions(p, f))


def _quantile(column: str, q: float):
    def metric(con, f, by, settings) -> pd.DataFrame:
        return ticket_aggregate(con, f, by, settings, f"quantile_cont(t.{column}, {q}) AS value")
    return metric


median_response_hours = _quantile("response_hours", 0.5)
median_response_hours.__doc__ = "Median of first_response_at - created_at, in hours."
p90_response_hours = _quantile("response_hours", 0.9)
p90_response_hours.__doc__ = "90th percentile (continuous) of first_response_at - created_at, in hours."
median_resolution_hours = _quantile("resolution_hours", 0.5)
median_resolution_hours.__doc__ = "Median of resolved_at - created_at, in hours."
p90_resolution_hours = _quantile("resolution_hours", 0.9)
p90_resolution_hours.__doc__ = "90th percentile (continuous) of resolved_at - created_at, in hours."


def repair_arrival_minutes(con, f, by, settings) -> pd.DataFrame:
    """Mean of arrived_at - created_at over repair tickets, in minutes."""
    return ticket_aggregate(con, f, by, settings, "avg(t.arrival_minutes) AS value", "t.ticket_type = 'repair'")


def first_contact_resolution(con, f, by, settings) -> pd.DataFrame:
    """Resolved tickets with the first-contact flag true / resolved tickets with the flag."""
    return ratio(ticket_aggregate(
        con, f, by, settings,
        "count(*) FILTER (WHERE t.first_contact_resolution) AS numerator, "
        "count(t.first_contact_resolution) AS denominator", "t.resolved_at IS NOT NULL"))


def reopen_rate(con, f, by, settings) -> pd.DataFrame:
    """Reopened tickets / resolved tickets."""
    return ratio(ticket_aggregate(
        con, f, by, settings, "count(*) FILTER (WHERE t.reopened) AS numerator, count(*) AS denominator",
        "t.resolved_at IS NOT NULL"))


def sla_outcomes_sql(p: Params, f, settings, by: tuple[str, ...]) -> str:
    """One row per ticket created in the window with a target: its status (met / breached / pending) at the end of `end`."""
    sla = settings.sla
    as_of = f"({p(f.end)}::DATE + INTERVAL 1 DAY)"
    arrival = sla.repair_arrival_minutes
    join, tier, tier_condition = tier_join(p, f, settings, "t", "tier" in by)
    return f"""
        t AS (
            SELECT t.ticket_id, t.ticket_type, t.channel, t.category, t.created_at, t.created_date,
                   t.first_response_at, t.arrived_at, t.resolved_at,
                   t.region, t.service_center, t.industry, t.area, {tier} AS tier, t.voltage_kv
            FROM ticket_facts t {join}
            WHERE {between(p, 't.created_at', f)} AND {ticket_conditions(p, f)}
              AND {customer_conditions(p, f, 't')} AND {tier_condition}),
        connection AS (
            SELECT t.ticket_id, t.resolved_at,
                   c.workday_number + CASE WHEN t.voltage_kv <= {p(sla.low_voltage_max_kv)}
                       THEN {p(sla.connection_working_days_low_voltage)}
                       ELSE {p(sla.connection_working_days_high_voltage)} END AS target_workday
            FROM t JOIN calendar c ON c.day = t.created_date
            WHERE t.ticket_type = 'connection'),
        steps AS (
            SELECT ticket_id, arrived_at AS done_at, created_at + to_microseconds(CAST(1e6 * 60 * CASE area
                       WHEN 'rural' THEN {p(arrival.rural)} WHEN 'remote' THEN {p(arrival.remote)}
                       ELSE {p(arrival.urban)} END AS BIGINT)) AS deadline
            FROM t WHERE ticket_type = 'repair'
            UNION ALL
            SELECT ticket_id, first_response_at,
                   created_at + to_microseconds(CAST(3.6e9 * {p(sla.complaint_response_hours)} AS BIGINT))
            FROM t WHERE ticket_type = 'complaint'
            UNION ALL
            SELECT ticket_id, resolved_at, created_at + to_microseconds(CAST(3.6e9 * CASE ticket_type
                       WHEN 'complaint' THEN {p(sla.complaint_resolution_hours)}
                       WHEN 'inquiry' THEN {p(sla.inquiry_resolution_hours)}
                       ELSE {p(sla.billing_resolution_hours)} END AS BIGINT))
            FROM t WHERE ticket_type IN ('complaint', 'inquiry', 'billing')
            UNION ALL
            SELECT x.ticket_id, x.resolved_at, CAST(c.day AS TIMESTAMP) + INTERVAL 1 DAY
            FROM connection x JOIN calendar c ON c.workday_number = x.target_workday AND c.is_workday),
        step_status AS (
            SELECT ticket_id,
                   CASE WHEN done_at IS NOT NULL AND done_at < {as_of}
                            THEN CASE WHEN done_at <= deadline THEN 'met' ELSE 'breached' END
                        WHEN deadline < {as_of} THEN 'breached'
                        ELSE 'pending' END AS status
            FROM steps),
        outcome AS (
            SELECT ticket_id, CASE WHEN bool_or(status = 'breached') THEN 'breached'
                                   WHEN bool_and(status = 'met') THEN 'met' ELSE 'pending' END AS status
            FROM step_status GROUP BY ticket_id)"""


def sla_compliance(con, f, by, settings) -> pd.DataFrame:
    """Tickets created in the window that met their target / those whose outcome is known at the end of `end`."""
    p = Params(con)
    g = Grouping(tuple(by), "t.created_at", {})
    sql = f"""
        WITH {sla_outcomes_sql(p, f, settings, tuple(by))}
        SELECT {g.select}count(*) FILTER (WHERE o.status = 'met') AS numerator,
               count(*) FILTER (WHERE o.status IN ('met', 'breached')) AS denominator
        FROM t JOIN outcome o USING (ticket_id)
        {g.group} {g.order}"""
    return ratio(run(con, sql, p))
