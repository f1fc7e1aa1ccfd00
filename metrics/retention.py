"""Retention views: cohort retention, churn reasons, the early-warning list (SPEC 5.7), survey dimensions."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from metrics.customer import active_in, churn_tier_join
from metrics.filters import Filters
from metrics.inputs import loaded_inputs
from metrics.query import (
    Params,
    between,
    breakdown_tier_date,
    customer_conditions,
    frame_of,
    month_end,
    periods,
    run,
    scope_sql,
    snapshot_month_ends,
    tier_condition,
    tier_join,
)
from metrics.rollups import month_end_column
from metrics.settings import DEFAULT_BOUNDARIES, DEFAULT_SETTINGS, MetricSettings

SURVEY_DIMENSIONS = ("overall", "timeliness", "reliability", "communication", "convenience")


def cohort_retention(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Customers opened in each quarter of the window, and the share still active at the end of each later quarter;
    a cohort's tier (filter) is its customers' tier at the end of the quarter they opened in (the matrix's first
    column). No rows when no source has closed_on: every account would read as kept."""
    quarters = periods(f.start, f.end, "quarter")
    ends = pd.DataFrame({"quarter_no": range(len(quarters)), "quarter_end": [end for _, _, end in quarters],
                         "quarter": [label for label, _, _ in quarters]})
    p = Params(con)
    cursor = con.cursor()
    cursor.register("quarter_ends", ends)
    sql = f"""
        WITH scope AS ({_cohort_scope_sql(p, f, settings, [end for _, _, end in quarters])}),
        cohort AS (SELECT s.customer_id, s.closed_on, q.quarter_no AS cohort_no, q.quarter AS cohort
                   FROM scope s JOIN quarter_ends q
                     ON CAST(date_trunc('quarter', s.opened_on) AS DATE) = q.quarter
                   WHERE {between(p, 's.opened_on', f)} AND {p("customers.closed_on" in loaded_inputs(con).present)})
        SELECT c.cohort, e.quarter_no - c.cohort_no AS quarters_since_open,
               count(*) AS cohort_customers,
               count(*) FILTER (WHERE c.closed_on IS NULL OR c.closed_on >= e.quarter_end) AS still_active
        FROM cohort c JOIN quarter_ends e ON e.quarter_no >= c.cohort_no
        GROUP BY ALL ORDER BY ALL"""
    with cursor:
        frame = frame_of(cursor.sql(sql, params=p.used_in(sql)))
    frame["cohort"] = pd.to_datetime(frame["cohort"]).dt.date
    frame["retention"] = frame["still_active"] / frame["cohort_customers"]
    return frame


def _cohort_scope_sql(p: Params, f: Filters, settings: MetricSettings, quarter_ends: list[dt.date]) -> str:
    """The customers the filters select for the cohorts, each with its tier at the end of the quarter it opened in
    (clipped to the window's end). With a tier filter and every such quarter end's snapshot stored, the tiers are
    read from the customer's one row of month-end tiers (customer_month_ends, the snapshots' tiers) for the customers
    opened in the window, instead of joining every month end's snapshot in the window with every customer."""
    months = {month_end(day) for day in quarter_ends}
    if (f.tiers is None or not settings.rollups or settings.tiers != DEFAULT_BOUNDARIES
            or snapshot_month_ends(p.con, sorted(months)) != months):
        return scope_sql(p, f, settings, with_tier=False, date=breakdown_tier_date(p, f, ("quarter",), "c.opened_on"))
    # opened_on is in the window: the first quarter end on or after it is its quarter's
    tier = "CASE " + " ".join(f"WHEN c.opened_on <= {p(day)}::DATE THEN m.{month_end_column('tier', month_end(day))}"
                              for day in sorted(quarter_ends)) + " END"
    return f"""
        SELECT c.customer_id, c.customer_key, c.opened_on, c.closed_on, {tier} AS tier
        FROM customer_facts c JOIN customer_month_ends m USING (customer_key)
        WHERE {between(p, 'c.opened_on', f)} AND {customer_conditions(p, f, 'c')} AND {tier_condition(p, f, tier)}"""


