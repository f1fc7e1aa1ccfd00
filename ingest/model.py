"""The query model built at the end of every load: facts joined to customer attributes, durations precomputed,
and China's working-day calendar for SLA targets counted in working days."""

from __future__ import annotations

import datetime as dt

import duckdb

from ingest.workdays import working_day_calendar

CUSTOMER_ATTRIBUTES = "c.region, c.service_center, c.industry, c.area, c.voltage_kv, c.tier AS given_tier"


def build_derived_model(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        CREATE OR REPLACE TABLE ticket_facts AS
        SELECT t.*, {CUSTOMER_ATTRIBUTES},
               CAST(t.created_at AS DATE) AS created_date,
               date_diff('second', t.created_at, t.first_response_at) / 3600.0 AS response_hours,
               date_diff('second', t.created_at, t.resolved_at) / 3600.0 AS resolution_hours,
               date_diff('second', t.created_at, t.arrived_at) / 60.0 AS arrival_minutes
        FROM tickets t JOIN customers c USING (customer_id)
        ORDER BY t.created_at""")
    con.execute(f"""
        CREATE OR REPLACE TABLE billing_facts AS
        SELECT b.*, {CUSTOMER_ATTRIBUTES}
        FROM billing b JOIN customers c USING (customer_id)
        ORDER BY b.period""")
    first, last = con.execute(
        "SELECT min(created_date), max(coalesce(CAST(resolved_at AS DATE), created_date)) FROM ticket_facts"
    ).fetchall()[0]
    today = dt.date.today()
    first = min(first or today, today) - dt.timedelta(days=366)
    last = max(last or today, today) + dt.timedelta(days=366)
    calendar = working_day_calendar(max(first, dt.date(2004, 1, 1)), last)
    con.register("_calendar", calendar)
    con.execute("CREATE OR REPLACE TABLE calendar AS SELECT * FROM _calendar ORDER BY day")
    con.unregister("_calendar")
