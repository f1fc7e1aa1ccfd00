"""One account (一户一策): who it is, its bills, tickets, complaints, visits, surveys, events and warning signs.

Every function takes the Filters and answers only for an account inside the signed-in user's limits
(`allowed_regions`, `allowed_service_centers`): for any other account it returns the same empty result as for an
id that does not exist, so the answer never tells whether such an account exists. The sidebar's dimension filters
(region, tier, industry, ...) do not hide an account: a link to it opens it whatever the reader's sidebar shows.
Everything is as of the end of the filters' `end` day.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from metrics.filters import Filters
from metrics.inputs import loaded_inputs
from metrics.query import Params, customer_conditions, run, tiers_sql
from metrics.retention import early_warning
from metrics.settings import DEFAULT_SETTINGS, MetricSettings

# The sidebar's choices, which do not hide an account; the user's limits (allowed_*) stay.
_SIDEBAR = ("regions", "service_centers", "industries", "tiers", "areas", "ticket_types", "channels",
            "account_managers")
PROFILE_COLUMNS = ("customer_id", "customer_name", "region", "service_center", "industry", "area", "voltage_kv",
                   "contract_capacity_kva", "account_manager", "opened_on", "closed_on", "tier")


def _access(f: Filters) -> Filters:
    return f.model_copy(update=dict.fromkeys(_SIDEBAR))


def _as_of(p: Params, f: Filters) -> str:
    """The end of the `end` day, as a timestamp."""
    return f"({p(f.end)}::DATE + INTERVAL 1 DAY)"


def _empty(columns) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns))


def as_dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Day columns as dates (DuckDB's dates arrive as midnight timestamps)."""
    for name in columns:
        frame[name] = [None if pd.isna(v) else v.date() for v in frame[name]]
    return frame


def account_key(con: duckdb.DuckDBPyConnection, f: Filters, customer_id: str) -> int | None:
    """The account's key when it exists and lies inside the user's limits, else None."""
    p = Params(con)
    sql = (f"SELECT customer_key FROM customer_facts c WHERE c.customer_id = {p(str(customer_id))} "
           f"AND {customer_conditions(p, _access(f), 'c')}")
    rows = run(con, sql, p)
    return None if rows.empty else int(rows["customer_key"].iloc[0])


def find_accounts(con: duckdb.DuckDBPyConnection, f: Filters, text: str, limit: int = 20) -> pd.DataFrame:
    """Accounts inside the user's limits whose id or name contains `text` (any case): an exact id first, then ids
    starting with it, then the rest by name."""
    columns = ("customer_id", "customer_name", "region", "service_center", "industry", "account_manager")
    text = (text or "").strip()
    if not text:
        return _empty(columns)
    p = Params(con)
    # The user's text is bound and its wildcards escaped: "%" and "_" match themselves.
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql = f"""
        SELECT {', '.join(f'c.{c}' for c in columns)} FROM customer_facts c
        WHERE (c.customer_id ILIKE {p(pattern)} ESCAPE '\\' OR c.customer_name ILIKE {p(pattern)} ESCAPE '\\')
          AND {customer_conditions(p, _access(f), 'c')}
        ORDER BY lower(c.customer_id) = lower({p(text)}) DESC, starts_with(lower(c.customer_id), lower({p(text)})) DESC,
                 c.customer_name, c.customer_id
        LIMIT {p(int(limit))}"""
    return run(con, sql, p)