def churn_reasons(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Customers closed in the window by the closing event and its reason ('no reason recorded' when none), and the key
    accounts (VIP and key) among them; tiers (and the tier filter) as of the last day of the month before each closed,
    as for churned_customers."""
    p = Params(con)
    join, tier = churn_tier_join(p, f, settings)
    sql = f"""
        WITH closed AS (SELECT c.customer_id, {tier} AS tier FROM customer_facts c {join}
                        WHERE {between(p, 'c.closed_on', f)} AND {customer_conditions(p, f, 'c')}
                          AND {tier_condition(p, f, tier)}),
        closing AS (SELECT customer_id, arg_max(event, event_date) AS event, arg_max(reason, event_date) AS reason
                    FROM account_events WHERE event IN ('close', 'switch_out') GROUP BY customer_id)
        SELECT coalesce(closing.event, 'close') AS event,
               coalesce(nullif(closing.reason, ''), 'no reason recorded') AS reason,
               count(*) AS customers, count(*) FILTER (WHERE s.tier IN ('VIP', 'key')) AS key_accounts
        FROM closed s LEFT JOIN closing USING (customer_id)
        GROUP BY ALL ORDER BY customers DESC, event, reason"""
    return run(con, sql, p)


def _ticket_inputs_sql(p: Params, accounts: str | None, after: str, upto: str, complaints_after: str | None) -> str:
    """customer_key, complaints (created after `complaints_after`, None: none counted), callback_sum and
    callback_count (the callback scores given), over the tickets created after the day `after` up to the day `upto`
    (SQL date expressions) of the accounts in relation `accounts` (None: of every customer)."""
    complaints = ("0" if complaints_after is None else
                  f"count(*) FILTER (WHERE t.ticket_type = 'complaint' AND t.created_date > {complaints_after})")
    return f"""
        SELECT t.customer_key, {complaints} AS complaints, CAST(sum(t.satisfaction) AS BIGINT) AS callback_sum,
               count(t.satisfaction) AS callback_count
        FROM ticket_facts t {f'JOIN {accounts} a USING (customer_key)' if accounts else ''}
        WHERE t.created_date > {after} AND t.created_date <= {upto} GROUP BY ALL"""


def _survey_input_sql(e: str, accounts: str) -> str:
    """customer_key, last_survey_overall: the overall score of each account's last survey in the year up to `e` (of two
    on its last day, the one with the greater survey_id: without it the pick among them was arbitrary)."""
    return f"""
        SELECT v.customer_key, arg_max(v.overall, (v.surveyed_on, v.survey_id)) AS last_survey_overall
        FROM survey_facts v JOIN {accounts} a USING (customer_key)
        WHERE v.surveyed_on > {e}::DATE - 365 AND v.surveyed_on <= {e}::DATE GROUP BY ALL"""


def _visit_input_sql(e: str, accounts: str, since: str | None = None) -> str:
    """customer_key, last_visit: each account's last visit up to `e` (after the day `since` only, when given), and
    visit_before_month, its last visit before the first day of e's month. From visit_facts by key (stored by region,
    then date: a few days' range reads its row groups), not the visits by text id (3.8 M rows read at 1 M)."""
    return f"""
        SELECT a.customer_key, max(v.visited_on) AS last_visit,
               max(v.visited_on) FILTER (WHERE v.visited_on < date_trunc('month', {e}::DATE)) AS visit_before_month
        FROM visit_facts v JOIN {accounts} a USING (customer_key)
        WHERE v.visited_on <= {e}::DATE {f'AND v.visited_on > {since}' if since else ''} GROUP BY ALL"""


