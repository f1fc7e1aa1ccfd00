"""Tier timing (SPEC 5.1, issue 15) on a hand-sized warehouse whose customers change tier inside the window: a VIP that
leaves, a standard customer that rises to key, a key account whose revenue collapses and a new account that is VIP in
its first quarter. Every figure is checked on the tables built at load and on the row-level path.

Tiers (default boundaries: VIP while the revenue share of everyone ranked above is < 0.5, key while < 0.8; ranked by
revenue over the twelve bill months up to the date, ties by customer_id; no revenue is standard). F is billed 0 every
month from 2023-01 to 2025-12, so every month end has a tier snapshot, and changes no share. R is in region B, the
others in A (regions do not change tiers).

    as of       bill months       revenue (share of revenue ranked above)                       tiers
    2023-12-31  2023-01..2023-12  B 1600 (0), V 1000 (1600/3300 = .485), K 600 (2600/3300 =       B, V VIP; K key
                                  .788), R 50 (.970), S 50 (.985); total 3300
    2024-02-29  2023-03..2024-02  B 1600 (0), V 1000 (.476), K 610 (2600/3360 = .774), S 100,      B, V VIP; K key
                                  R 50; total 3360
    2024-03-31  2023-04..2024-03  B 1600 (0), V 1000 (.437), K 610 (2600/3660 = .710), R 350       B, V VIP; K key;
                                  (3210/3660 = .877), S 100; total 3660                            R standard
    2024-06-30  2023-07..2024-06  V 1000 (0), R 300 (1000/1360 = .735), S 50 (.956), K 10 (.993)   V VIP; R key
    2024-08-31  2023-09..2024-08  B 1600 (0), V 1000 (1600/2960 = .541), R 300 (.878), S 50, K 10  B VIP; V key
    2024-09-30  2023-10..2024-09  B 1600 (0), V 1000 (.449), R 900 (2600/3560 = .730), S 50, K 10  B, V VIP; R key
    2024-12-31  2024-01..2024-12  B 1600 (0), R 900 (1600/2560 = .625), S 50 (.977), K 10 (.996)   B VIP; R key;
                                  V 0; total 2560                                                  K, V standard
    2025-03-31  2024-04..2025-03  N 5000 (0), B 1600 (5000/7200 = .694), R 600 (.917)             N VIP; B key
    2025-10-31  2024-11..2025-10  B 30000 (0), N 5000 (30000/35000 = .857)                        B VIP; N standard
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from ingest import load
from metrics import Filters, MetricSettings, compute, connect
from metrics.query import Params, bills_in_trailing_year, computed_tiers_sql, run, tiers_on_sql
from metrics.retention import churn_reasons, cohort_retention
from metrics.tiers import tier_assignment

CUSTOMERS = """customer_id,region,service_center,opened_on,closed_on
B,A,A1,2020-01-01,
F,A,A1,2020-01-01,
K,A,A1,2020-01-01,
N,A,A1,2025-01-10,2025-11-20
R,B,B1,2020-01-01,
S,A,A1,2020-01-01,
V,A,A1,2020-01-01,2024-07-15
"""
BILLS = {("B", "2023-06"): 1600, ("B", "2024-08"): 1600, ("B", "2025-06"): 30000,
         ("V", "2023-10"): 1000,
         ("K", "2023-06"): 600, ("K", "2024-02"): 10,
         ("R", "2023-06"): 50, ("R", "2024-03"): 300, ("R", "2024-09"): 600,
         ("S", "2023-06"): 50, ("S", "2024-02"): 50,
         ("N", "2025-02"): 5000}
EVENTS = """customer_id,event_date,event,reason
V,2024-07-15,switch_out,direct purchase
N,2025-11-20,close,relocated
"""
YEAR_2024 = Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
YEAR_2025 = Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
PATHS = {"roll-ups": MetricSettings(), "row level": MetricSettings(rollups=False)}


@pytest.fixture(scope="module")
def moving(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tier_timing")
    months = [f"{year}-{month:02d}" for year in (2023, 2024, 2025) for month in range(1, 13)]
    bills = [f"F,{m},0" for m in months] + [f"{c},{m},{amount}" for (c, m), amount in BILLS.items()]
    (folder / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (folder / "billing.csv").write_text("customer_id,period,amount_billed\n" + "\n".join(bills) + "\n", encoding="utf-8")
    (folder / "tickets.csv").write_text("ticket_id,customer_id,ticket_type,created_at\n", encoding="utf-8")
    (folder / "account_events.csv").write_text(EVENTS, encoding="utf-8")
    report = load([folder], folder / "w.duckdb")
    assert all(f.rejected == 0 for f in report.files), report.to_json()
    con = connect(folder / "w.duckdb")
    yield con
    con.close()


def values(con, metric_id, f, by, settings, column="value"):
    frame = compute(con, metric_id, f, by=by, settings=settings)
    return dict(zip(frame[by[0]], frame[column]))


def only(con, metric_id, f, settings):
    return compute(con, metric_id, f, settings=settings).iloc[0]


def test_the_tiers_of_the_table_above(moving):
    expected = {dt.date(2023, 12, 31): {"B": "VIP", "V": "VIP", "K": "key", "R": "standard", "S": "standard"},
                dt.date(2024, 3, 31): {"B": "VIP", "V": "VIP", "K": "key", "R": "standard", "S": "standard"},
                dt.date(2024, 6, 30): {"B": "standard", "V": "VIP", "R": "key", "S": "standard", "K": "standard"},
                dt.date(2024, 9, 30): {"B": "VIP", "V": "VIP", "R": "key", "S": "standard", "K": "standard"},
                dt.date(2024, 12, 31): {"B": "VIP", "R": "key", "S": "standard", "K": "standard", "V": "standard"},
                dt.date(2025, 3, 31): {"N": "VIP", "B": "key", "R": "standard"},
                dt.date(2025, 10, 31): {"B": "VIP", "N": "standard"}}
    for as_of, tiers in expected.items():
        found = tier_assignment(moving, as_of).set_index("customer_id")["tier"]
        assert {c: found[c] for c in tiers} == tiers, as_of


@pytest.mark.parametrize("dates", [
    (dt.date(2024, 3, 31), dt.date(2024, 9, 30), dt.date(2024, 12, 31)),  # quarter ends: only those slices
    (dt.date(2024, 4, 30), dt.date(2024, 5, 31), dt.date(2024, 6, 30)),  # months in a row: a range of them
])
def test_the_tiers_of_several_days_are_those_days_slices_and_no_others(moving, dates):
    p = Params(moving)
    sql = tiers_on_sql(p, dates, MetricSettings())
    rows = run(moving, f"SELECT t.as_of, c.customer_id, t.tier FROM ({sql}) t JOIN customer_facts c USING "
                       "(customer_key)", p)
    rows["as_of"] = rows["as_of"].dt.date
    assert set(rows["as_of"]) == set(dates)
    for day in dates:
        alone = tier_assignment(moving, day).set_index("customer_id")["tier"].to_dict()
        assert rows[rows["as_of"] == day].set_index("customer_id")["tier"].to_dict() == alone, day
    # as in the table above: R standard, key and key again at the three quarter ends
    if dates[0] == dt.date(2024, 3, 31):
        assert list(rows[rows["customer_id"] == "R"].sort_values("as_of")["tier"]) == ["standard", "key", "key"]


def test_a_date_whose_trailing_year_holds_no_bill_gives_every_customer_standard_without_ranking(moving):
    # Bills run from period 2023-01 to 2025-12. As of 2022-12-31 the trailing months 2022-01..2022-12 hold none, nor
    # as of 2026-12-01 (after 2025-12-01, up to 2026-12-01); as of 2023-01-31 and 2026-11-30 one month does.
    p = Params(moving)
    for as_of, billed in ((dt.date(2022, 12, 31), False), (dt.date(2023, 1, 1), True), (dt.date(2023, 1, 31), True),
                          (dt.date(2026, 11, 30), True), (dt.date(2026, 12, 1), False), (dt.date(2027, 6, 30), False)):
        in_sql = moving.execute("SELECT count(*) > 0 FROM billing_facts WHERE period > $d::DATE - INTERVAL 1 YEAR "
                                "AND period <= $d::DATE", {"d": as_of}).fetchone()[0]
        assert bills_in_trailing_year(moving, as_of) is billed is in_sql, as_of
    # without bills the ranking is skipped: the same rows as ranking (every revenue 0, every share null) give
    bounds = (p(0.5), p(0.8))
    for as_of in (dt.date(2022, 12, 31), dt.date(2027, 6, 30)):
        ranked, unranked = (run(moving, f"SELECT * FROM ({computed_tiers_sql(p, p(as_of) + '::DATE', bounds, billed)}) "
                                        "ORDER BY customer_id", p) for billed in (True, False))
        assert ranked.equals(unranked), as_of
        assert set(unranked["tier"]) == {"standard"} and unranked["share_before"].isna().all()
        assert (unranked["trailing_revenue"] == 0).all() and len(unranked) == 7
        found = tier_assignment(moving, as_of, MetricSettings(rollups=False)).set_index("customer_id")
        assert found["tier"].to_dict() == dict.fromkeys("BFKNRSV", "standard")


@pytest.mark.parametrize("path", PATHS)
def test_tiers_are_the_same_on_every_day_of_a_month(moving, path):
    # Bill periods are months: as of 2024-06-15 the trailing bill months are 2023-07..2024-06, as of 2024-06-30.
    mid, end = tier_assignment(moving, dt.date(2024, 6, 15), PATHS[path]), tier_assignment(moving, dt.date(2024, 6, 30))
    assert mid.equals(end)


@pytest.mark.parametrize("path", PATHS)
def test_a_vip_that_leaves_counts_as_vip_churn(moving, path):
    settings = PATHS[path]
    # V closed 2024-07-15: its tier as of 2024-06-30, the last day of the month before July, is VIP (first, share 0).
    # By the window's end its only bill (October 2023) has left the trailing year: standard, which would have hidden it.
    vip = YEAR_2024.model_copy(update={"tiers": ("VIP",)})
    assert only(moving, "churned_customers", vip, settings)["value"] == 1
    assert only(moving, "churned_customers", vip.model_copy(update={"tiers": ("standard",)}), settings)["value"] == 0
    assert values(moving, "churned_customers", YEAR_2024, ("tier",), settings) == {"VIP": 1}
    assert values(moving, "churned_customers", vip, ("month",), settings) == {dt.date(2024, 7, 1): 1}
    # N closed 2025-11-20: as of 2025-10-31 it is standard (B's 30000 ranks above it: share .857).
    assert values(moving, "churned_customers", YEAR_2025, ("tier",), settings) == {"standard": 1}
    # Churn reasons count key accounts by the same tier: V's switch-out is a key account's.
    reasons = churn_reasons(moving, vip, settings)
    assert list(zip(reasons["event"], reasons["reason"], reasons["customers"], reasons["key_accounts"])) == [
        ("switch_out", "direct purchase", 1, 1)]
    reasons = churn_reasons(moving, YEAR_2025, settings)
    assert list(zip(reasons["event"], reasons["customers"], reasons["key_accounts"])) == [("close", 1, 0)]


@pytest.mark.parametrize("path", PATHS)
def test_a_standard_customer_that_rises_to_key_is_not_in_the_key_cohort(moving, path):
    settings = PATHS[path]
    # Active on 2023-12-31, the day before the window: B, F, K, R, S, V, with that day's tiers: VIP {B, V}, key {K},
    # standard {F, R, S}. Still active on 2024-12-31: all but V (closed in July). VIP 1 / 2, key 1 / 1, standard 3 / 3.
    # (By the end's tiers: VIP {B} 1 / 1, key {R} 1 / 1, standard {F, K, S, V} 3 / 4.)
    for column, expected in (("numerator", {"VIP": 1, "key": 1, "standard": 3}),
                             ("denominator", {"VIP": 2, "key": 1, "standard": 3})):
        assert values(moving, "logo_retention", YEAR_2024, ("tier",), settings, column) == expected
    key = YEAR_2024.model_copy(update={"tiers": ("key",)})
    row = only(moving, "logo_retention", key, settings)
    assert (row["numerator"], row["denominator"]) == (1, 1)
    # R, key by the end of 2024 (share .625), was standard at the base: region B has no key cohort, 0 / 0 is null.
    row = only(moving, "logo_retention", key.model_copy(update={"regions": ("B",)}), settings)
    assert (row["numerator"], row["denominator"]) == (0, 0) and math.isnan(row["value"])


@pytest.mark.parametrize("path", PATHS)
def test_a_key_account_whose_revenue_collapses_stays_in_the_key_base(moving, path):
    settings = PATHS[path]
    # Base: revenue in 2023 with the tiers as of 2023-12-31; key: K 600. Its 2024 revenue, whatever its tier now
    # (standard): 10 -> NRR 10 / 600; GRR min(10, 600) = 10 / 600. (By the end's tiers the key base would be R:
    # 50 in 2023, 900 in 2024, an NRR of 18.)
    key = YEAR_2024.model_copy(update={"tiers": ("key",)})
    for metric_id in ("net_revenue_retention", "gross_revenue_retention"):
        row = only(moving, metric_id, key, settings)
        assert (row["numerator"], row["denominator"]) == (10, 600), metric_id
    # By tier: VIP {B 1600 -> 1600, V 1000 -> 0} = 1600 / 2600 (GRR the same); standard {R 50 -> 900, S 50 -> 50}
    # = 950 / 100 (GRR min(900, 50) + min(50, 50) = 100 / 100). F has no base revenue.
    assert values(moving, "net_revenue_retention", YEAR_2024, ("tier",), settings) == pytest.approx(
        {"VIP": 1600 / 2600, "key": 10 / 600, "standard": 9.5})
    assert values(moving, "gross_revenue_retention", YEAR_2024, ("tier",), settings) == pytest.approx(
        {"VIP": 1600 / 2600, "key": 10 / 600, "standard": 1.0})


@pytest.mark.parametrize("path", PATHS)
def test_a_breakdown_by_period_takes_each_periods_own_tiers(moving, path):
    settings = PATHS[path]
    key = YEAR_2024.model_copy(update={"tiers": ("key",)})
    # Over the year, key as of 2024-12-31 is R: its 300 (March) + 600 (September) = 900.
    assert only(moving, "revenue", key, settings)["value"] == 900
    # By quarter, key as of each quarter's end: Q1 (2024-03-31: K key, R standard) K's 10; Q2 no bills but F's
    # zeros (standard); Q3 (2024-09-30: R key, B VIP) R's 600.
    assert values(moving, "revenue", key, ("quarter",), settings) == {dt.date(2024, 1, 1): 10, dt.date(2024, 7, 1): 600}
    # By month: February K 10 (key as of 2024-02-29); March R 300 (standard as of 03-31); August B 1600 (VIP as of
    # 08-31); September R 600 (key as of 09-30).
    assert values(moving, "revenue", key, ("month",), settings) == {dt.date(2024, 2, 1): 10, dt.date(2024, 9, 1): 600}
    for start, end, expected in ((dt.date(2024, 1, 1), dt.date(2024, 3, 31), 10),
                                 (dt.date(2024, 7, 1), dt.date(2024, 9, 30), 600)):
        assert only(moving, "revenue", key.window(start, end), settings)["value"] == expected
    # Key-account share by quarter: Q1 K 10 of 10 + 50 + 300 -> 10 / 360; Q2 only zero bills -> 0 / 0, null;
    # Q3 B 1600 (VIP) + R 600 (key) of 2200 -> 1; Q4 only zero bills -> null.
    shares = values(moving, "key_account_revenue_share", YEAR_2024, ("quarter",), settings)
    assert [shares[dt.date(2024, 1, 1)], shares[dt.date(2024, 7, 1)]] == pytest.approx([10 / 360, 1.0])
    assert math.isnan(shares[dt.date(2024, 4, 1)]) and math.isnan(shares[dt.date(2024, 10, 1)])


@pytest.mark.parametrize("path", PATHS)
def test_revenue_growth_compares_each_window_with_its_own_tiers(moving, path):
    # 2024's key revenue (tiers as of 2024-12-31: R) 900 against 2023's (tiers as of 2023-12-31: K) 600 -> 0.5.
    row = only(moving, "revenue_yoy", YEAR_2024.model_copy(update={"tiers": ("key",)}), PATHS[path])
    assert (row["numerator"], row["denominator"], row["value"]) == (900, 600, 0.5)


@pytest.mark.parametrize("path", PATHS)
def test_cohort_retention_selects_cohorts_by_their_tier_at_the_end_of_the_opening_quarter(moving, path):
    # N opened 2025-01-10 and is VIP as of 2025-03-31 (its first quarter's end); it closed 2025-11-20: active at the
    # end of Q1, Q2 and Q3, not at the end of Q4. By the window's end it is standard.
    vip = cohort_retention(moving, YEAR_2025.model_copy(update={"tiers": ("VIP",)}), PATHS[path])
    assert vip["cohort"].unique().tolist() == [dt.date(2025, 1, 1)]
    assert vip["retention"].tolist() == [1.0, 1.0, 1.0, 0.0]
    assert cohort_retention(moving, YEAR_2025.model_copy(update={"tiers": ("standard",)}), PATHS[path]).empty


def ranked_tiers(customers, bills, as_of: pd.Timestamp) -> pd.Series:
    """SPEC 5.1 written again in pandas, for an independent check: customer_id -> tier as of a day."""
    window = bills[(bills["period"] > as_of - pd.DateOffset(years=1)) & (bills["period"] <= as_of)]
    revenue = customers["customer_id"].map(window.groupby("customer_id")["amount_billed"].sum()).fillna(0.0)
    ranked = pd.DataFrame({"customer_id": customers["customer_id"], "revenue": revenue}).sort_values(
        ["revenue", "customer_id"], ascending=[False, True])
    share_before = (ranked["revenue"].cumsum() - ranked["revenue"]) / ranked["revenue"].sum()
    tier = np.select([ranked["revenue"] <= 0, share_before < 0.5, share_before < 0.8], ["standard", "VIP", "key"],
                     "standard")
    return pd.Series(tier, index=ranked["customer_id"])


def test_demo_key_accounts_lost_are_those_that_were_key_before_they_left(demo):
    """On the demo warehouse, churned_customers with tiers VIP and key counts the accounts closed in the window that
    were VIP or key on the last day of the month before the month they closed, as ranked here in pandas from the
    loaded customers and bills; and more of them than were still VIP or key at the window's end."""
    f = Filters(start=dt.date(2025, 11, 1), end=dt.date(2026, 10, 31), tiers=("VIP", "key"))
    customers = demo.sql("SELECT customer_id, closed_on FROM customers").df()
    bills = demo.sql("SELECT customer_id, period, amount_billed FROM billing").df()
    bills["period"] = pd.to_datetime(bills["period"])
    closed = customers[customers["closed_on"].between(pd.Timestamp(f.start), pd.Timestamp(f.end))]
    bases = closed["closed_on"].map(lambda day: pd.Timestamp(day).replace(day=1) - pd.Timedelta(days=1))
    tiers = {base: ranked_tiers(customers, bills, base) for base in set(bases)}
    before_leaving = sum(tiers[base][c] in ("VIP", "key") for c, base in zip(closed["customer_id"], bases))
    at_end = ranked_tiers(customers, bills, pd.Timestamp(f.end))[closed["customer_id"]].isin(["VIP", "key"]).sum()
    assert before_leaving > at_end, (before_leaving, at_end)
    for settings in PATHS.values():
        assert only(demo, "churned_customers", f, settings)["value"] == before_leaving


