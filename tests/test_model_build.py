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


def test_a_coarser_month_rollup_sums_the_whole_ones_rows_over_the_attributes_it_leaves_out():
    """billing_months_by_region from a hand billing_months: rows 1 and 2 differ only in service centre and industry,
    so per region alone they are one row (bills 2 + 3 = 5, billed 10.5 + 4.5 = 15.0); row 3 has another tier code and
    row 4 another month, so each stays a row of its own. The sums keep their types."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE billing_months (month DATE, region VARCHAR, service_center VARCHAR, industry VARCHAR,
                   area VARCHAR, voltage_kv DOUBLE, tier_codes HUGEINT, amount_billed DOUBLE, amount_paid DOUBLE,
                   consumption_kwh DOUBLE, bills BIGINT)""")
    con.execute("""INSERT INTO billing_months VALUES
                   (DATE '2026-01-01', '杭州', 'A', 'steel', 'urban', 10.0, 3, 10.5, 10.0, 100.0, 2),
                   (DATE '2026-01-01', '杭州', 'B', 'paper', 'urban', 10.0, 3, 4.5, 4.0, 50.0, 3),
                   (DATE '2026-01-01', '杭州', 'A', 'steel', 'urban', 10.0, 2, 1.0, 1.0, 1.0, 1),
                   (DATE '2026-02-01', '杭州', 'A', 'steel', 'urban', 10.0, 3, 2.0, 2.0, 2.0, 1)""")
    coarser = next(r for r in rollups.MONTH_ROLLUPS["billing"] if r.coarser_of == "billing_months")
    rollups.build_coarser(coarser, con)
    assert con.execute("SELECT * FROM billing_months_by_region ORDER BY ALL").fetchall() == [
        (dt.date(2026, 1, 1), "杭州", 2, 1.0, 1.0, 1.0, 1),
        (dt.date(2026, 1, 1), "杭州", 3, 15.0, 14.0, 150.0, 5),
        (dt.date(2026, 2, 1), "杭州", 3, 2.0, 2.0, 2.0, 1)]
    assert dict(con.execute("DESCRIBE billing_months_by_region").fetchall()[i][:2] for i in range(7)) == {
        "month": "DATE", "region": "VARCHAR", "tier_codes": "HUGEINT", "amount_billed": "DOUBLE",
        "amount_paid": "DOUBLE", "consumption_kwh": "DOUBLE", "bills": "BIGINT"}


@pytest.mark.parametrize(("update", "by", "table"), [
    ({}, (), "ticket_months_by_region"),
    ({"regions": ("杭州",), "tiers": ("key",), "ticket_types": ("repair",), "channels": ("hotline",)}, ("month",),
     "ticket_months_by_region"),
    ({"allowed_regions": ("杭州",)}, ("region", "tier", "category"), "ticket_months_by_region"),
    ({"voltages": (10.0,)}, (), "ticket_months"),
    ({"regions": ("杭州",), "areas": ("urban",)}, (), "ticket_months"),
    ({"allowed_service_centers": ("A",)}, (), "ticket_months"),
    ({}, ("industry",), "ticket_months"),
])
def test_a_query_reads_the_smallest_month_rollup_keeping_every_customer_attribute_it_uses(update, by, table):
    from metrics import Filters
    from metrics.model import month_rollup, rollups_answer

    f = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31)).model_copy(update=update)
    assert rollups_answer(f, by)
    assert month_rollup("tickets", f, by) == table
    assert month_rollup("billing", f, by) == table.replace("ticket", "billing")


def test_a_query_by_account_manager_is_not_answered_by_the_month_rollups():
    from metrics import Filters
    from metrics.model import rollups_answer

    f = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31))
    assert not rollups_answer(f, ("account_manager",))
    assert not rollups_answer(f.model_copy(update={"account_managers": ("m1",)}), ())
