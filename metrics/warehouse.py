"""What is in the warehouse: its date range, dimension values, table counts, load history, rejects and row-level
slices for the Explore page. Row-level reads go through the same customer scope as every metric."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd

from metrics.filters import Filters
from metrics.query import Params, between, month_between, run, scope_sql, ticket_conditions
from metrics.settings import DEFAULT_SETTINGS, MetricSettings

CONTRACT_TABLES = ("customers", "billing", "tickets", "surveys", "visits", "account_events", "staff_training")
# table -> (time column used by the window, whether the ticket filters apply)
EXPLORABLE = {
    "customers": ("opened_on", False), "billing": ("period", False), "tickets": ("created_at", True),
    "surveys": ("surveyed_on", False), "visits": ("visited_on", False), "account_events": ("event_date", False),
}


def data_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date] | None:
    """First and last day covered by bills and tickets, or None for an empty warehouse."""
    p = Params(con)
    frame = run(con, """
        SELECT least(b.first, CAST(t.first AS DATE)) AS first,
               greatest(b.last + INTERVAL 1 MONTH - INTERVAL 1 DAY, CAST(t.last AS DATE)) AS last FROM
          (SELECT CAST(date_trunc('month', min(as_of)) AS DATE) AS first,
                  CAST(date_trunc('month', max(as_of)) AS DATE) AS last FROM tier_snapshot_dates) b,
          (SELECT min(created_at) AS first, max(created_at) AS last FROM tickets) t""", p)
    first, last = frame.iloc[0]
    if pd.isna(first) or pd.isna(last):
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


def dimension_values(con: duckdb.DuckDBPyConnection, allowed_regions: tuple[str, ...] | None = None,
                     allowed_account_managers: tuple[str, ...] | None = None) -> dict[str, list]:
    """Distinct regions, service centres, industries (text) and voltage levels (kV, numbers) a user may pick (limited
    to those of the allowed regions and of the allowed account managers' accounts)."""
    p = Params(con)
    limits = []
    if allowed_regions is not None:
        limits.append(f"list_contains({p(list(allowed_regions))}, region)")
    if allowed_account_managers is not None:
        limits.append(f"list_contains({p(list(allowed_account_managers))}, account_manager)")
    limit = f"WHERE {' AND '.join(limits)}" if limits else ""
    frame = run(con, f"SELECT DISTINCT region, service_center, industry, voltage_kv FROM customers {limit}", p)
    return {column: sorted(frame[column].dropna().unique().tolist())
            for column in ("region", "service_center", "industry", "voltage_kv")}


def account_manager_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every account manager the customers table names."""
    p = Params(con)
    frame = run(con, "SELECT DISTINCT account_manager FROM customers WHERE account_manager IS NOT NULL ORDER BY 1", p)
    return frame["account_manager"].tolist()


def service_center_regions(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Service centre -> the region it belongs to."""
    p = Params(con)
    frame = run(con, "SELECT DISTINCT service_center, region FROM customers", p)
    return dict(zip(frame["service_center"], frame["region"]))


def table_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    p = Params(con)
    union = " UNION ALL ".join(f"SELECT '{t}' AS table_name, count(*) AS row_count FROM {t}" for t in CONTRACT_TABLES)
    return run(con, union, p)


def load_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every load, the latest first, with the load report it stored (`report`: the dict `LoadReport.to_json` gave, for
    loads through the command line and the Data page alike; None for a load made before loads kept their report)."""
    p = Params(con)
    frame = run(con, """SELECT load_id, loaded_at, mode, array_to_string(files, ', ') AS files, rows_read, rows_loaded,
                               rows_rejected, duration_seconds, CAST(report AS VARCHAR) AS report
                        FROM loads ORDER BY load_id DESC""", p)
    frame["report"] = [json.loads(text) if isinstance(text, str) else None for text in frame["report"]]
    return frame


def rejects(con: duckdb.DuckDBPyConnection, load_id: int | None = None, table: str | None = None,
            limit: int = 10_000) -> pd.DataFrame:
    p = Params(con)
    conditions = ["true"]
    if load_id is not None:
        conditions.append(f"load_id = {p(load_id)}")
    if table is not None:
        conditions.append(f"table_name = {p(table)}")
    return run(con, f"""SELECT load_id, table_name, source_file, line, reason, raw_row FROM rejects
                        WHERE {' AND '.join(conditions)} ORDER BY load_id DESC, table_name, source_file, line
                        LIMIT {p(limit)}""", p)


def freshness(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Latest date in each dated table, so a stale export shows."""
    p = Params(con)
    return run(con, """
        SELECT 'billing' AS table_name, max(period) AS latest FROM billing
        UNION ALL SELECT 'tickets', max(CAST(created_at AS DATE)) FROM tickets
        UNION ALL SELECT 'surveys', max(surveyed_on) FROM surveys
        UNION ALL SELECT 'visits', max(visited_on) FROM visits
        UNION ALL SELECT 'account_events', max(event_date) FROM account_events
        UNION ALL SELECT 'staff_training', max(trained_on) FROM staff_training""", p)


def table_slice(con: duckdb.DuckDBPyConnection, f: Filters, table: str, limit: int = 100_000,
                settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Rows of one contract table in the window, for the customers the filters select (region limits included)."""
    if table not in EXPLORABLE:
        raise ValueError(f"unknown table '{table}'; choose one of {', '.join(EXPLORABLE)}")
    time_column, ticket_filters = EXPLORABLE[table]
    p = Params(con)
    window = month_between(p, f"x.{time_column}", f) if table == "billing" else between(p, f"x.{time_column}", f)
    if table == "customers":
        window = f"x.opened_on <= {p(f.end)}::DATE AND (x.closed_on IS NULL OR x.closed_on >= {p(f.start)}::DATE)"
    extra = ticket_conditions(p, f, "x") if ticket_filters else "true"
    sql = f"""
        WITH scope AS ({scope_sql(p, f, settings, with_tier=True)})
        SELECT x.*{'' if table == 'customers' else ', s.region, s.service_center'}, s.tier AS current_tier
        FROM {table} x JOIN scope s USING (customer_id)
        WHERE {window} AND {extra}
        ORDER BY x.{time_column}, x.customer_id LIMIT {p(limit)}"""
    return run(con, sql, p)


def calendar_days(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The warehouse calendar's days from `start` to `end` (columns day, is_workday), as stored at load."""
    p = Params(con)
    return run(con, f"SELECT day, is_workday FROM calendar WHERE day BETWEEN {p(start)} AND {p(end)} ORDER BY day", p)