def _event_input_sql(e: str, accounts: str) -> str:
    """customer_key, capacity_events: the capacity reductions and suspensions of each account in the year up to `e`, in
    alphabetical order (without it, in any order)."""
    return f"""
        SELECT a.customer_key, string_agg(DISTINCT ev.event, ', ' ORDER BY ev.event) AS capacity_events
        FROM account_events ev JOIN {accounts} a USING (customer_id)
        WHERE ev.event IN ('capacity_reduction', 'suspension')
          AND ev.event_date > {e}::DATE - 365 AND ev.event_date <= {e}::DATE GROUP BY ALL"""


def _callback_avg(total: str, scores: str) -> str:
    """The mean callback score from its sum and count: DuckDB's avg of an integer column is exactly this division."""
    return f"CAST({total} AS DOUBLE) / nullif({scores}, 0)"


def early_warning_inputs_sql(con: duckdb.DuckDBPyConnection | None, p: Params, end: dt.date,
                             settings: MetricSettings = DEFAULT_SETTINGS) -> str:
    """SELECT customer_key and what the early-warning rules (SPEC 5.7) look at, as of `end`, for the accounts in a
    relation named `accounts` (customer_key, customer_id): revenue over 12 months, kWh over the last 3 months against
    the same 3 months a year earlier, complaints in 90 days, the amount unpaid over 3 months, the last survey's overall
    score and the mean callback score over a year (with its sum and count: callback_sum, callback_count), the last
    visit (and the last before end's month: visit_before_month), and capacity events over a year. Also run at load
    time to store them for the VIP and key accounts of every month end (`early_warning_inputs`). Every part reads the
    accounts' rows only."""
    e = p(end)
    month, year_before = month_end(end), (pd.Timestamp(end) - pd.DateOffset(years=1) + pd.offsets.MonthEnd(0)).date()
    if settings.rollups and snapshot_month_ends(con, [month, year_before]) == {month, year_before}:
        # The trailing sums stored in the tier snapshots at load (1 M rows read, not 15 months of bills). Bills are
        # monthly (period: a month's first day), so the bills of the 3, 12 and 15 months up to any day are those up to
        # its month's end: the snapshot of that month end answers every day of the month.
        recent = f"""
            SELECT n.customer_key, n.kwh_3m, y.kwh_3m AS kwh_3m_year_before, n.trailing_revenue AS revenue_12m,
                   n.unpaid_3m AS unpaid
            FROM tier_snapshots n JOIN accounts USING (customer_key)
            LEFT JOIN tier_snapshots y ON y.customer_key = n.customer_key AND y.as_of = {p(year_before)}::DATE
            WHERE n.as_of = {p(month)}::DATE"""
    else:
        recent = f"""
            SELECT b.customer_key,
                   sum(b.consumption_kwh) FILTER (WHERE b.period > {e}::DATE - INTERVAL 3 MONTH) AS kwh_3m,
                   sum(b.consumption_kwh) FILTER (WHERE b.period > {e}::DATE - INTERVAL 15 MONTH
                                                  AND b.period <= {e}::DATE - INTERVAL 12 MONTH) AS kwh_3m_year_before,
                   sum(b.amount_billed) FILTER (WHERE b.period > {e}::DATE - INTERVAL 12 MONTH) AS revenue_12m,
                   sum(b.amount_billed - b.amount_paid) FILTER (WHERE b.period > {e}::DATE - INTERVAL 3 MONTH)
                       AS unpaid
            FROM billing_facts b JOIN accounts USING (customer_key)
            WHERE b.period <= {e}::DATE AND b.period > {e}::DATE - INTERVAL 15 MONTH GROUP BY ALL"""
    return f"""
        WITH recent AS ({recent}),
        tickets_ AS ({_ticket_inputs_sql(p, 'accounts', f'{e}::DATE - 365', f'{e}::DATE', f'{e}::DATE - 90')}),
        scores AS ({_survey_input_sql(e, 'accounts')}),
        visits_ AS ({_visit_input_sql(e, 'accounts')}),
        events AS ({_event_input_sql(e, 'accounts')})
        SELECT a.customer_key, coalesce(r.revenue_12m, 0) AS revenue_12m,
               r.kwh_3m / nullif(r.kwh_3m_year_before, 0) - 1 AS consumption_change,
               coalesce(t.complaints, 0) AS complaints_90d, coalesce(r.unpaid, 0) AS unpaid,
               sc.last_survey_overall, {_callback_avg('t.callback_sum', 't.callback_count')} AS callback_avg,
               v.last_visit, e.capacity_events,
               coalesce(t.callback_sum, 0) AS callback_sum, coalesce(t.callback_count, 0) AS callback_count,
               v.visit_before_month
        FROM accounts a LEFT JOIN recent r USING (customer_key) LEFT JOIN tickets_ t USING (customer_key)
        LEFT JOIN scores sc USING (customer_key) LEFT JOIN visits_ v USING (customer_key)
        LEFT JOIN events e USING (customer_key)"""