@pytest.fixture(scope="module")
def first_month_churn(tmp_path_factory):
    """Bills from January 2023 on. X (given tier key) and Z close in that first month: their churn day, 2022-12-31,
    has no snapshot and no bill in its trailing year, so its tiers are computed (every revenue 0: X key, as given,
    Z standard). Y closes in March: its day, 2023-02-28, has a snapshot, in which Y (1000 of 1010 billed) is VIP."""
    folder = tmp_path_factory.mktemp("first_month_churn")
    (folder / "customers.csv").write_text(
        "customer_id,region,service_center,opened_on,closed_on,tier\n"
        "A,A,A1,2020-01-01,,\nX,A,A1,2020-01-01,2023-01-20,key\nY,A,A1,2020-01-01,2023-03-05,\n"
        "Z,B,B1,2020-01-01,2023-01-25,\n", encoding="utf-8")
    (folder / "billing.csv").write_text("customer_id,period,amount_billed\nA,2023-01,10\nY,2023-01,1000\n"
                                        "A,2023-02,10\nA,2023-03,10\nA,2023-04,10\n", encoding="utf-8")
    (folder / "tickets.csv").write_text("ticket_id,customer_id,ticket_type,created_at\n", encoding="utf-8")
    report = load([folder], folder / "w.duckdb")
    assert all(f.rejected == 0 for f in report.files), report.to_json()
    con = connect(folder / "w.duckdb")
    yield con
    con.close()


