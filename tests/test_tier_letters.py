"""The one-copy roll-ups' tiers (metrics.rollups): which tier letters a row of a month keeps, how they are packed into
tier codes, and which tier a query reads from them, on paths small enough to check by eye."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from metrics import rollups


@pytest.fixture
def con():
    con = duckdb.connect()
    # One customer whose tiers at the month ends of 2024-01, 2024-02 and 2024-03 are VIP, key, standard.
    con.execute("CREATE TABLE customer_paths AS SELECT 1 AS customer_key, 'Vks' AS path")
    return con


@pytest.mark.parametrize(("month", "expected"), [
    # the row's own month's end first: 2024-02's letters are key (its end), standard (2024-03's end)
    (dt.date(2024, 2, 1), "ks"),
    (dt.date(2024, 1, 1), "Vks"),
    (dt.date(2024, 3, 1), "s"),
    # two months before the first snapshot: its own end and the next have no snapshot ('-'), then the path
    (dt.date(2023, 11, 1), "--Vks"),
    # 36 months or more before the first snapshot: every letter kept is before it
    (dt.date(2021, 1, 1), "-" * 36),
])
def test_a_month_keeps_its_customers_tiers_from_its_own_end_on(con, month, expected):
    tiers = rollups._tiers_from_month_sql("$month::DATE", dt.date(2024, 1, 1))
    got = con.execute(f"SELECT {tiers} FROM customer_paths p WHERE customer_key = 1", {"month": month}).fetchall()
    assert got == [(expected,)]


def test_a_path_kept_for_36_month_ends_at_most():
    con = duckdb.connect()
    con.execute("CREATE TABLE customer_paths AS SELECT 1 AS customer_key, repeat('V', 30) || repeat('k', 20) AS path")
    tiers = rollups._tiers_from_month_sql("DATE '2024-01-01'", dt.date(2024, 1, 1))
    assert con.execute(f"SELECT {tiers} FROM customer_paths p").fetchall() == [("V" * 30 + "k" * 6,)]


@pytest.mark.parametrize(("tiers", "offset", "expected"), [
    ("ks", 0, "key"), ("ks", 1, "standard"), ("Vks", 0, "VIP"),
    ("ks", 2, None),   # past the month ends kept: no tier, never a guess
    ("V-s", 1, None),  # no tier at that month end
    ("-" * 35 + "V", 35, "VIP"),  # the 36th month end: bits 70 and 71, past a 64-bit integer
])
def test_the_tier_a_query_reads_is_the_code_of_its_month_end(tiers, offset, expected):
    codes = rollups._codes_of_letters_sql("$tiers")
    sql = rollups.tier_name_sql(rollups.tier_code_sql(f"({codes})", "$offset"))
    assert duckdb.execute(f"SELECT {sql}", {"tiers": tiers, "offset": offset}).fetchall() == [(expected,)]


def test_tier_codes_two_bits_per_month_end_from_the_rows_own():
    # 'Vks-': VIP = 1 in bits 0-1, key = 2 in bits 2-3, standard = 3 in bits 4-5, none = 0: 1 + 2*4 + 3*16 = 57
    assert duckdb.execute(f"SELECT {rollups._codes_of_letters_sql('$t')}", {"t": "Vks-"}).fetchall() == [(57,)]
    assert duckdb.execute(f"SELECT {rollups._codes_of_letters_sql('$t')}", {"t": ""}).fetchall() == [(0,)]
