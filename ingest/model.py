"""The query model built at the end of every load: facts joined to customer attributes, durations precomputed,
bills summed per month and customer attributes, tiers as of every month end, and China's working-day calendar
for SLA targets counted in working days."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import duckdb

from ingest.sources import ensure_source_columns
from ingest.workdays import working_day_calendar
from metrics import MODEL_VERSION, model, rollups
from metrics.customer import active_in, churn_tier_day_sql, churn_tiers_sql
from metrics.inputs import fact_coverage_sql, loaded_inputs
from metrics.process import measured_sla_steps, sla_deadlines_sql, sla_settled_sql
from metrics.query import Params, computed_tiers_sql, month_end, period_end_sql
from metrics.retention import early_warning_inputs_sql
from metrics.service import duration_buckets_sql
from metrics.settings import DEFAULT_BOUNDARIES, DEFAULT_SLA

# Every fact carries its customer's attributes (metrics.model declares them), so filters need no join.
CUSTOMER_ATTRIBUTES = f"c.customer_key, {', '.join(f'c.{a}' for a in model.CUSTOMER_ATTRIBUTES)}, c.tier AS given_tier"


def build_derived_model(con: duckdb.DuckDBPyConnection, change: ModelChange | None = None) -> dict[str, float]:
    """Build every table of the query model; returns the seconds each step took. With `change` (what an append
    touched), only the months from its earliest on are built again where it allows (`update_derived_model`)."""
    if change is not None and not change.whole:
        return update_derived_model(con, change)
    seconds: dict[str, float] = {}
    for name, step in (("source_columns", ensure_source_columns), ("fact_coverage", build_fact_coverage),
                       ("calendar", build_calendar), ("customer_facts", build_customer_facts),
                       ("billing_facts", build_billing_facts), ("visit_facts", build_visit_facts),
                       ("tier_snapshots", build_tier_snapshots), ("churn_tiers", build_churn_tiers),
                       # after the snapshots: written once, with each ticket's month tier
                       ("ticket_facts", build_ticket_facts),
                       ("survey_facts", build_survey_facts_with_month_tiers),
                       ("cumulative_billing", add_cumulative_billing),
                       ("early_warning_inputs", build_early_warning_inputs)):
        started = time.perf_counter()
        step(con)
        seconds[name] = time.perf_counter() - started
    # The roll-ups, generated from the declaration in metrics.model (metrics.rollups.build).
    seconds.update(rollups.build(con))
    seconds.update(store_in_region_order(con))
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


def build_ticket_facts(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """Tickets with their customer's attributes, durations, SLA deadlines, when the SLA outcome becomes known (steps
    whose timestamp no source has are not governed) and `month_tier`, the customer's tier as of the end of the month
    the ticket was created in (the tier a breakdown by month uses, metrics.query.breakdown_tier_date: exact medians by
    month with tiers need no join with a month of snapshots, metrics.facts.month_tiers_answer). Written once, after
    the tier snapshots, a month of tickets at a time (stored in region order afterwards, store_in_region_order):
    each month's tickets join that month end's slice of the snapshots alone. One statement for all months joined
    every ticket, with all its columns, to 36 slices at once, and ran out of a 2 GiB memory limit at 3 M customers
    (30 M tickets, 108 M snapshot rows). With `since` (an append), the tickets created from then on are deleted and
    inserted again: every touched ticket was created from then on (old and new values), and the month tier of those
    tickets reads snapshots that were built again."""
    p = Params()
    if since is not None:
        con.execute("DELETE FROM ticket_facts WHERE created_at >= $since", {"since": since})
    else:
        empty = f"SELECT *, CAST(NULL AS VARCHAR) AS month_tier FROM ({_ticket_facts_select(con, p, 'false')})"
        con.execute(f"CREATE OR REPLACE TABLE ticket_facts AS {empty}", p.used_in(empty))
    # created_at is required (ingest.contracts): every ticket has a month
    of_months = (f"SELECT DISTINCT CAST(date_trunc('month', created_at) AS DATE) FROM tickets "
                 f"WHERE {_since(p, 'created_at', since)} ORDER BY 1")
    for (month,) in con.execute(of_months, p.used_in(of_months)).fetchall():
        m = Params()
        within = f"t.created_at >= {m(month)}::DATE AND t.created_at < {m(month)}::DATE + INTERVAL 1 MONTH"
        sql = f"""INSERT INTO ticket_facts
                  SELECT t.*, s.tier AS month_tier
                  FROM ({_ticket_facts_select(con, m, within)}) t
                  LEFT JOIN (SELECT customer_key, tier FROM tier_snapshots WHERE as_of = {m(month_end(month))}::DATE) s
                       ON s.customer_key = t.customer_key
                  ORDER BY t.created_at"""
        con.execute(sql, m.used_in(sql))


def _ticket_facts_select(con: duckdb.DuckDBPyConnection, p: Params, where: str = "true") -> str:
    deadlines = sla_deadlines_sql(p, DEFAULT_SLA, measured_sla_steps(loaded_inputs(con)), "t")
    return f"""
        SELECT t.*, {sla_settled_sql("t")}, {duration_buckets_sql(p, "t")}
        FROM (SELECT t.*, {deadlines}
        FROM (
            SELECT t.*, {CUSTOMER_ATTRIBUTES},
                   CAST(t.created_at AS DATE) AS created_date,
                   date_diff('second', t.created_at, t.first_response_at) / 3600.0 AS response_hours,
                   date_diff('second', t.created_at, t.resolved_at) / 3600.0 AS resolution_hours,
                   date_diff('second', t.created_at, t.first_response_at) AS response_seconds,
                   date_diff('second', t.created_at, t.resolved_at) AS resolution_seconds,
                   date_diff('second', t.created_at, t.arrived_at) / 60.0 AS arrival_minutes
            FROM tickets t JOIN customer_facts c USING (customer_id) WHERE {where}) t) t"""


def _with_customer_attributes(table: str, facts: str, order_by: str) -> str:
    return f"""
        CREATE OR REPLACE TABLE {facts} AS
        SELECT x.*, {CUSTOMER_ATTRIBUTES}
        FROM {table} x JOIN customer_facts c USING (customer_id)
        ORDER BY x.{order_by}"""


def _dated_facts(con: duckdb.DuckDBPyConnection, source: str, facts: str, date_column: str,
                 since: dt.date | None) -> None:
    """`facts`: the rows of `source` with their customer's attributes, in `date_column` order (readers take a run of
    dates by its zone maps); with `since` (an append), the rows from then on deleted and inserted again. The rows are
    put in order before the join, so the sort moves the source's columns only (bills: a fifth faster at 1 M). The
    order holds because the hash join streams its probe side, the source, which outnumbers the customers (the build
    side); at thread boundaries a few neighbouring rows can swap (one pair in 3.35 M bills at 100 k), which widens a
    zone map by a row and changes no number. The names are this module's own, never a user's."""
    if since is None:
        con.execute(f"""CREATE OR REPLACE TABLE {facts} AS
                        SELECT x.*, {CUSTOMER_ATTRIBUTES}
                        FROM (SELECT * FROM {source} ORDER BY {date_column}) x
                        JOIN customer_facts c USING (customer_id)""")
        return
    con.execute(f"DELETE FROM {facts} WHERE {date_column} >= $since", {"since": since})
    con.execute(f"""INSERT INTO {facts} SELECT x.*, {CUSTOMER_ATTRIBUTES}
                    FROM {source} x JOIN customer_facts c USING (customer_id) WHERE x.{date_column} >= $since
                    ORDER BY x.{date_column}""", {"since": since})


def build_billing_facts(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """Bills with their customer's attributes, in period order."""
    _dated_facts(con, "billing", "billing_facts", "period", since)


