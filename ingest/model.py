"""The query model built at the end of every load: facts joined to customer attributes, durations precomputed,
bills summed per month and customer attributes, tiers as of every month end, and China's working-day calendar
for SLA targets counted in working days."""

from __future__ import annotations

import datetime as dt

import duckdb

from ingest.workdays import working_day_calendar
from metrics import MODEL_VERSION
from metrics.process import sla_deadlines_sql, sla_settled_sql
from metrics.query import Params, computed_tiers_sql
from metrics.settings import DEFAULT_BOUNDARIES, DEFAULT_SLA

CUSTOMER_ATTRIBUTES = "c.region, c.service_center, c.industry, c.area, c.voltage_kv, c.tier AS given_tier"


def build_derived_model(con: duckdb.DuckDBPyConnection) -> None:
    build_calendar(con)
    p = Params()
    deadlines = sla_deadlines_sql(p, DEFAULT_SLA, "t")
    sql = f"""
        CREATE OR REPLACE TABLE ticket_facts AS
        SELECT t.*, {sla_settled_sql("t")}
        FROM (SELECT t.*, {deadlines}
        FROM (
            SELECT t.*, {CUSTOMER_ATTRIBUTES},
                   CAST(t.created_at AS DATE) AS created_date,
                   date_diff('second', t.created_at, t.first_response_at) / 3600.0 AS response_hours,
                   date_diff('second', t.created_at, t.resolved_at) / 3600.0 AS resolution_hours,
                   date_diff('second', t.created_at, t.arrived_at) / 60.0 AS arrival_minutes
            FROM tickets t JOIN customers c USING (customer_id)) t) t
        ORDER BY t.created_at"""
    con.execute(sql, p.used_in(sql))
    con.execute(f"""
        CREATE OR REPLACE TABLE billing_facts AS
        SELECT b.*, {CUSTOMER_ATTRIBUTES}
        FROM billing b JOIN customers c USING (customer_id)
        ORDER BY b.period""")
    con.execute("""
        CREATE OR REPLACE TABLE billing_monthly AS
        SELECT period, region, service_center, industry, area, sum(amount_billed) AS amount_billed,
               sum(amount_paid) AS amount_paid, sum(consumption_kwh) AS consumption_kwh, count(*) AS bills
        FROM billing_facts GROUP BY ALL ORDER BY period""")
    build_tier_snapshots(con)
    con.execute("CREATE OR REPLACE TABLE model_info AS SELECT $version AS version, now() AS built_at",
                {"version": MODEL_VERSION})


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


def build_tier_snapshots(con: duckdb.DuckDBPyConnection) -> None:
    """Tiers under the default boundaries as of every month end the bills cover, by the metric layer's own definition."""
    con.execute("""CREATE OR REPLACE TABLE tier_snapshots (as_of DATE, customer_id VARCHAR, tier VARCHAR,
                   trailing_revenue DOUBLE, share_before DOUBLE)""")
    month_ends = [row[0] for row in con.execute(
        "SELECT DISTINCT CAST(period + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) FROM billing ORDER BY 1").fetchall()]
    for as_of in month_ends:
        p = Params()
        sql = computed_tiers_sql(p, "$as_of::DATE", (p(DEFAULT_BOUNDARIES.vip_below), p(DEFAULT_BOUNDARIES.key_below)))
        con.execute(f"INSERT INTO tier_snapshots SELECT $as_of, * FROM ({sql})", {"as_of": as_of, **p.values})
