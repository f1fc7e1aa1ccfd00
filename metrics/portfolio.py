"""Account managers (客户经理制): a league table of the managers of the filters' customers, from the catalogue metrics
with an `account_managers` filter, and each manager's portfolio of accounts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pandas as pd

from metrics.account import as_dates
from metrics.catalogue import compute
from metrics.customer import active_in
from metrics.filters import Filters
from metrics.query import Params, customer_conditions, run, tiers_sql
from metrics.retention import early_warning
from metrics.settings import DEFAULT_SETTINGS, MetricSettings
from metrics.tiers import tier_paths_sql

# What dashboard.labels.early_warning_reasons reads to write the reasons in another language.
WARNING_FLAGS = ("consumption_down", "consumption_change", "repeat_complaints", "complaints_90d", "unpaid_bills",
                 "unpaid", "low_satisfaction", "no_recent_visit", "capacity_reduced", "capacity_events")
# The league table's catalogue metrics, in column order.
LEAGUE_METRICS = ("active_customers", "revenue", "revenue_yoy", "visit_coverage", "complaints", "sla_compliance",
                  "csat")


def managers(con: duckdb.DuckDBPyConnection, f: Filters) -> list[str]:
    """The account managers of the filters' customers (region, service centre, industry, area and the user's
    limits), by name."""
    p = Params(con)
    sql = f"""SELECT DISTINCT c.account_manager FROM customer_facts c
              WHERE c.account_manager IS NOT NULL AND {customer_conditions(p, f, 'c')} ORDER BY 1"""
    return run(con, sql, p)["account_manager"].tolist()


def manager_league(con: duckdb.DuckDBPyConnection, f: Filters,
                   settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """One row per account manager of the filters' customers: active accounts, VIP and key accounts among them (tiers
    as of the end), revenue and its growth on a year earlier, key-account visit coverage, complaints, SLA compliance
    and CSAT (each the catalogue metric for the manager's accounts), complaints per active account (no data without
    accounts), and accounts on the early-warning list at the end; by revenue, largest first."""
    listed = early_warning(con, f, settings)
    warned = listed.groupby("account_manager").size() if not listed.empty else pd.Series(dtype="int64")
    rows = []
    for manager in managers(con, f):
        mine = f.model_copy(update={"account_managers": (manager,)})
        row: dict[str, Any] = {"account_manager": manager}
        for metric_id in LEAGUE_METRICS:
            row[metric_id] = compute(con, metric_id, mine, settings=settings)["value"].iloc[0]
        key = mine.model_copy(update={"tiers": ("VIP", "key")})
        row["key_accounts"] = compute(con, "active_customers", key, settings=settings)["value"].iloc[0]
        row["warned_accounts"] = int(warned.get(manager, 0))
        accounts, complaints = row["active_customers"], row["complaints"]
        row["complaints_per_account"] = (complaints / accounts if accounts and not pd.isna(accounts)
                                         and not pd.isna(complaints) else float("nan"))
        rows.append(row)
    columns = ["account_manager", "active_customers", "key_accounts", *LEAGUE_METRICS[1:5],
               "complaints_per_account", *LEAGUE_METRICS[5:], "warned_accounts"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["revenue", "account_manager"], ascending=[False, True], na_position="last",
                             ignore_index=True)


def portfolio(con: duckdb.DuckDBPyConnection, f: Filters, manager: str,
              settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """The manager's accounts active at the end, inside the user's limits: tier and revenue over the 12 months to the
    end, open tickets at the end, the last visit and the days since it, whether a VIP or key account is due a visit
    (none in 90 days; overdue: none in 180), and the early-warning reasons at the end; by revenue, largest first."""
    p = Params(con)
    mine = f.model_copy(update={"account_managers": (manager,)})
    e = f"{p(f.end)}::DATE"
    sql = f"""
        WITH accounts AS (SELECT c.* FROM customer_facts c
                          WHERE {customer_conditions(p, mine, 'c')} AND {active_in(p, f.end, f.end, 'c')}),
        open_tickets AS (SELECT customer_key, count(*) AS open_tickets FROM ticket_facts
                         WHERE customer_key IN (SELECT customer_key FROM accounts)
                           AND created_at < {e} + INTERVAL 1 DAY
                           AND (resolved_at IS NULL OR resolved_at >= {e} + INTERVAL 1 DAY) GROUP BY ALL),
        last_visits AS (SELECT customer_id, max(visited_on) AS last_visit FROM visits
                        WHERE visited_on <= {e} GROUP BY ALL)
        SELECT a.customer_id, a.customer_name, a.region, a.service_center, a.industry, tr.tier,
               coalesce(tr.trailing_revenue, 0) AS revenue_12m, coalesce(o.open_tickets, 0) AS open_tickets,
               v.last_visit, date_diff('day', v.last_visit, {e}) AS days_since_last_visit,
               CASE WHEN tr.tier IN ('VIP', 'key') THEN CASE
                    WHEN v.last_visit IS NULL OR v.last_visit < {e} - 180 THEN 'overdue'
                    WHEN v.last_visit < {e} - 90 THEN 'due' END END AS visit_due
        FROM accounts a JOIN ({tiers_sql(p, f.end, settings)}) tr USING (customer_key)
        LEFT JOIN open_tickets o USING (customer_key) LEFT JOIN last_visits v ON v.customer_id = a.customer_id
        ORDER BY revenue_12m DESC, a.customer_id"""
    frame = as_dates(run(con, sql, p), "last_visit")
    listed = early_warning(con, mine, settings)
    warning = ["customer_id", "reasons", "reason_count", *WARNING_FLAGS]
    reasons = listed[warning] if not listed.empty else pd.DataFrame(columns=warning)
    frame = frame.merge(reasons, on="customer_id", how="left")
    frame["reason_count"] = frame["reason_count"].fillna(0).astype("int64")
    trends = revenue_trends(con, mine, TREND_MONTHS)
    frame["revenue_trend"] = [trends.get(c, [None] * TREND_MONTHS) for c in frame["customer_id"]]
    return frame


TREND_MONTHS = 12


def revenue_trends(con: duckdb.DuckDBPyConnection, f: Filters, months: int = TREND_MONTHS) -> dict[str, list]:
    """customer_id -> the amount billed in each of the `months` months up to `end`'s month, oldest first (None for a
    month without a bill: no bill is no revenue figure, not 0), for the accounts the filters select that are active
    at the end."""
    p = Params(con)
    last = f"date_trunc('month', {p(f.end)}::DATE)"
    sql = f"""
        WITH accounts AS (SELECT c.customer_id, c.customer_key FROM customer_facts c
                          WHERE {customer_conditions(p, f, 'c')} AND {active_in(p, f.end, f.end, 'c')}),
        months AS (SELECT CAST(m AS DATE) AS month
                   FROM generate_series({last} - INTERVAL ({p(months - 1)}) MONTH, {last}, INTERVAL 1 MONTH) g(m)),
        bills AS (SELECT b.customer_key, b.period, sum(b.amount_billed) AS revenue FROM billing_facts b
                  WHERE b.customer_key IN (SELECT customer_key FROM accounts)
                    AND b.period >= {last} - INTERVAL ({p(months - 1)}) MONTH AND b.period <= {last}
                  GROUP BY ALL)
        SELECT a.customer_id, list(b.revenue ORDER BY m.month) AS trend
        FROM accounts a CROSS JOIN months m
        LEFT JOIN bills b ON b.customer_key = a.customer_key AND b.period = m.month
        GROUP BY a.customer_id"""
    frame = run(con, sql, p)
    return {c: [None if pd.isna(v) else float(v) for v in trend]
            for c, trend in zip(frame["customer_id"], frame["trend"])}


def visit_plan(con: duckdb.DuckDBPyConnection, f: Filters, manager: str,
               settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """The manager's VIP and key accounts due a visit at the end (none in 90 days: 'due'; none in 180: 'overdue'),
    by revenue at stake (revenue over the 12 months to the end), largest first."""
    accounts = portfolio(con, f, manager, settings)
    due = accounts[accounts["visit_due"].notna()]
    columns = ["customer_id", "customer_name", "tier", "visit_due", "revenue_12m", "last_visit",
               "days_since_last_visit", "open_tickets", "reasons"]
    return due.sort_values(["revenue_12m", "customer_id"], ascending=[False, True])[columns].reset_index(drop=True)


def tier_moves(con: duckdb.DuckDBPyConnection, f: Filters, before: dt.date, after: dt.date,
               settings: MetricSettings = DEFAULT_SETTINGS, limit: int = 1000) -> pd.DataFrame:
    """The accounts behind the tier migration (metrics.tiers.tier_migration, the same scope and tiers): those whose
    tier on `before` differs from their tier on `after` ('new' if not active on `before`, 'closed' if not active on
    `after`), with their trailing 12-month revenue on both days; by revenue on `before`, largest first, at most
    `limit` rows."""
    p = Params(con)
    # the accounts that moved first (on keys), their revenues and the `limit` largest next, their names last
    sql = f"""
        WITH moved AS (SELECT * FROM ({tier_paths_sql(p, f, before, after, settings)}) WHERE from_tier <> to_tier),
        t0 AS ({tiers_sql(p, before, settings)}),
        t1 AS ({tiers_sql(p, after, settings)}),
        largest AS (
            SELECT m.customer_key, m.customer_id, m.from_tier, m.to_tier, t0.trailing_revenue AS revenue_before,
                   t1.trailing_revenue AS revenue_after
            FROM moved m JOIN t0 USING (customer_key) JOIN t1 USING (customer_key)
            ORDER BY revenue_before DESC NULLS LAST, m.customer_id LIMIT {p(int(limit))})
        SELECT l.customer_id, c.customer_name, c.region, c.service_center, c.account_manager, l.from_tier, l.to_tier,
               l.revenue_before, l.revenue_after
        FROM largest l JOIN customer_facts c USING (customer_key)
        ORDER BY l.revenue_before DESC NULLS LAST, l.customer_id"""
    return run(con, sql, p)