def early_warning_day_sql(p: Params, f: Filters) -> str:
    """customer_key, tier and the early-warning inputs as of f.end, a day before its month's end, from the inputs stored
    at that month end (early_warning_inputs, default boundaries) and the days between, exactly as
    early_warning_inputs_sql on the day:
    - the accounts: VIP and key at the month end (a day's tier is its month end's: bills are monthly) and active on the
      day; the stored rows hold every VIP and key account active on some day of the month;
    - bills (revenue, consumption, unpaid): a day's trailing months of bills are its month end's, stored;
    - complaints in 90 days and the callback scores' sum and count over a year: the month end's, less the tickets of
      the days after the day, plus those of the days its window reaches back before the month end's;
    - the last visit: the month end's when it is on or before the day, else the last from the month's first day up to
      the day or, with none, the last before the month (stored);
    - the last survey and the capacity events of the year up to the day: read as on any day (small tables)."""
    day, end = p(f.end), p(month_end(f.end))
    accounts = f"""
        SELECT i.*, c.customer_id FROM early_warning_inputs i JOIN customer_facts c USING (customer_key)
        WHERE i.as_of = {end}::DATE AND {active_in(p, f.end, f.end, 'c')}
          AND {tier_condition(p, f, 'i.tier')} AND {customer_conditions(p, f, 'c')}"""
    # The days after the day (taken off) and the days its 90-day and one-year windows reach before the month end's
    # (added): under 31 days each, disjoint, so the three ranges are read apart (each prunes the sorted tickets).
    # Every customer's: a few days of tickets group faster than they join the accounts first.
    later = _ticket_inputs_sql(p, None, f"{day}::DATE", f"{end}::DATE", f"{day}::DATE")
    back_90 = _ticket_inputs_sql(p, None, f"{day}::DATE - 90", f"{end}::DATE - 90", f"{day}::DATE - 90")
    back_year = _ticket_inputs_sql(p, None, f"{day}::DATE - 365", f"{end}::DATE - 365", None)
    # the three ranges' changes summed per customer first, so the accounts join them once
    changes = f"""
        SELECT customer_key, sum(complaints) AS complaints, sum(callback_sum) AS callback_sum,
               sum(callback_count) AS callback_count
        FROM (SELECT customer_key, -complaints AS complaints, -callback_sum AS callback_sum,
                     -callback_count AS callback_count FROM ({later})
              UNION ALL SELECT customer_key, complaints, 0, 0 FROM ({back_90})
              UNION ALL SELECT customer_key, 0, callback_sum, callback_count FROM ({back_year}))
        GROUP BY customer_key"""
    complaints = "s.complaints_90d + coalesce(l.complaints, 0)"
    total = "s.callback_sum + coalesce(l.callback_sum, 0)"
    scores = "s.callback_count + coalesce(l.callback_count, 0)"
    return f"""
        WITH stored AS MATERIALIZED ({accounts}),
        changes AS ({changes}),
        revisited AS (SELECT customer_key, customer_id FROM stored WHERE last_visit > {day}::DATE),
        day_visits AS ({_visit_input_sql(day, 'revisited', f"date_trunc('month', {day}::DATE) - INTERVAL 1 DAY")}),
        day_scores AS ({_survey_input_sql(day, 'stored')}),
        day_events AS ({_event_input_sql(day, 'stored')})
        SELECT s.customer_key, s.tier, s.revenue_12m, s.consumption_change,
               CAST({complaints} AS BIGINT) AS complaints_90d, s.unpaid, sc.last_survey_overall,
               {_callback_avg(total, scores)} AS callback_avg,
               CASE WHEN s.last_visit > {day}::DATE THEN coalesce(v.last_visit, s.visit_before_month)
                    ELSE s.last_visit END AS last_visit,
               e.capacity_events
        FROM stored s LEFT JOIN changes l USING (customer_key) LEFT JOIN day_visits v USING (customer_key)
        LEFT JOIN day_scores sc USING (customer_key) LEFT JOIN day_events e USING (customer_key)"""


