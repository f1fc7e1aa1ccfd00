"""The query model built at the end of every load: facts joined to customer attributes, durations precomputed,
bills summed per month and customer attributes, tiers as of every month end, and China's working-day calendar
for SLA targets counted in working days."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from ingest.sources import ensure_source_columns
from ingest.workdays import working_day_calendar
from metrics import MODEL_VERSION
from metrics.customer import active_in
from metrics.inputs import fact_coverage_sql, loaded_inputs
from metrics.process import measured_sla_steps, sla_deadlines_sql, sla_settled_sql
from metrics.query import Params, computed_tiers_sql, period_end_sql
from metrics.retention import early_warning_inputs_sql
from metrics.settings import DEFAULT_BOUNDARIES, DEFAULT_SLA

CUSTOMER_ATTRIBUTES = ("c.customer_key, c.region, c.service_center, c.industry, c.area, c.voltage_kv, "
                       "c.tier AS given_tier")


def build_derived_model(con: duckdb.DuckDBPyConnection, change: ModelChange | None = None) -> dict[str, float]:
    """Build every table of the query model; returns the seconds each step took. With `change` (what an append
    touched), only the months from its earliest on are built again where it allows (`update_derived_model`)."""
    if change is not None and not change.whole:
        return update_derived_model(con, change)
    seconds: dict[str, float] = {}
    for name, step in (("source_columns", ensure_source_columns), ("fact_coverage", build_fact_coverage),
                       ("calendar", build_calendar), ("customer_facts", build_customer_facts),
                       ("ticket_facts", build_ticket_facts),
                       ("billing_facts", build_billing_facts), ("survey_facts", build_survey_facts),
                       ("tier_snapshots", build_tier_snapshots), ("ticket_month_tiers", add_ticket_month_tiers),
                       ("billing_monthly", build_billing_monthly), ("billing_yearly", build_billing_yearly),
                       ("ticket_rollups", build_ticket_rollups),
                       ("revenue_retention", build_revenue_retention),
                       ("visit_coverage", build_visit_coverage), ("customer_counts", build_customer_counts),
                       ("customer_base", build_customer_base),
                       ("early_warning_inputs", build_early_warning_inputs)):
        started = time.perf_counter()
        step(con)
        seconds[name] = time.perf_counter() - started
    con.execute("CREATE OR REPLACE TABLE model_info AS SELECT $version AS version, now() AS built_at",
                {"version": MODEL_VERSION})
    return seconds


def build_fact_coverage(con: duckdb.DuckDBPyConnection) -> None:
    """The first and last day each fact table's rows cover: a window outside them has no data, not zero."""
    con.execute(f"CREATE OR REPLACE TABLE fact_coverage AS {fact_coverage_sql()}")


def build_customer_facts(con: duckdb.DuckDBPyConnection) -> None:
    """Customers with an integer key (in customer_id order) that every derived table carries: joins on it are several
    times faster than on the text id."""
    con.execute("""
        CREATE OR REPLACE TABLE customer_facts AS
        SELECT CAST(row_number() OVER (ORDER BY customer_id) AS INTEGER) AS customer_key, *
        FROM customers ORDER BY customer_key""")


def build_ticket_facts(con: duckdb.DuckDBPyConnection) -> None:
    """Tickets with their customer's attributes, durations, SLA deadlines and when the SLA outcome becomes known
    (steps whose timestamp no source has are not governed)."""
    p = Params()
    sql = f"CREATE OR REPLACE TABLE ticket_facts AS {_ticket_facts_select(con, p)} ORDER BY t.created_at"
    con.execute(sql, p.used_in(sql))