def build_visit_facts(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """Visits with their customer's attributes and integer key (stored in region, then visited_on order afterwards,
    store_in_region_order): visit coverage over a window reads its run of row groups and matches customers by key,
    not by text id (about 0.10 s to 0.06 s a window at 1 M customers, 3.8 M visits)."""
    _dated_facts(con, "visits", "visit_facts", "visited_on", since)


def build_survey_facts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_with_customer_attributes("surveys", "survey_facts", "surveyed_on"))


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
    and the list of those month ends; with each customer's running total of bills up to the month end
    (`cumulative_billed`, metrics.facts.window_revenue_sql): the previous month end's plus this month's revenue
    (every customer is in every snapshot, and every month with a bill has one)."""
    if since is None:
        con.execute("""CREATE OR REPLACE TABLE tier_snapshots (as_of DATE, customer_id VARCHAR, customer_key INTEGER,
                       tier VARCHAR, trailing_revenue DOUBLE, share_before DOUBLE, month_revenue DOUBLE,
                       trailing_paid DOUBLE, trailing_kwh DOUBLE, kwh_3m DOUBLE, unpaid_3m DOUBLE,
                       cumulative_billed DOUBLE)""")
    else:
        con.execute("DELETE FROM tier_snapshots WHERE as_of >= $since", {"since": since})
    month_ends = [row[0] for row in con.execute(
        "SELECT DISTINCT CAST(period + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) FROM billing ORDER BY 1").fetchall()]
    previous = None
    for as_of in month_ends:
        if since is not None and as_of < since:
            previous = as_of
            continue
        p = Params()
        sql = computed_tiers_sql(p, "$as_of::DATE", (p(DEFAULT_BOUNDARIES.vip_below), p(DEFAULT_BOUNDARIES.key_below)))
        con.execute(f"""INSERT INTO tier_snapshots BY NAME
                        SELECT $as_of AS as_of, t.*,
                               t.month_revenue + coalesce(s.cumulative_billed, 0) AS cumulative_billed
                        FROM ({sql}) t
                        LEFT JOIN (SELECT customer_key, cumulative_billed FROM tier_snapshots WHERE as_of = $previous) s
                             ON s.customer_key = t.customer_key
                        ORDER BY t.customer_key""",
                    {"as_of": as_of, "previous": previous, **p.values})
        previous = as_of
    # Which month ends have a snapshot, asked before most queries: a scan of the snapshots' dates costs 20-40 ms.
    con.execute("CREATE OR REPLACE TABLE tier_snapshot_dates AS SELECT unnest($days::DATE[]) AS as_of",
                {"days": month_ends})


def build_churn_tiers(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """churn_tiers: each closed account's tier as of the last day of the month before it closed
    (metrics.customer.churn_tiers_sql); from `since` on, those of the accounts whose day's snapshot was built again."""
    if since is None:
        con.execute(f"CREATE OR REPLACE TABLE churn_tiers AS {churn_tiers_sql()} ORDER BY c.customer_key")
        return
    day = churn_tier_day_sql("c.closed_on")
    con.execute(f"""DELETE FROM churn_tiers WHERE customer_key IN
                    (SELECT c.customer_key FROM customer_facts c WHERE {day} >= $since)""", {"since": since})
    con.execute(f"INSERT INTO churn_tiers {churn_tiers_sql('$since')} ORDER BY c.customer_key", {"since": since})