EARLY_WARNING_INPUTS = ("revenue_12m", "consumption_change", "complaints_90d", "unpaid", "last_survey_overall",
                        "callback_avg", "last_visit", "capacity_events")


def early_warning(con, f: Filters, settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """VIP and key accounts active at `end` with the reasons that put them at risk (SPEC 5.7)."""
    p = Params(con)
    end = p(f.end)
    stored = (snapshot_month_ends(con, [month_end(f.end)])
              if settings.rollups and settings.tiers == DEFAULT_BOUNDARIES else set())
    if f.end in stored:
        # A month end: the accounts (tiers under the default boundaries) and their inputs were stored at load.
        inputs = f"""
            SELECT i.customer_key, i.tier, {', '.join(f'i.{name}' for name in EARLY_WARNING_INPUTS)}
            FROM early_warning_inputs i
            WHERE i.as_of = {end}::DATE AND i.open_at_end AND {tier_condition(p, f, 'i.tier')}"""
        customers = customer_conditions(p, f, "c")
    elif month_end(f.end) in stored:
        # A day inside a month: its month end's stored inputs and the days between (early_warning_day_sql).
        inputs = early_warning_day_sql(p, f)
        customers = "true"  # applied to the accounts
    else:
        inputs = f"""
            WITH scope AS ({scope_sql(p, f, settings)}),
            accounts AS MATERIALIZED (SELECT s.customer_key, s.customer_id, s.tier FROM scope s
                         WHERE s.tier IN ('VIP', 'key') AND {active_in(p, f.end, f.end)})
            SELECT a.customer_key, a.tier, {', '.join(f'i.{name}' for name in EARLY_WARNING_INPUTS)}
            FROM accounts a JOIN ({early_warning_inputs_sql(con, p, f.end, settings)}) i USING (customer_key)"""
        customers = "true"  # the scope applied them
    flagged = f"""
        SELECT *, coalesce(consumption_change <= -0.20, false) AS consumption_down,
               complaints_90d >= 2 AS repeat_complaints, unpaid > 0.005 AS unpaid_bills,
               coalesce(last_survey_overall <= 2, false) OR coalesce(callback_avg <= 2.5, false) AS low_satisfaction,
               {p("visits" in loaded_inputs(con).present)}  -- no visits loaded: unknown, not "no visit"
                   AND (last_visit IS NULL OR last_visit < {end}::DATE - 180) AS no_recent_visit,
               capacity_events IS NOT NULL AS capacity_reduced
        FROM ({inputs})"""
    # The readable reasons, in English for the API and downloads (dashboard.labels renders them in Chinese).
    reasons = """concat_ws('; ',
        CASE WHEN consumption_down THEN format('consumption {:+.0f}% vs a year earlier (last 3 months)',
                                               consumption_change * 100) END,
        CASE WHEN repeat_complaints THEN format('{} complaints in 90 days', complaints_90d) END,
        CASE WHEN unpaid_bills THEN format('unpaid bills ¥{:,.0f} (last 3 months)', unpaid) END,
        CASE WHEN low_satisfaction THEN CASE WHEN last_survey_overall <= 2
             THEN format('low satisfaction (survey {}/5)', last_survey_overall)
             ELSE format('low satisfaction (callbacks {:.1f}/5)', callback_avg) END END,
        CASE WHEN no_recent_visit THEN CASE WHEN last_visit IS NULL THEN 'no visit in 180 days'
             ELSE 'no visit since ' || strftime(last_visit, '%Y-%m-%d') END END,
        CASE WHEN capacity_reduced THEN replace(capacity_events, '_', ' ') END)"""
    count = ("CAST(consumption_down AS INT) + CAST(repeat_complaints AS INT) + CAST(unpaid_bills AS INT) + "
             "CAST(low_satisfaction AS INT) + CAST(no_recent_visit AS INT) + CAST(capacity_reduced AS INT)")
    flags = ("consumption_down", "repeat_complaints", "unpaid_bills", "low_satisfaction", "no_recent_visit",
             "capacity_reduced")
    # The rules run on the accounts' keys and inputs alone, and the names are joined to the accounts at risk only.
    listed = f"""
        SELECT c.customer_id, c.customer_name, c.region, c.service_center, w.tier, c.account_manager,
               {', '.join(f'w.{name}' for name in (*EARLY_WARNING_INPUTS, *flags))}, w.reasons, w.reason_count,
               w.tier = 'key' AS key_tier, w.customer_key
        FROM (SELECT *, {reasons} AS reasons, {count} AS reason_count FROM ({flagged}) WHERE {count} > 0) w
        JOIN customer_facts c USING (customer_key)
        WHERE {customers}"""
    # VIP first, then by number of reasons and revenue, ties by customer_id: customer_key is numbered in customer_id
    # order. Sorted by DuckDB on these numbers: pandas taking 108 k rows of text columns into order took 0.2-0.37 s
    # at 1 M customers, DuckDB's sort 0.03-0.1 s.
    ordered = f"{listed} ORDER BY key_tier, reason_count DESC, revenue_12m DESC NULLS LAST, customer_key"
    return run(con, ordered, p).drop(columns=["key_tier", "customer_key"])


def survey_dimensions(con, f: Filters, by: tuple[str, ...] = (),
                      settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Mean score and responses of each service dimension (overall, timeliness, reliability, communication,
    convenience), optionally by survey method, month, quarter or region."""
    allowed = {"method": "v.method", "month": "CAST(date_trunc('month', v.surveyed_on) AS DATE)",
               "quarter": "CAST(date_trunc('quarter', v.surveyed_on) AS DATE)", "region": "v.region"}
    wrong = [d for d in by if d not in allowed]
    if wrong:
        raise ValueError(f"survey dimensions cannot be broken down by {', '.join(wrong)}; use {', '.join(allowed)}")
    p = Params(con)
    join, _tier, tiers = tier_join(p, f, settings, "v", needed=False,
                                   date=breakdown_tier_date(p, f, by, "v.surveyed_on"))
    select = "".join(f"{allowed[d]} AS {d}, " for d in by)
    unpivot = " UNION ALL ".join(
        f"SELECT {''.join(f'{d}, ' for d in by)}'{dim}' AS dimension, {dim} AS score FROM picked"
        for dim in SURVEY_DIMENSIONS)
    sql = f"""
        WITH picked AS (SELECT {select}{', '.join(f'v.{d}' for d in SURVEY_DIMENSIONS)} FROM survey_facts v {join}
                        WHERE {between(p, 'v.surveyed_on', f)} AND {customer_conditions(p, f, 'v')} AND {tiers})
        SELECT {''.join(f'{d}, ' for d in by)}dimension, avg(score) AS mean_score, count(score) AS responses
        FROM ({unpivot}) GROUP BY ALL"""
    frame = run(con, sql, p)
    frame["dimension"] = pd.Categorical(frame["dimension"], categories=list(SURVEY_DIMENSIONS), ordered=True)
    return frame.sort_values([*by, "dimension"]).reset_index(drop=True)