def _ticket_facts_select(con: duckdb.DuckDBPyConnection, p: Params, where: str = "true") -> str:
    deadlines = sla_deadlines_sql(p, DEFAULT_SLA, measured_sla_steps(loaded_inputs(con)), "t")
    return f"""
        SELECT t.*, {sla_settled_sql("t")}
        FROM (SELECT t.*, {deadlines}
        FROM (
            SELECT t.*, {CUSTOMER_ATTRIBUTES},
                   CAST(t.created_at AS DATE) AS created_date,
                   date_diff('second', t.created_at, t.first_response_at) / 3600.0 AS response_hours,
                   date_diff('second', t.created_at, t.resolved_at) / 3600.0 AS resolution_hours,
                   date_diff('second', t.created_at, t.arrived_at) / 60.0 AS arrival_minutes
            FROM tickets t JOIN customer_facts c USING (customer_id) WHERE {where}) t) t"""


def _with_customer_attributes(table: str, facts: str, order_by: str) -> str:
    return f"""
        CREATE OR REPLACE TABLE {facts} AS
        SELECT x.*, {CUSTOMER_ATTRIBUTES}
        FROM {table} x JOIN customer_facts c USING (customer_id)
        ORDER BY x.{order_by}"""


def build_billing_facts(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    if since is None:
        con.execute(_with_customer_attributes("billing", "billing_facts", "period"))
        return
    con.execute("DELETE FROM billing_facts WHERE period >= $since", {"since": since})
    con.execute(f"""INSERT INTO billing_facts SELECT x.*, {CUSTOMER_ATTRIBUTES}
                    FROM billing x JOIN customer_facts c USING (customer_id) WHERE x.period >= $since
                    ORDER BY x.period""", {"since": since})


def build_survey_facts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_with_customer_attributes("surveys", "survey_facts", "surveyed_on"))