def _add_month_tiers(con: duckdb.DuckDBPyConnection, table: str, time_column: str) -> None:
    """`table`'s `month_tier`: each row's customer's tier as of the end of the month of `time_column` (the tier a
    breakdown by month uses, metrics.query.breakdown_tier_date), so figures by month with tiers need no join with a
    month of snapshots (metrics.facts.month_tiers_answer). `table` and `time_column` are this module's own names."""
    con.execute(f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT t.*, s.tier AS month_tier
        FROM {table} t
        LEFT JOIN tier_snapshots s
          ON s.customer_key = t.customer_key AND s.as_of = {period_end_sql('month', f't.{time_column}')}
        ORDER BY t.{time_column}""")


def build_survey_facts_with_month_tiers(con: duckdb.DuckDBPyConnection) -> None:
    """survey_facts with its `month_tier`, after the tier snapshots (CSAT and NPS by month with a tier filter: the
    scorecard's sparklines). Surveys are few (half a million at 1 M customers): an append builds them whole again
    once the snapshots from its first month on are new."""
    build_survey_facts(con)
    _add_month_tiers(con, "survey_facts", "surveyed_on")


def add_cumulative_billing(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """`cumulative_billing`: whether differences of the running totals in tier_snapshots are exact revenue (no bill
    below zero) and the first month end."""
    con.execute("""CREATE OR REPLACE TABLE cumulative_billing AS
                   SELECT coalesce(min(amount_billed) >= 0, true) AS exact,
                          (SELECT min(as_of) FROM tier_snapshot_dates) AS first_as_of FROM billing""")


def build_early_warning_inputs(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> None:
    """What the early-warning rules look at, as of every month end with a tier snapshot, for the VIP and key accounts
    (default boundaries) then that were active on some day of its month (`open_at_end`: still active on the month
    end), by the metric layer's own query: the list on a month end is then one read, and on any other day its month
    end's rows and the days between (metrics.retention.early_warning_day_sql, which also reads the callback scores'
    sum and count and the last visit before the month)."""
    if since is None:
        con.execute("""CREATE OR REPLACE TABLE early_warning_inputs (as_of DATE, customer_key INTEGER, tier VARCHAR,
                       revenue_12m DOUBLE, consumption_change DOUBLE, complaints_90d BIGINT, unpaid DOUBLE,
                       last_survey_overall INTEGER, callback_avg DOUBLE, last_visit DATE, capacity_events VARCHAR,
                       callback_sum BIGINT, callback_count BIGINT, visit_before_month DATE,
                       open_at_end BOOLEAN)""")
    else:
        con.execute("DELETE FROM early_warning_inputs WHERE as_of >= $since", {"since": since})
    dates = Params()
    for (as_of,) in con.execute(f"SELECT as_of FROM tier_snapshot_dates WHERE {_since(dates, 'as_of', since)} "
                                "ORDER BY as_of", dates.values).fetchall():
        p = Params()
        sql = f"""
            INSERT INTO early_warning_inputs BY NAME
            WITH accounts AS (
                SELECT s.customer_key, s.customer_id, s.tier, {active_in(p, as_of, as_of, 'c')} AS open_at_end
                FROM tier_snapshots s JOIN customer_facts c USING (customer_key)
                WHERE s.as_of = {p(as_of)}::DATE AND s.tier IN ('VIP', 'key')
                  AND {active_in(p, as_of.replace(day=1), as_of, 'c')})
            SELECT {p(as_of)}::DATE AS as_of, a.tier, a.open_at_end, i.*
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


def store_in_region_order(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Each of metrics.model.REGION_ORDERED_TABLES written again in order of region, then its column, after a build
    or an append (whose rows went in at the end); the seconds each took. The rows and their values are the
    same; only where they lie changes. The names are the declaration's own, never a user's."""
    seconds = {}
    for table, within in model.REGION_ORDERED_TABLES:
        started = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table} ORDER BY region, {within}")
        seconds[f"{table} in region order"] = time.perf_counter() - started
    return seconds


def _since(p: Params, column: str, since: dt.date | None) -> str:
    """A filter keeping the rows from the first touched month on (all rows for a whole build)."""
    return "true" if since is None else f"{column} >= {p(since)}::DATE"


def update_derived_model(con: duckdb.DuckDBPyConnection, change: ModelChange) -> dict[str, float]:
    """The query model after an append that did not change the customers: every month-grained table from the earliest
    touched month (`change.since`) on, deleted and inserted again; the small whole tables (source columns, coverage,
    calendar, surveys with attributes, snapshot dates) built again whole.

    Why from the earliest month on and not only the touched months: a month's bills enter the tiers of the twelve month
    ends after it (trailing revenue), and tiers enter every roll-up keyed by tier; the twelve-month windows
    (the roll-ups keep up to 36 months before each month end; early warning's 90 days and year) reach forward the same
    way.
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
        run("visit_facts", build_visit_facts, since)
        run("tier_snapshots", build_tier_snapshots, since)
        run("churn_tiers", build_churn_tiers, since)
        run("ticket_facts", build_ticket_facts, since)
        run("survey_facts", build_survey_facts_with_month_tiers)  # new surveys, or new tiers for the surveys there are
        run("cumulative_billing", add_cumulative_billing, since)
        # The roll-ups' slices from that month end on, through the declaration's own build (metrics.rollups).
        seconds.update(rollups.build(con, months=[since]))
        run("early_warning_inputs", build_early_warning_inputs, since)
        seconds.update(store_in_region_order(con))
    con.execute("CREATE OR REPLACE TABLE model_info AS SELECT $version AS version, now() AS built_at",
                {"version": MODEL_VERSION})
    return seconds
