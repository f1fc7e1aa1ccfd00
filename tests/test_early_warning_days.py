"""The early-warning list on a day inside a month (metrics.retention.early_warning_day_sql: the month end's stored
inputs and the days between) against the list on the month end, on a warehouse small enough to check by eye: every
input that moves between 2024-06-20 and 2024-06-30 moves in it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import metrics
from ingest import load
from metrics import Filters, MetricSettings
from metrics.retention import early_warning
from tests.conftest import write

# Given tiers: K1 VIP, K2 key, K3 key (closes 2024-06-25), K4 VIP (opens 2024-06-25), S1 standard.
CUSTOMERS = """customer_id,customer_name,region,service_center,industry,area,voltage_kv,contract_capacity_kva,tier,opened_on,closed_on
K1,One,A,A1,steel,urban,110,5000,VIP,2020-01-01,
K2,Two,A,A1,steel,urban,10,2000,key,2020-01-01,
K3,Three,B,B1,steel,urban,10,2000,key,2020-01-01,2024-06-25
K4,Four,B,B1,steel,urban,10,2000,VIP,2024-06-25,
S1,Five,B,B1,steel,urban,10,800,standard,2020-01-01,
"""
# Bills in June 2023 and June 2024 only (tier snapshots at both month ends); K1 paid everything, nobody's kWh fell.
BILLING = """customer_id,period,consumption_kwh,amount_billed,amount_paid
K1,2023-06,100,50,50
K1,2024-06,100,50,50
K2,2023-06,100,50,50
K2,2024-06,100,50,50
K3,2023-06,100,50,50
K3,2024-06,100,50,50
K4,2024-06,100,50,50
S1,2023-06,100,50,50
S1,2024-06,100,50,50
"""
# K1: complaints 2024-03-25 (in the 90 days up to 06-20, not those up to 06-30) and 2024-05-01 (both); callback
# scores 1 on 2023-06-25 (in the year up to 06-20 only) and 3 on 2024-05-01. K2: complaints 2024-06-10 and 2024-06-25
# (after 06-20), the latter scored 5. S1 (standard) complains twice: never listed.
TICKETS = """ticket_id,customer_id,channel,ticket_type,category,created_at,resolved_at,satisfaction
T1,K1,hotline,complaint,outage,2024-03-25 09:00,2024-03-26 09:00,
T2,K1,hotline,complaint,outage,2024-05-01 09:00,2024-05-02 09:00,3
T3,K1,hotline,repair,outage,2023-06-25 09:00,2023-06-25 12:00,1
T4,K2,hotline,complaint,outage,2024-06-10 09:00,2024-06-11 09:00,
T5,K2,hotline,complaint,outage,2024-06-25 09:00,2024-06-26 09:00,5
T6,S1,hotline,complaint,outage,2024-06-01 09:00,2024-06-02 09:00,
T7,S1,hotline,complaint,outage,2024-06-02 09:00,2024-06-03 09:00,
"""
# K1 visited 2023-12-01 and 2024-06-25 (after 06-20); K2 2024-06-05 and 2024-06-28; K3 and K4 never.
VISITS = """visit_id,customer_id,visited_on,visit_type,staff_id
V1,K1,2023-12-01,routine,E1
V2,K1,2024-06-25,routine,E1
V3,K2,2024-06-05,routine,E1
V4,K2,2024-06-28,routine,E1
"""
# K2's survey of 2024-06-25 (after 06-20) scored 1, the one before 4; two surveys of K1 on one day (the greater id's
# score is the last).
SURVEYS = """survey_id,customer_id,surveyed_on,method,overall
S01,K2,2024-01-05,phone,4
S02,K2,2024-06-25,phone,1
S03,K1,2024-02-01,phone,2
S04,K1,2024-02-01,phone,5
"""
# K1's capacity reduction of 2023-06-25 is in the year up to 06-20, not in the year up to 06-30.
EVENTS = """customer_id,event_date,event,capacity_change_kva,reason
K1,2023-06-25,capacity_reduction,-500,
K3,2024-06-25,close,-2000,moved
"""


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    folder = tmp_path_factory.mktemp("early_warning_days")
    for name, text in (("customers.csv", CUSTOMERS), ("billing.csv", BILLING), ("tickets.csv", TICKETS),
                       ("visits.csv", VISITS), ("surveys.csv", SURVEYS), ("account_events.csv", EVENTS)):
        write(folder, name, text)
    report = load([folder], folder / "w.duckdb")
    assert all(f.rejected == 0 for f in report.files), report.to_json()
    con = metrics.connect(folder / "w.duckdb")
    yield con
    con.close()


DAY, MONTH_END = dt.date(2024, 6, 20), dt.date(2024, 6, 30)
DIRECT = MetricSettings(rollups=False)


def test_the_month_end_list(con):
    frame = early_warning(con, Filters(start=dt.date(2024, 6, 1), end=MONTH_END)).set_index("customer_id")
    # K3 closed on 06-25; K4 opened then, never visited. K1's one complaint, callbacks of 3, no capacity event in
    # the year, visited on 06-25; K2's two complaints, survey of 1 and visit of 06-28.
    assert frame.index.tolist() == ["K4", "K2"]
    assert frame.loc["K4", "reasons"] == "no visit in 180 days"
    assert frame.loc["K2", "reasons"] == "2 complaints in 90 days; low satisfaction (survey 1/5)"
    assert frame.loc["K2", "last_visit"] == pd.Timestamp("2024-06-28")


def test_a_day_inside_the_month_reads_the_day_not_the_month_end(con):
    f = Filters(start=dt.date(2024, 6, 1), end=DAY)
    frame = early_warning(con, f).set_index("customer_id")
    # K4 not open yet; K3 still open (closes 06-25), never visited; K2 one complaint by 06-20, last survey 4, last
    # visit 06-05: not at risk.
    assert frame.index.tolist() == ["K1", "K3"]
    k1 = frame.loc["K1"]
    assert k1["complaints_90d"] == 2  # 03-25 and 05-01
    assert k1["callback_avg"] == 2.0  # (1 + 3) / 2
    assert k1["last_visit"] == pd.Timestamp("2023-12-01")  # the visit of 06-25 is after the day
    assert k1["last_survey_overall"] == 5  # S04 over S03, the same day
    assert k1["reasons"] == ("2 complaints in 90 days; low satisfaction (callbacks 2.0/5); no visit since 2023-12-01; "
                             "capacity reduction")
    assert frame.loc["K3", "reasons"] == "no visit in 180 days"
    assert frame.loc["K3", "tier"] == "key"
    # exactly the row-level definition (rollups off), also with filters
    pd.testing.assert_frame_equal(early_warning(con, f), early_warning(con, f, DIRECT))
    for narrowed in (f.model_copy(update={"tiers": ("key",)}), f.model_copy(update={"regions": ("B",)}),
                     f.model_copy(update={"regions": ("A",), "tiers": ("VIP",)})):
        fast, slow = early_warning(con, narrowed), early_warning(con, narrowed, DIRECT)
        pd.testing.assert_frame_equal(fast, slow)
        assert len(fast) == 1


def test_the_day_path_is_the_one_taken(con, monkeypatch):
    """With the tables built at load, a day inside a month takes the day path (so the comparison above compares it);
    with rollups off it does not."""
    from metrics import retention

    called = []
    original = retention.early_warning_day_sql
    monkeypatch.setattr(retention, "early_warning_day_sql",
                        lambda p, f: called.append(f.end) or original(p, f))
    early_warning(con, Filters(start=dt.date(2024, 6, 1), end=DAY))
    early_warning(con, Filters(start=dt.date(2024, 6, 1), end=DAY), DIRECT)
    assert called == [DAY]
