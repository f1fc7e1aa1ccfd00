"""How the query model's whole build writes its tables (ingest.model, metrics.rollups), on tables small enough to check
by eye: customer_month_ends written in one statement, and ticket_facts written once with its month tiers."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from metrics import rollups
from metrics.model import REGION_ORDERED_TABLES


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("""CREATE TABLE customer_facts (customer_key INTEGER, customer_id VARCHAR, region VARCHAR,
                   service_center VARCHAR, industry VARCHAR, area VARCHAR, voltage_kv DOUBLE, account_manager VARCHAR,
                   opened_on DATE, closed_on DATE)""")
    con.execute("""INSERT INTO customer_facts VALUES
                   (1, 'C1', '杭州', 'A', 'steel', 'urban', 10.0, 'm1', DATE '2020-01-01', NULL),
                   (2, 'C2', '台州', 'B', 'paper', 'rural', 0.4, NULL, DATE '2021-05-10', DATE '2024-02-15'),
                   (3, 'C3', '杭州', 'A', 'steel', 'remote', 110.0, 'm2', DATE '2023-12-31', NULL)""")
    # the snapshots' rows in no particular order: the build must pair them by customer_key, not by where they lie
    con.execute("CREATE TABLE tier_snapshots (as_of DATE, customer_key INTEGER, tier VARCHAR, cumulative_billed DOUBLE)")
    con.execute("""INSERT INTO tier_snapshots VALUES
                   (DATE '2024-02-29', 3, 'standard', 5.0), (DATE '2024-01-31', 2, 'key', 40.0),
                   (DATE '2024-02-29', 1, 'VIP', 250.0), (DATE '2024-01-31', 3, 'standard', 0.0),
                   (DATE '2024-02-29', 2, 'VIP', 90.0), (DATE '2024-01-31', 1, 'VIP', 100.0)""")
    con.execute("CREATE TABLE tier_snapshot_dates AS SELECT unnest([DATE '2024-01-31', DATE '2024-02-29']) AS as_of")
    return con


def test_customer_month_ends_holds_each_customers_running_totals_and_tiers_as_columns(con):
    rollups.build_customer_month_ends(con)
    got = con.execute("SELECT * FROM customer_month_ends").fetchall()
    columns = [row[0] for row in con.execute("DESCRIBE customer_month_ends").fetchall()]
    assert columns == ["customer_key", "customer_id", "region", "service_center", "industry", "area", "voltage_kv",
                       "account_manager", "opened_on", "closed_on",
                       "billed_to_2024_01", "tier_2024_01", "billed_to_2024_02", "tier_2024_02"]
    d = dt.date
    assert got == [(1, "C1", "杭州", "A", "steel", "urban", 10.0, "m1", d(2020, 1, 1), None,
                    100.0, "VIP", 250.0, "VIP"),
                   (2, "C2", "台州", "B", "paper", "rural", 0.4, None, d(2021, 5, 10), d(2024, 2, 15),
                    40.0, "key", 90.0, "VIP"),
                   (3, "C3", "杭州", "A", "steel", "remote", 110.0, "m2", d(2023, 12, 31), None,
                    0.0, "standard", 5.0, "standard")]


def test_customer_month_ends_whole_equals_adding_month_end_after_month_end(con):
    rollups.build_customer_month_ends(con)
    whole = con.execute("SELECT * FROM customer_month_ends ORDER BY customer_key").fetchall()
    # an append's way: the table there, its month-end columns written again one month end at a time (UPDATE)
    con.execute("UPDATE customer_month_ends SET billed_to_2024_01 = -1, tier_2024_01 = NULL, billed_to_2024_02 = -1")
    rollups.build_customer_month_ends(con, months=[dt.date(2024, 1, 1)])
    assert con.execute("SELECT * FROM customer_month_ends ORDER BY customer_key").fetchall() == whole


def test_customer_month_ends_refuses_a_month_end_that_lacks_a_customer(con):
    con.execute("DELETE FROM tier_snapshots WHERE as_of = DATE '2024-02-29' AND customer_key = 2")
    with pytest.raises(duckdb.Error, match="does not hold every customer once"):
        rollups.build_customer_month_ends(con)


def test_customer_month_ends_without_snapshots_holds_the_customers(con):
    con.execute("DELETE FROM tier_snapshot_dates")
    rollups.build_customer_month_ends(con)
    assert con.execute("SELECT customer_key, customer_id FROM customer_month_ends").fetchall() == [
        (1, "C1"), (2, "C2"), (3, "C3")]


def test_ticket_facts_carry_the_tier_of_their_creation_months_end(demo):
    """ticket_facts, written once after the snapshots a month of tickets at a time, holds every ticket once, and
    each one's month_tier is its customer's snapshot
    tier at the end of the month it was created in."""
    tickets, facts, tiered = demo.execute("""
        SELECT (SELECT count(*) FROM tickets), count(*), count(t.month_tier) FROM ticket_facts t""").fetchall()[0]
    assert facts == tickets and tiered > 0
    wrong = demo.execute("""
        SELECT count(*) FROM ticket_facts t
        LEFT JOIN tier_snapshots s ON s.customer_key = t.customer_key AND s.as_of = last_day(t.created_at)
        WHERE t.month_tier IS DISTINCT FROM s.tier""").fetchall()[0][0]
    assert wrong == 0
    assert demo.execute("SELECT count(*) FROM (SELECT ticket_id FROM ticket_facts GROUP BY ALL HAVING count(*) > 1)"
                        ).fetchall()[0][0] == 0


def rows_out_of_region_order(con, table: str, time_column: str) -> int:
    """Rows of `table` lying before the row stored ahead of them in (region, time) order."""
    return con.execute(f"""
        SELECT count(*) FROM (
            SELECT (region, {time_column}) < lag((region, {time_column})) OVER (ORDER BY rowid) AS back FROM {table})
        WHERE back""").fetchall()[0][0]


def test_the_large_tables_lie_in_region_then_time_order(demo):
    """Each region's rows together, in time order within it (metrics.model.REGION_ORDERED_TABLES): a region filter
    reads its region's row groups, a window its run of them. The demo has several regions and months, so rows in
    plain time order would fail this."""
    for table, time_column in REGION_ORDERED_TABLES:
        regions = demo.execute(f"SELECT count(DISTINCT region) FROM {table}").fetchall()[0][0]
        assert regions > 1, table
        assert rows_out_of_region_order(demo, table, time_column) == 0, table
    first_rows = demo.execute("SELECT region FROM ticket_facts ORDER BY rowid LIMIT 1").fetchall()[0][0]
    assert first_rows == demo.execute("SELECT min(region) FROM ticket_facts").fetchall()[0][0]