def profile(con: duckdb.DuckDBPyConnection, f: Filters, customer_id: str,
            settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """One row: who the account is, and its tier as of `end` (the metric layer's tier definition)."""
    key = account_key(con, f, customer_id)
    if key is None:
        return _empty(PROFILE_COLUMNS)
    p = Params(con)
    sql = f"""
        SELECT {', '.join(f'c.{c}' for c in PROFILE_COLUMNS[:-1])}, tr.tier
        FROM customer_facts c JOIN ({tiers_sql(p, f.end, settings)}) tr USING (customer_key)
        WHERE c.customer_key = {p(key)}"""
    return as_dates(run(con, sql, p), "opened_on", "closed_on")


def tier_strip(con: duckdb.DuckDBPyConnection, f: Filters, customer_id: str) -> pd.DataFrame:
    """The account's tier (default boundaries) and trailing 12-month revenue at every month end up to `end` that the
    bills cover, from the tier snapshots built at load."""
    columns = ("as_of", "tier", "trailing_revenue")
    key = account_key(con, f, customer_id)
    if key is None:
        return _empty(columns)
    p = Params(con)
    sql = f"""SELECT as_of, tier, trailing_revenue FROM tier_snapshots
              WHERE customer_key = {p(key)} AND as_of <= {p(f.end)}::DATE ORDER BY as_of"""
    return as_dates(run(con, sql, p), "as_of")


def monthly_billing(con: duckdb.DuckDBPyConnection, f: Filters, customer_id: str, months: int = 36) -> pd.DataFrame:
    """Per month, the `months` months up to `end`'s month: revenue (amount billed), kWh, amount paid and left unpaid,
    and revenue and kWh of the same month a year earlier (null where there is no bill)."""
    columns = ("month", "revenue", "consumption_kwh", "amount_paid", "unpaid_in_month", "revenue_year_before",
               "consumption_kwh_year_before")
    key = account_key(con, f, customer_id)
    if key is None:
        return _empty(columns)
    p = Params(con)
    last = f"date_trunc('month', {p(f.end)}::DATE)"
    sql = f"""
        WITH months AS (SELECT CAST(m AS DATE) AS month
                        FROM generate_series({last} - INTERVAL ({p(months - 1)}) MONTH, {last}, INTERVAL 1 MONTH) g(m)),
        bills AS (SELECT period, amount_billed, consumption_kwh, amount_paid FROM billing_facts
                  WHERE customer_key = {p(key)})
        SELECT m.month, b.amount_billed AS revenue, b.consumption_kwh, b.amount_paid,
               b.amount_billed - b.amount_paid AS unpaid_in_month,
               y.amount_billed AS revenue_year_before, y.consumption_kwh AS consumption_kwh_year_before
        FROM months m LEFT JOIN bills b ON b.period = m.month
        LEFT JOIN bills y ON y.period = m.month - INTERVAL 1 YEAR
        ORDER BY m.month"""
    return run(con, sql, p)


def summary(con: duckdb.DuckDBPyConnection, f: Filters, customer_id: str) -> pd.DataFrame:
    """One row of headline figures as of `end`: revenue over the last 12 months, the 12 before and the change
    (revenue / revenue a year earlier - 1), kWh over the last 12 months, the
    collection rate over the last 12 months (paid / billed), unpaid months and the amount unpaid over every bill up to
    `end` (a month is unpaid when more than half a fen is left; null when no source has amount_paid), open tickets,
    complaints in the last 12 months, the last visit and the days since it, and the last survey's overall score."""
    columns = ("revenue_12m", "revenue_12m_year_before", "revenue_change_12m", "consumption_kwh_12m",
               "collection_rate_12m", "unpaid_months", "unpaid_amount", "open_tickets", "complaints_12m", "last_visit",
               "days_since_last_visit", "last_survey_overall")
    key = account_key(con, f, customer_id)
    if key is None:
        return _empty(columns)
    p = Params(con)
    e, k, as_of = f"{p(f.end)}::DATE", p(key), _as_of(p, f)
    paid_known = p("billing.amount_paid" in loaded_inputs(con).present)
    sql = f"""
        WITH b AS (SELECT * FROM billing_facts WHERE customer_key = {k} AND period <= {e}),
        t AS (SELECT * FROM ticket_facts WHERE customer_key = {k} AND created_at < {as_of}),
        v AS (SELECT max(visited_on) AS last_visit FROM visits
              WHERE customer_id = (SELECT customer_id FROM customer_facts WHERE customer_key = {k})
                AND visited_on <= {e}),
        s AS (SELECT arg_max(overall, surveyed_on) AS last_survey_overall FROM survey_facts
              WHERE customer_key = {k} AND surveyed_on <= {e})
        SELECT revenue_12m, revenue_12m_year_before, revenue_12m / nullif(revenue_12m_year_before, 0) - 1
                   AS revenue_change_12m, * EXCLUDE (revenue_12m, revenue_12m_year_before)
        FROM (
        SELECT (SELECT sum(amount_billed) FROM b WHERE period > {e} - INTERVAL 12 MONTH) AS revenue_12m,
               (SELECT sum(amount_billed) FROM b WHERE period > {e} - INTERVAL 24 MONTH
                                                   AND period <= {e} - INTERVAL 12 MONTH) AS revenue_12m_year_before,
               (SELECT sum(consumption_kwh) FROM b WHERE period > {e} - INTERVAL 12 MONTH) AS consumption_kwh_12m,
               (SELECT sum(amount_paid) / nullif(sum(amount_billed), 0) FROM b
                WHERE period > {e} - INTERVAL 12 MONTH) AS collection_rate_12m,
               CASE WHEN {paid_known} THEN (SELECT count(*) FROM b WHERE amount_billed - amount_paid > 0.005) END
                   AS unpaid_months,
               CASE WHEN {paid_known} THEN (SELECT coalesce(sum(amount_billed - amount_paid), 0) FROM b
                                            WHERE amount_billed - amount_paid > 0.005) END AS unpaid_amount,
               (SELECT count(*) FROM t WHERE resolved_at IS NULL OR resolved_at >= {as_of}) AS open_tickets,
               (SELECT count(*) FROM t WHERE ticket_type = 'complaint'
                                         AND created_at >= {as_of} - INTERVAL 12 MONTH) AS complaints_12m,
               v.last_visit, date_diff('day', v.last_visit, {e}) AS days_since_last_visit, s.last_survey_overall
        FROM v, s)"""
    return as_dates(run(con, sql, p), "last_visit")


TICKET_COLUMNS = ("ticket_id", "created_at", "ticket_type", "channel", "is_open", "sla_outcome", "hours_left",
                  "next_deadline", "category", "first_response_at", "arrived_at", "resolved_at", "substantiated",
                  "satisfaction")


def tickets(con: duckdb.DuckDBPyConnection, f: Filters, customer_id: str) -> pd.DataFrame:
    """Every ticket of the account created up to `end`, newest first, with its SLA outcome at the end of `end` (met;
    breached: a step done late or not done with its deadline passed; pending: open inside its targets; no target)
    and, for a ticket still open then, its next deadline and the hours left to it (negative: overdue). Steps done
    after `end` count as not done yet."""
    key = account_key(con, f, customer_id)
    if key is None:
        return _empty(TICKET_COLUMNS)
    p = Params(con)
    as_of = _as_of(p, f)
    pending = ", ".join(f"CASE WHEN {done} IS NULL OR {done} >= {as_of} THEN {deadline} END"
                        for done, deadline in (("arrived_at", "arrival_deadline"),
                                               ("first_response_at", "response_deadline"),
                                               ("resolved_at", "resolution_deadline")))
    sql = f"""
        SELECT *, CASE WHEN is_open THEN date_diff('second', {as_of}, next_deadline) / 3600.0 END AS hours_left
        FROM (
            SELECT ticket_id, created_at, ticket_type, channel, category, first_response_at, arrived_at, resolved_at,
                   resolved_at IS NULL OR resolved_at >= {as_of} AS is_open,
                   CASE WHEN sla_breached_after < {as_of} THEN 'breached'
                        WHEN sla_met_after < {as_of} THEN 'met'
                        WHEN sla_breached_after IS NULL AND sla_met_after IS NULL THEN 'no_target'
                        ELSE 'pending' END AS sla_outcome,
                   CASE WHEN resolved_at IS NULL OR resolved_at >= {as_of} THEN least({pending}) END AS next_deadline,
                   substantiated, satisfaction
            FROM ticket_facts WHERE customer_key = {p(key)} AND created_at < {as_of})
        ORDER BY created_at DESC, ticket_id"""
    return run(con, sql, p)[list(TICKET_COLUMNS)]


COMPLAINT_COLUMNS = ("ticket_id", "created_at", "category", "substantiated", "channel", "resolved_at", "sla_outcome",
                     "satisfaction")


def complaints(con: duckdb.DuckDBPyConnection, f: Filters, customer_id: str) -> pd.DataFrame:
    """The account's complaints up to `end`, newest first, with category, whether substantiated and SLA outcome."""
    found = tickets(con, f, customer_id)
    return found.loc[found["ticket_type"] == "complaint", list(COMPLAINT_COLUMNS)].reset_index(drop=True)


def _dated_rows(con: duckdb.DuckDBPyConnection, f: Filters, customer_id: str, table: str, columns: tuple[str, ...],
                day_column: str, tie: str) -> pd.DataFrame:
    """The account's rows of a warehouse table keyed by customer_id, dated up to `end`, newest first (`table`,
    `columns`, `day_column` and `tie` are this module's constants, never user text)."""
    key = account_key(con, f, customer_id)
    if key is None:
        return _empty(columns)
    p = Params(con)
    sql = f"""SELECT {', '.join(columns)} FROM {table}
              WHERE customer_id = (SELECT customer_id FROM customer_facts WHERE customer_key = {p(key)})
                AND {day_column} <= {p(f.end)}::DATE ORDER BY {day_column} DESC, {tie}"""
    return as_dates(run(con, sql, p), day_column)


def visits(con: duckdb.DuckDBPyConnection, f: Filters, customer_id: str) -> pd.DataFrame:
    """The account's visits up to `end`, newest first."""
    return _dated_rows(con, f, customer_id, "visits", ("visit_id", "visited_on", "visit_type", "staff_id"),
                       "visited_on", "visit_id")


def surveys(con: duckdb.DuckDBPyConnection, f: Filters, customer_id: str) -> pd.DataFrame:
    """The account's surveys up to `end`, newest first, with the overall score, the four service dimensions and NPS."""
    columns = ("survey_id", "surveyed_on", "method", "overall", "timeliness", "reliability", "communication",
               "convenience", "nps")
    key = account_key(con, f, customer_id)
    if key is None:
        return _empty(columns)
    p = Params(con)
    sql = f"""SELECT {', '.join(columns)} FROM survey_facts
              WHERE customer_key = {p(key)} AND surveyed_on <= {p(f.end)}::DATE ORDER BY surveyed_on DESC, survey_id"""
    return as_dates(run(con, sql, p), "surveyed_on")


def events(con: duckdb.DuckDBPyConnection, f: Filters, customer_id: str) -> pd.DataFrame:
    """The account's lifecycle events up to `end` (opening, capacity changes, suspension, switch-out, win-back, close)
    with their reasons, newest first."""
    return _dated_rows(con, f, customer_id, "account_events", ("event_date", "event", "capacity_change_kva", "reason"),
                       "event_date", "event")


WARNING_COLUMNS = ("as_of", "on_list", "tier", "reasons", "reason_count", "consumption_down", "consumption_change",
                   "repeat_complaints", "complaints_90d", "unpaid_bills", "unpaid", "low_satisfaction",
                   "no_recent_visit", "capacity_reduced", "capacity_events")


def month_ends_before(end: dt.date, months: int) -> list[dt.date]:
    """The last `months` month ends before `end`, oldest first."""
    last = (pd.Timestamp(end) - pd.offsets.MonthEnd(1)).date()
    return [(pd.Timestamp(last) - pd.offsets.MonthEnd(i)).date() for i in reversed(range(months))]


def warning_history(con: duckdb.DuckDBPyConnection, f: Filters, customer_id: str, months: int = 12,
                    settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """The account's early-warning reasons (metrics.retention.early_warning, which lists VIP and key accounts active
    on the day) at `end` and at each of the `months` month ends before it, newest first: `on_list` false where it
    was not on the list that day; `tier` is the account's tier that day either way (default boundaries)."""
    account = profile(con, f, customer_id, settings)
    if account.empty:
        return _empty(WARNING_COLUMNS)
    row = account.iloc[0]
    days = [f.end, *reversed(month_ends_before(f.end, months))]
    # The list of the account's own region and service centre: the same rules, a fraction of the accounts.
    narrow = f.model_copy(update={**dict.fromkeys(_SIDEBAR), "regions": (row["region"],),
                                  "service_centers": (row["service_center"],)})
    strip = tier_strip(con, f, customer_id)
    tier_on = {**dict(zip(strip["as_of"], strip["tier"])), f.end: row["tier"]}
    rows = []
    for day in days:
        listed = early_warning(con, narrow.window(day, day), settings)
        mine = listed[listed["customer_id"] == row["customer_id"]]
        if mine.empty:
            rows.append({"as_of": day, "on_list": False, "tier": tier_on.get(day), "reason_count": 0, "reasons": ""})
        else:
            rows.append({"as_of": day, "on_list": True,
                         **{c: mine.iloc[0][c] for c in WARNING_COLUMNS if c not in ("as_of", "on_list")}})
    return pd.DataFrame(rows, columns=list(WARNING_COLUMNS))


def account_tables(con: duckdb.DuckDBPyConnection, f: Filters, customer_id: str) -> dict[str, pd.DataFrame]:
    """Every table of the account page, by name (for the workbook download); empty tables for an account the user may
    not see."""
    return {"profile": profile(con, f, customer_id), "summary": summary(con, f, customer_id),
            "tiers": tier_strip(con, f, customer_id), "billing": monthly_billing(con, f, customer_id),
            "tickets": tickets(con, f, customer_id), "complaints": complaints(con, f, customer_id),
            "visits": visits(con, f, customer_id), "surveys": surveys(con, f, customer_id),
            "events": events(con, f, customer_id), "warnings": warning_history(con, f, customer_id)}


LISTED_TICKET_COLUMNS = ("ticket_id", "created_at", "customer_id", "customer_name", "region", "service_center",
                         "ticket_type", "channel", "category", "sla_outcome", "resolved_at", "substantiated")


def ticket_list(con: duckdb.DuckDBPyConnection, f: Filters, outcome: str | None = None, limit: int = 1000,
                settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Tickets created in the window for the filters' customers and ticket filters (the sidebar's and the user's
    limits), newest first, at most `limit`, with the SLA outcome at the end of `end` as on the account page (the
    default SLA targets stored at load); `outcome` ('breached', 'met', 'pending', 'no_target') keeps only those."""
    from metrics.query import between, fact_filters, ticket_conditions
    p = Params(con)
    as_of = _as_of(p, f)
    join, customers = fact_filters(p, f, settings, "t")
    sql = f"""
        SELECT * FROM (
            SELECT t.ticket_id, t.created_at, t.customer_id, c.customer_name, t.region, t.service_center,
                   t.ticket_type, t.channel, t.category,
                   CASE WHEN t.sla_breached_after < {as_of} THEN 'breached'
                        WHEN t.sla_met_after < {as_of} THEN 'met'
                        WHEN t.sla_breached_after IS NULL AND t.sla_met_after IS NULL THEN 'no_target'
                        ELSE 'pending' END AS sla_outcome,
                   CASE WHEN t.resolved_at < {as_of} THEN t.resolved_at END AS resolved_at, t.substantiated
            FROM ticket_facts t JOIN customer_facts c USING (customer_key) {join}
            WHERE {between(p, 't.created_at', f)} AND {customers} AND {ticket_conditions(p, f, 't')})
        WHERE {p(outcome)}::VARCHAR IS NULL OR sla_outcome = {p(outcome)}
        ORDER BY created_at DESC, ticket_id LIMIT {p(int(limit))}"""
    return run(con, sql, p)[list(LISTED_TICKET_COLUMNS)]