@pytest.mark.parametrize("path", PATHS)
def test_churn_from_the_first_month_of_bills_takes_the_computed_tiers_of_a_day_without_a_snapshot(
        first_month_churn, path):
    settings = PATHS[path]
    window = Filters(start=dt.date(2023, 1, 1), end=dt.date(2023, 4, 30))
    assert values(first_month_churn, "churned_customers", window, ("tier",), settings) == {
        "key": 1, "standard": 1, "VIP": 1}  # X, Z, Y
    key_accounts = window.model_copy(update={"tiers": ("VIP", "key")})
    assert only(first_month_churn, "churned_customers", key_accounts, settings)["value"] == 2  # X, Y
    assert values(first_month_churn, "churned_customers", key_accounts, ("month",), settings) == {
        dt.date(2023, 1, 1): 1, dt.date(2023, 3, 1): 1}
    assert values(first_month_churn, "churned_customers", key_accounts, ("region",), settings) == {"A": 2}
    standard = window.model_copy(update={"tiers": ("standard",)})
    assert values(first_month_churn, "churned_customers", standard, ("region",), settings) == {"B": 1}  # Z
    reasons = churn_reasons(first_month_churn, window, settings)
    assert reasons["customers"].sum() == 3 and reasons["key_accounts"].sum() == 2