def build_billing_monthly(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """Bills summed per month, customer attributes and the customer's tier at that month's end (the tiers a breakdown
    by month uses, metrics.query.breakdown_tier_date)."""
    _create_or_update(con, "billing_monthly", "period", since, f"""
        SELECT b.period, b.region, b.service_center, b.industry, b.area, s.tier, sum(b.amount_billed) AS amount_billed,
               sum(b.amount_paid) AS amount_paid, sum(b.consumption_kwh) AS consumption_kwh, count(*) AS bills
        FROM billing_facts b
        LEFT JOIN tier_snapshots s
          ON s.customer_key = b.customer_key AND s.as_of = {period_end_sql('month', 'b.period')}
        WHERE {_since("b.period", since)}
        GROUP BY ALL ORDER BY b.period""")


# Each additive part of a ticket metric, per ticket; the ticket roll-ups hold their sums. Arrival times are in whole
# seconds, so the sums are exact.
TICKET_PARTS = {
    "tickets": "1",
    "resolved_first_contact":
        "CAST(t.resolved_at IS NOT NULL AND coalesce(t.first_contact_resolution, false) AS INTEGER)",
    "resolved_with_fcr_flag": "CAST(t.resolved_at IS NOT NULL AND t.first_contact_resolution IS NOT NULL AS INTEGER)",
    "resolved_reopened": "CAST(t.resolved_at IS NOT NULL AND coalesce(t.reopened, false) AS INTEGER)",
    "resolved_with_reopened_flag": "CAST(t.resolved_at IS NOT NULL AND t.reopened IS NOT NULL AS INTEGER)",
    "arrival_seconds": "date_diff('second', t.created_at, t.arrived_at)",
    "arrivals": "CAST(t.arrived_at IS NOT NULL AS INTEGER)",
    "substantiated": "CAST(coalesce(t.substantiated, false) AS INTEGER)",
    "with_substantiated_flag": "CAST(t.substantiated IS NOT NULL AS INTEGER)",
    "satisfaction_sum": "t.satisfaction",
    "satisfaction_scores": "CAST(t.satisfaction IS NOT NULL AS INTEGER)",
}
# What a ticket roll-up row is counted by besides its month and tier: the customer's attributes and the ticket's.
TICKET_KIND = ("region", "service_center", "industry", "area", "ticket_type", "channel", "category")


def build_ticket_rollups(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """Tickets counted per created month, customer attributes, ticket type, channel, category, the months the SLA
    outcome became known (met, breached) and a tier, with the parts of every additive ticket metric, in two tables:
    `ticket_monthly`, with the customer's tier at the end of the ticket's month, and `ticket_yearly`, for every month
    end with a tier snapshot (`as_of`), the twelve months up to it with the customer's tier as of that month end.
    Both are summed from one table of per-ticket parts whose seven text columns are numbered (`ticket_kinds`):
    grouping by one integer instead of seven texts makes each month end's sum about twice as fast."""
    kind_matches = " AND ".join(f"k.{c} IS NOT DISTINCT FROM t.{c}" for c in TICKET_KIND)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ticket_kinds AS
        SELECT row_number() OVER () AS kind, * FROM (
            SELECT DISTINCT {', '.join(TICKET_KIND)} FROM ticket_facts t
            WHERE {_since("t.created_at", since, months_before=11)})""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ticket_parts AS
        SELECT t.customer_key, k.kind, CAST(date_trunc('month', t.created_at) AS DATE) AS month,
               CAST(date_trunc('month', t.sla_met_after) AS DATE) AS sla_met_month,
               CAST(date_trunc('month', t.sla_breached_after) AS DATE) AS sla_breached_month,
               {', '.join(f'{sql} AS {name}' for name, sql in TICKET_PARTS.items())}
        FROM ticket_facts t JOIN ticket_kinds k ON {kind_matches}
        WHERE {_since("t.created_at", since, months_before=11)}
        ORDER BY month""")

    def summed(tier_join: str, where: str = "true") -> str:
        sums = ", ".join(f"CAST(sum(t.{name}) AS BIGINT) AS {name}" for name in TICKET_PARTS)
        return f"""
            SELECT g.month, {', '.join(f'k.{c}' for c in TICKET_KIND[:4])}, g.tier,
                   {', '.join(f'k.{c}' for c in TICKET_KIND[4:])}, g.sla_met_month, g.sla_breached_month,
                   {', '.join(f'g.{name}' for name in TICKET_PARTS)}
            FROM (SELECT t.month, t.kind, s.tier, t.sla_met_month, t.sla_breached_month, {sums}
                  FROM ticket_parts t LEFT JOIN tier_snapshots s ON s.customer_key = t.customer_key AND {tier_join}
                  WHERE {where} GROUP BY ALL) g
            JOIN ticket_kinds k USING (kind)"""

    _create_or_update(con, "ticket_monthly", "month", since,
                      summed(f"s.as_of = {period_end_sql('month', 't.month')}", _since("t.month", since))
                      + " ORDER BY month")
    if since is None:
        con.execute("CREATE OR REPLACE TABLE ticket_yearly AS "
                    "SELECT CAST(NULL AS DATE) AS as_of, * FROM ticket_monthly LIMIT 0")
    else:
        con.execute("DELETE FROM ticket_yearly WHERE as_of >= $since", {"since": since})
    month_ends = con.execute(f"SELECT as_of FROM tier_snapshot_dates WHERE {_since('as_of', since)} ORDER BY as_of")
    for (as_of,) in month_ends.fetchall():
        window = "t.month > $as_of::DATE - INTERVAL 12 MONTH AND t.month <= $as_of::DATE"
        con.execute(f"INSERT INTO ticket_yearly SELECT $as_of::DATE, * FROM "
                    f"({summed('s.as_of = $as_of::DATE', window)})", {"as_of": as_of})
    con.execute("DROP TABLE ticket_parts")
    con.execute("DROP TABLE ticket_kinds")


def build_calendar(con: duckdb.DuckDBPyConnection) -> None:
    """Working days from a year before the first ticket to a year after the last date any ticket mentions."""
    first, last = con.execute(
        "SELECT CAST(min(created_at) AS DATE), CAST(max(coalesce(resolved_at, created_at)) AS DATE) FROM tickets"
    ).fetchall()[0]
    today = dt.date.today()
    first = min(first or today, today) - dt.timedelta(days=366)
    last = max(last or today, today) + dt.timedelta(days=366)
    calendar = working_day_calendar(max(first, dt.date(2004, 1, 1)), last)
    con.register("_calendar", calendar)
    con.execute("CREATE OR REPLACE TABLE calendar AS SELECT * FROM _calendar ORDER BY day")
    con.unregister("_calendar")


def build_tier_snapshots(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """Tiers under the default boundaries as of every month end the bills cover, by the metric layer's own definition,
    and the list of those month ends."""
    if since is None:
        con.execute("""CREATE OR REPLACE TABLE tier_snapshots (as_of DATE, customer_id VARCHAR, customer_key INTEGER,
                       tier VARCHAR, trailing_revenue DOUBLE, share_before DOUBLE, month_revenue DOUBLE,
                       trailing_paid DOUBLE, trailing_kwh DOUBLE, kwh_3m DOUBLE, unpaid_3m DOUBLE)""")
    else:
        con.execute("DELETE FROM tier_snapshots WHERE as_of >= $since", {"since": since})
    month_ends = [row[0] for row in con.execute(
        "SELECT DISTINCT CAST(period + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) FROM billing ORDER BY 1").fetchall()]
    for as_of in month_ends:
        if since is not None and as_of < since:
            continue
        p = Params()
        sql = computed_tiers_sql(p, "$as_of::DATE", (p(DEFAULT_BOUNDARIES.vip_below), p(DEFAULT_BOUNDARIES.key_below)))
        con.execute(f"INSERT INTO tier_snapshots SELECT $as_of, * FROM ({sql})", {"as_of": as_of, **p.values})
    # Which month ends have a snapshot, asked before most queries: a scan of the snapshots' dates costs 20-40 ms.
    con.execute("CREATE OR REPLACE TABLE tier_snapshot_dates AS SELECT unnest($days::DATE[]) AS as_of",
                {"days": month_ends})


def add_ticket_month_tiers(con: duckdb.DuckDBPyConnection) -> None:  # whole builds; increments: _update_ticket_facts
    """ticket_facts' `month_tier`: each ticket's customer's tier as of the end of the month it was created in (the tier
    a breakdown by month uses, metrics.query.breakdown_tier_date), so exact medians by month with tiers need no join."""
    con.execute(f"""
        CREATE OR REPLACE TABLE ticket_facts AS
        SELECT t.*, s.tier AS month_tier
        FROM ticket_facts t
        LEFT JOIN tier_snapshots s
          ON s.customer_key = t.customer_key AND s.as_of = {period_end_sql('month', 't.created_at')}
        ORDER BY t.created_at""")


def build_billing_yearly(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """Bills over the twelve months ending on each month end, summed per customer attributes and the tier as of that
    month end (the snapshots hold each customer's trailing sums)."""
    _create_or_update(con, "billing_yearly", "as_of", since, f"""
        SELECT s.as_of, c.region, c.service_center, c.industry, c.area, s.tier,
               sum(s.trailing_revenue) AS amount_billed, sum(s.trailing_paid) AS amount_paid,
               sum(s.trailing_kwh) AS consumption_kwh
        FROM tier_snapshots s JOIN customer_facts c USING (customer_key)
        WHERE {_since("s.as_of", since)}
        GROUP BY ALL ORDER BY s.as_of""")


def build_revenue_retention(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """Revenue retention's parts for windows of one month and of twelve months ending on each month end, summed per
    customer attributes and the cohort's tier, as of the year-earlier window's end (metrics.customer.revenue_base_day):
    `base`, the customer's revenue in the same window a year earlier (only customers with base > 0), `current`, its
    revenue in the window, and `kept`, current capped at base. Both windows' revenue is in tier_snapshots
    (month_revenue, trailing_revenue), so one join pairs every month end with the one a year before."""
    _create_or_update(con, "revenue_retention", "as_of", since, f"""
        WITH pairs AS MATERIALIZED (
            SELECT n.as_of, c.region, c.service_center, c.industry, c.area, b.tier,
                   b.month_revenue AS base_1, n.month_revenue AS current_1,
                   b.trailing_revenue AS base_12, n.trailing_revenue AS current_12
            FROM tier_snapshots n
            JOIN tier_snapshots b ON b.customer_key = n.customer_key
                 AND b.as_of = CAST(n.as_of + INTERVAL 1 DAY - INTERVAL 12 MONTH - INTERVAL 1 DAY AS DATE)
            JOIN customer_facts c ON c.customer_key = n.customer_key
            WHERE (b.month_revenue > 0 OR b.trailing_revenue > 0) AND {_since("n.as_of", since)})
        SELECT 1 AS months, as_of, region, service_center, industry, area, tier, sum(base_1) AS base,
               sum(current_1) AS current, sum(least(current_1, base_1)) AS kept
        FROM pairs WHERE base_1 > 0 GROUP BY ALL
        UNION ALL
        SELECT 12, as_of, region, service_center, industry, area, tier, sum(base_12), sum(current_12),
               sum(least(current_12, base_12))
        FROM pairs WHERE base_12 > 0 GROUP BY ALL
        ORDER BY months, as_of""")


def build_visit_coverage(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """Visit coverage's parts for windows of one month and of twelve months ending on each month end, per customer
    attributes and month-end tier: VIP and key customers active on the month end, and those of them visited in the
    window (their latest visit month up to the month end falls inside it)."""
    _create_or_update(con, "visit_coverage", "as_of", since, f"""
        WITH visit_months AS (
            SELECT DISTINCT c.customer_key, CAST(date_trunc('month', v.visited_on) AS DATE) AS month
            FROM visits v JOIN customer_facts c USING (customer_id)),
        latest AS (
            SELECT s.customer_key, s.as_of, s.tier, v.month AS last_visit_month
            FROM (SELECT * FROM tier_snapshots WHERE tier IN ('VIP', 'key') AND {_since("as_of", since)}) s
            ASOF LEFT JOIN visit_months v ON v.customer_key = s.customer_key AND v.month <= s.as_of),
        r AS (
            SELECT w.months, l.*,
                   l.last_visit_month > CAST(l.as_of - INTERVAL (w.months) MONTH AS DATE) AS visited
            FROM latest l, (VALUES (1), (12)) w(months))
        SELECT r.months, r.as_of, c.region, c.service_center, c.industry, c.area, r.tier,
               count(*) AS customers, count(*) FILTER (WHERE r.visited) AS visited
        FROM r JOIN customer_facts c USING (customer_key)
        WHERE c.opened_on <= r.as_of AND (c.closed_on IS NULL OR c.closed_on >= r.as_of)
        GROUP BY ALL ORDER BY r.months, r.as_of""")


def build_customer_counts(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """Active customers for windows of one month and of twelve months ending on each month end (opened by its end, not
    closed before its first day), per customer attributes and the tier as of the month end."""
    _create_or_update(con, "customer_counts", "as_of", since, f"""
        WITH w AS (
            SELECT months, s.as_of, s.tier, s.customer_key,
                   CAST(s.as_of + INTERVAL 1 DAY - INTERVAL (months) MONTH AS DATE) AS first_day
            FROM tier_snapshots s, (VALUES (1), (12)) m(months) WHERE {_since("s.as_of", since)})
        SELECT w.months, w.as_of, c.region, c.service_center, c.industry, c.area, w.tier,
               count(*) FILTER (WHERE c.opened_on <= w.as_of
                                  AND (c.closed_on IS NULL OR c.closed_on >= w.first_day)) AS active
        FROM w JOIN customer_facts c USING (customer_key)
        GROUP BY ALL ORDER BY w.months, w.as_of""")


def build_customer_base(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """Logo retention's parts for windows of one month and of twelve months ending on each month end, per customer
    attributes and the cohort's tier, as of the day before the window (metrics.customer.logo_base_day): `base`, the
    customers active that day, and `retained`, those of them still active on the month end. The tier is null where
    that day's month has no snapshot (the metric then reads these rows only without tiers)."""
    _create_or_update(con, "customer_base", "as_of", since, f"""
        WITH w AS (
            SELECT months, d.as_of, CAST(d.as_of + INTERVAL 1 DAY - INTERVAL (months) MONTH - INTERVAL 1 DAY AS DATE)
                   AS day_before
            FROM tier_snapshot_dates d, (VALUES (1), (12)) m(months) WHERE {_since("d.as_of", since)}),
        cohort AS (
            SELECT w.months, w.as_of, w.day_before, c.customer_key, c.region, c.service_center, c.industry, c.area,
                   c.closed_on
            FROM w JOIN customer_facts c ON c.opened_on <= w.day_before
                                        AND (c.closed_on IS NULL OR c.closed_on >= w.day_before))
        SELECT k.months, k.as_of, k.region, k.service_center, k.industry, k.area, s.tier, count(*) AS base,
               count(*) FILTER (WHERE k.closed_on IS NULL OR k.closed_on >= k.as_of) AS retained
        FROM cohort k
        LEFT JOIN tier_snapshots s ON s.customer_key = k.customer_key AND s.as_of = k.day_before
        GROUP BY ALL ORDER BY k.months, k.as_of""")


def build_early_warning_inputs(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """What the early-warning rules look at, for the VIP and key accounts (default boundaries) active on every month
    end with a tier snapshot, by the metric layer's own query: the list on a month end is then one read."""
    if since is None:
        con.execute("""CREATE OR REPLACE TABLE early_warning_inputs (as_of DATE, customer_key INTEGER, tier VARCHAR,
                       revenue_12m DOUBLE, consumption_change DOUBLE, complaints_90d BIGINT, unpaid DOUBLE,
                       last_survey_overall INTEGER, callback_avg DOUBLE, last_visit DATE, capacity_events VARCHAR)""")
    else:
        con.execute("DELETE FROM early_warning_inputs WHERE as_of >= $since", {"since": since})
    for (as_of,) in con.execute(
            f"SELECT as_of FROM tier_snapshot_dates WHERE {_since('as_of', since)} ORDER BY as_of").fetchall():
        p = Params()
        sql = f"""
            INSERT INTO early_warning_inputs BY NAME
            WITH accounts AS (
                SELECT s.customer_key, s.customer_id, s.tier
                FROM tier_snapshots s JOIN customer_facts c USING (customer_key)
                WHERE s.as_of = {p(as_of)}::DATE AND s.tier IN ('VIP', 'key') AND {active_in(p, as_of, as_of, 'c')})
            SELECT {p(as_of)}::DATE AS as_of, a.tier, i.*
            FROM accounts a JOIN ({early_warning_inputs_sql(con, p, as_of)}) i USING (customer_key)
            ORDER BY i.customer_key"""
        con.execute(sql, p.used_in(sql))


# --- Increments (branch `load`, issue 17): an append rebuilds only the months it touched and what depends on them. ---

@dataclass(frozen=True)
class ModelChange:
    """What an append changed: `months`, the first days of the months of the rows it added, replaced or updated
    (old and new values of each row's date), per fact table; `customers`, whether it changed the customers table;
    `whole`, when the model must be built again whole whatever the months (see `update_derived_model`)."""

    months: dict[str, frozenset[dt.date]] = field(default_factory=dict)
    customers: bool = False
    whole: bool = False
    why_whole: str | None = None

    @property
    def since(self) -> dt.date | None:
        touched = [m for months in self.months.values() for m in months]
        return min(touched) if touched else None


def _since(column: str, since: dt.date | None, months_before: int = 0) -> str:
    """A filter keeping the rows from the first touched month on (all rows for a whole build). `since` is a date the
    load computed, never text from a file."""
    if since is None:
        return "true"
    first = (pd.Timestamp(since) - pd.DateOffset(months=months_before)).date()
    return f"{column} >= DATE '{first.isoformat()}'"


def _create_or_update(con: duckdb.DuckDBPyConnection, table: str, column: str, since: dt.date | None,
                      select: str) -> None:
    """A whole build creates the table from `select`; an increment deletes its rows from `since` on (by `column`)
    and inserts what `select` (filtered from `since` on by its caller) gives."""
    if since is None:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS {select}")
    else:
        con.execute(f"DELETE FROM {table} WHERE {column} >= $since", {"since": since})
        con.execute(f"INSERT INTO {table} {select}")


def _update_ticket_facts(con: duckdb.DuckDBPyConnection, since: dt.date) -> None:
    """ticket_facts from `since` on: every touched ticket was created from then on (old and new values), and the month
    tier of the tickets created from then on reads snapshots that were built again."""
    con.execute("DELETE FROM ticket_facts WHERE created_at >= $since", {"since": since})
    p = Params()
    sql = f"""INSERT INTO ticket_facts SELECT t.*, s.tier AS month_tier
              FROM ({_ticket_facts_select(con, p, _since("t.created_at", since))}) t
              LEFT JOIN tier_snapshots s ON s.customer_key = t.customer_key
                   AND s.as_of = {period_end_sql('month', 't.created_at')}
              ORDER BY t.created_at"""
    con.execute(sql, p.used_in(sql))


def update_derived_model(con: duckdb.DuckDBPyConnection, change: ModelChange) -> dict[str, float]:
    """The query model after an append that did not change the customers: every month-grained table from the earliest
    touched month (`change.since`) on, deleted and inserted again; the small whole tables (source columns, coverage,
    calendar, surveys with attributes, snapshot dates) built again whole.

    Why from the earliest month on and not only the touched months: a month's bills enter the tiers of the twelve month
    ends after it (trailing revenue), and tiers enter every roll-up keyed by tier; the twelve-month windows
    (ticket_yearly, revenue_retention's year-earlier base, early warning's 90 days and year) reach forward the same way.
    A change of the customers renumbers customer_key and changes the attributes every fact carries, so it builds
    everything (`ModelChange.whole`), as does a new source column (SLA steps measured, SPEC 5.7) or a model version
    change."""
    since = change.since
    seconds: dict[str, float] = {}

    def run(name, step, *args):
        started = time.perf_counter()
        step(con, *args)
        seconds[name] = time.perf_counter() - started

    run("source_columns", ensure_source_columns)
    run("fact_coverage", build_fact_coverage)
    run("calendar", build_calendar)
    if since is not None:
        run("billing_facts", build_billing_facts, since)
    if "surveys" in change.months:
        run("survey_facts", build_survey_facts)
    if since is not None:
        run("tier_snapshots", build_tier_snapshots, since)
        run("ticket_facts", _update_ticket_facts, since)
        run("billing_monthly", build_billing_monthly, since)
        run("billing_yearly", build_billing_yearly, since)
        run("ticket_rollups", build_ticket_rollups, since)
        run("revenue_retention", build_revenue_retention, since)
        run("visit_coverage", build_visit_coverage, since)
        run("customer_counts", build_customer_counts, since)
        run("customer_base", build_customer_base, since)
        run("early_warning_inputs", build_early_warning_inputs, since)
    con.execute("CREATE OR REPLACE TABLE model_info AS SELECT $version AS version, now() AS built_at",
                {"version": MODEL_VERSION})
    return seconds
