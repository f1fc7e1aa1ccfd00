"""Each catalogue metric on the hand-sized warehouse of conftest.py, with the arithmetic written out."""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
from pathlib import Path

import duckdb
import pytest

import metrics
from metrics import CATALOGUE, Filters, compute


def value(con, metric_id, f, **kw):
    return compute(con, metric_id, f, **kw)["value"].iloc[0]


def by_dim(con, metric_id, f, dim):
    frame = compute(con, metric_id, f, by=(dim,))
    return dict(zip(frame[dim], frame["value"]))


# --- financial -------------------------------------------------------------------------------

def test_revenue_and_consumption(hand, year2024):
    # 2024 bills: C1 600 + 600, C2 200, C3 150, C4 50 = 1600; kWh 1200+1200+400+300+100 = 3200
    assert value(hand, "revenue", year2024) == 1600
    assert value(hand, "consumption_kwh", year2024) == 3200
    # region A = C1 + C2 = 1400; region B = C3 + C4 = 200
    assert by_dim(hand, "revenue", year2024, "region") == {"A": 1400, "B": 200}
    # by month: Jan 600+200+50, Feb 600, Mar 150
    months = compute(hand, "revenue", year2024, by=("month",))
    assert months["month"].tolist() == [dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)]
    assert months["value"].tolist() == [850, 600, 150]


def test_revenue_yoy(hand, year2024):
    # 2024 1600 / 2023 (1000 + 400 + 100 = 1500) - 1
    row = compute(hand, "revenue_yoy", year2024)
    assert row["value"].iloc[0] == pytest.approx(1600 / 1500 - 1)
    assert (row["numerator"].iloc[0], row["denominator"].iloc[0]) == (1600, 1500)
    # region B: 200 / 100 - 1 = 1.0
    assert by_dim(hand, "revenue_yoy", year2024, "region")["B"] == pytest.approx(1.0)


def test_collection_rate(hand, year2024):
    # paid 600 + 300 + 200 + 150 + 0 = 1250 of 1600 billed
    assert value(hand, "collection_rate", year2024) == pytest.approx(1250 / 1600)


def test_key_account_share_and_top20(hand, year2024):
    # tiers as of 2024-12-31 from 2024 revenue: C1 1200 (share before 0 -> VIP), C2 200 (1200/1600 = .75 -> key),
    # C3 150 (.875 -> standard), C4 50 (standard), C5 none (standard)
    assert value(hand, "key_account_revenue_share", year2024) == pytest.approx((1200 + 200) / 1600)
    # four customers with revenue -> ceil(0.8) = 1 top customer: C1 1200 / 1600
    assert value(hand, "top20_revenue_share", year2024) == pytest.approx(0.75)
    # within region B: C3 150, C4 50 -> ceil(0.4) = 1 -> 150 / 200
    assert by_dim(hand, "top20_revenue_share", year2024, "region")["B"] == pytest.approx(0.75)


# --- customer --------------------------------------------------------------------------------

def test_active_and_churned_customers(hand, year2024):
    # all five are active at some point of 2024 (C3 opened in March, C2 and C4 closed during the year)
    assert value(hand, "active_customers", year2024) == 5
    assert value(hand, "churned_customers", year2024) == 2            # C4 on 2024-02-10, C2 on 2024-06-15
    # by quarter: Q1 all 5 (C4 closed in Feb, C3 opened in Mar); Q2 C1 C2 C3 C5; Q3 and Q4 C1 C3 C5
    quarters = compute(hand, "active_customers", year2024, by=("quarter",))
    assert quarters["value"].tolist() == [5, 4, 3, 3]
    assert dict(zip(compute(hand, "churned_customers", year2024, by=("quarter",))["quarter"],
                    compute(hand, "churned_customers", year2024, by=("quarter",))["value"])) == {
        dt.date(2024, 1, 1): 1, dt.date(2024, 4, 1): 1}


def test_substantiated_share(hand, year2024):
    # 2024 complaints with the flag: T3 Y, T4 N -> 1 / 2
    assert value(hand, "substantiated_share", year2024) == pytest.approx(0.5)
    assert by_dim(hand, "substantiated_share", year2024, "category") == {"service attitude": 1.0, "billing error": 0.0}


def test_complaints_and_rate(hand, year2024):
    assert value(hand, "complaints", year2024) == 2                     # T3, T4
    # 2 complaints / 5 active customers x 10,000
    assert value(hand, "complaint_rate_per_10k", year2024) == pytest.approx(4000)
    # region A: T4 only, 2 active (C1, C2) -> 5000; region B: T3, 3 active -> 3333.3
    rates = by_dim(hand, "complaint_rate_per_10k", year2024, "region")
    assert rates == pytest.approx({"A": 5000, "B": 10_000 / 3})


def test_survey_scores(hand, year2024):
    # 2024 surveys: overall 5, 3, 4 -> two of three are >= 4
    assert value(hand, "csat", year2024) == pytest.approx(2 / 3)
    # nps answers 10, 6, 8: one promoter, one detractor -> (1/3 - 1/3) x 100 = 0
    assert value(hand, "nps", year2024) == pytest.approx(0)
    # callback scores on tickets: 5, 3, 2, 4 -> 3.5
    assert value(hand, "callback_satisfaction", year2024) == pytest.approx(3.5)


def test_logo_retention(hand, year2024):
    # active on 2023-12-31: C1, C2, C4, C5 (C3 opened later); still active on 2024-12-31: C1, C5
    row = compute(hand, "logo_retention", year2024)
    assert (row["numerator"].iloc[0], row["denominator"].iloc[0], row["value"].iloc[0]) == (2, 4, 0.5)


def test_revenue_retention(hand, year2024):
    # base 2023: C1 1000, C2 400, C4 100 = 1500; their 2024 revenue 1200, 200, 50 = 1450
    assert value(hand, "net_revenue_retention", year2024) == pytest.approx(1450 / 1500)
    # gross caps each at its base: 1000 + 200 + 50 = 1250
    assert value(hand, "gross_revenue_retention", year2024) == pytest.approx(1250 / 1500)


# --- internal process ------------------------------------------------------------------------

def test_ticket_counts_and_backlog(hand, year2024):
    assert value(hand, "tickets", year2024) == 9                        # T1..T9 created in 2024
    assert by_dim(hand, "tickets", year2024, "region") == {"A": 4, "B": 5}
    # open at the end of 2024-12-31: T5 (created that evening), T6, and T10 from 2023
    assert value(hand, "backlog", year2024) == 3
    # at the end of each quarter: Q1 and Q2 T10 only; Q3 T10 and T7 (open 9-27 to 10-10); Q4 T5 T6 T10
    assert compute(hand, "backlog", year2024, by=("quarter",))["value"].tolist() == [1, 1, 2, 3]



def test_the_backlog_table_holds_the_tickets_open_at_some_day_end_in_the_order_they_leave(hand, year2024):
    """ticket_backlog (built at load, metrics.rollups.build_ticket_backlog): T1, T2 and T9 were resolved the day they
    were created, so they are in no day-end backlog and left out; T3 (resolved 04-03), T4 (05-02), T7 (10-10), T8
    (10-15) in that order, then the unresolved T10 (created 2023-12-20), T6 (2024-12-01), T5 (2024-12-31)."""
    rows = hand.execute("SELECT created_at, resolved_at FROM ticket_backlog").fetchall()
    assert [(c.strftime("%Y-%m-%d %H:%M"), r and r.strftime("%m-%d")) for c, r in rows] == [
        ("2024-04-01 09:00", "04-03"), ("2024-05-01 09:00", "05-02"), ("2024-09-27 10:00", "10-10"),
        ("2024-10-08 09:00", "10-15"), ("2023-12-20 09:00", None), ("2024-12-01 09:00", None),
        ("2024-12-31 20:00", None)]
    # Backlog at the end of chosen days, from that table and from ticket_facts (rollups off):
    # 2024-04-02: T10, T3 (resolved the next day) = 2; 2024-04-03: T10 = 1 (T3 resolved that day);
    # 2024-10-09: T10, T7, T8 = 3; 2024-10-10: T10, T8 = 2; 2024-12-31: T10, T6, T5 = 3.
    from metrics import MetricSettings

    for day, expected in (("2024-04-02", 2), ("2024-04-03", 1), ("2024-10-09", 3), ("2024-10-10", 2),
                          ("2024-12-31", 3)):
        f = year2024.window(year2024.start, dt.date.fromisoformat(day))
        assert value(hand, "backlog", f) == expected, day
        assert value(hand, "backlog", f, settings=MetricSettings(rollups=False)) == expected, day

def test_response_and_resolution_percentiles(hand, year2024):
    # response hours: T1 .25, T2 .5, T3 25, T4 2 -> sorted .25 .5 2 25
    assert value(hand, "median_response_hours", year2024) == pytest.approx((0.5 + 2) / 2)
    assert value(hand, "p90_response_hours", year2024) == pytest.approx(2 + 0.7 * (25 - 2))   # position 2.7
    # resolution hours: T9 1, T1 2, T2 3, T4 24, T3 48, T8 169, T7 319
    assert value(hand, "median_resolution_hours", year2024) == pytest.approx(24)
    assert value(hand, "p90_resolution_hours", year2024) == pytest.approx(169 + 0.4 * (319 - 169))  # position 5.4



def test_median_and_p90_by_group_exactly_as_quantile_cont_and_never_stale(hand, hand_db, year2024, tmp_path):
    """Each quantile equals DuckDB's quantile_cont over the group's tickets' whole seconds / 3600 exactly (over the
    hours' doubles A's p90 would be 1.7000000000000002: the seconds give the hand value itself); a group without any
    value is null, not 0; and a change to the rows on the same connection shows in the next call (nothing is kept
    between calls)."""
    # response hours by region: A (C1, C2) T1 .25, T2 .5, T4 2 -> median .5, p90 at position 0.9 x 2 = 1.8:
    # .5 + .8 x (2 - .5) = 1.7; B (C3) T3 25 alone -> 25 and 25
    median = compute(hand, "median_response_hours", year2024, by=("region",))
    p90 = compute(hand, "p90_response_hours", year2024, by=("region",))
    assert median["value"].tolist() == pytest.approx([0.5, 25])
    assert p90["value"].tolist() == pytest.approx([1.7, 25])
    alone = hand.execute("""SELECT region, quantile_cont(response_seconds, 0.5) / 3600.0,
                                   quantile_cont(response_seconds, 0.9) / 3600.0
                            FROM ticket_facts WHERE year(created_at) = 2024 GROUP BY region ORDER BY region""").fetchall()
    assert [tuple(r) for r in zip(median["region"], median["value"], p90["value"])] == alone  # exactly equal
    assert p90["value"].iloc[0] == 1.7
    # a group without any value: 2024's praise ticket T9 has no first response -> null, not 0
    assert math.isnan(value(hand, "median_response_hours", year2024.model_copy(update={"ticket_types": ("praise",)})))
    # B's only ticket T3 answered in 27 h instead of 25 h: B's median and p90 are 27 at once, on the same connection
    copy = tmp_path / "hand.duckdb"
    shutil.copy(hand_db, copy)
    with duckdb.connect(str(copy)) as con:
        assert compute(con, "p90_response_hours", year2024, by=("region",))["value"].tolist() == pytest.approx([1.7, 25])
        con.execute("UPDATE ticket_facts SET response_hours = 27, response_seconds = 27 * 3600 "
                    "WHERE region = 'B' AND response_hours = 25")
        for metric in ("median_response_hours", "p90_response_hours"):
            assert compute(con, metric, year2024, by=("region",))["value"].tolist()[1] == pytest.approx(27), metric


def test_several_quantiles_in_one_query_equal_each_single_call(hand, year2024, monkeypatch):
    """compute_many gives each duration quantile exactly as compute does, from one query for all of them."""
    import pandas as pd

    import metrics.facts
    from metrics import compute_many

    ids = ("median_response_hours", "p90_response_hours", "median_resolution_hours", "p90_resolution_hours")
    queries = []
    real_run = metrics.facts.run
    monkeypatch.setattr(metrics.facts, "run", lambda con, sql, p: queries.append(sql) or real_run(con, sql, p))
    many = compute_many(hand, ids, year2024, by=("region",))
    assert len(queries) == 1  # one scan for the four
    monkeypatch.setattr(metrics.facts, "run", real_run)
    for metric_id in ids:
        pd.testing.assert_frame_equal(many[metric_id], compute(hand, metric_id, year2024, by=("region",)))
    # response hours, A (C1, C2): T1 .25, T2 .5, T4 2 -> median .5, p90 at position .9 x 2 = 1.8: .5 + .8 x 1.5 = 1.7;
    # B (C3): T3 25 alone -> 25 and 25
    assert many["median_response_hours"]["value"].tolist() == pytest.approx([0.5, 25])
    assert many["p90_response_hours"]["value"].tolist() == pytest.approx([1.7, 25])
    # resolution hours, A: T1 2, T2 3, T4 24 -> median 3, p90 at 1.8: 3 + .8 x (24 - 3) = 19.8;
    # B (C3, C4): T9 1, T3 48, T8 169, T7 319 -> median at 1.5: (48 + 169) / 2 = 108.5, p90 at 2.7: 169 + .7 x 150 = 274
    assert many["median_resolution_hours"]["value"].tolist() == pytest.approx([3, 108.5])
    assert many["p90_resolution_hours"]["value"].tolist() == pytest.approx([19.8, 274])
    # by month, with another metric among them (computed on its own): March T1 .25, T2 .5 -> median .375
    months = compute_many(hand, ("tickets", "median_response_hours", "p90_response_hours"), year2024, by=("month",))
    for metric_id, frame in months.items():
        pd.testing.assert_frame_equal(frame, compute(hand, metric_id, year2024, by=("month",)))
    march = months["median_response_hours"].set_index("month")["value"]
    assert march[dt.date(2024, 3, 1)] == pytest.approx(0.375)
    # praise tickets: T9 has no first response (null, not 0) and was resolved in 1 h
    praise = compute_many(hand, ids, year2024.model_copy(update={"ticket_types": ("praise",)}))
    assert math.isnan(praise["median_response_hours"]["value"].iloc[0])
    assert praise["median_resolution_hours"]["value"].iloc[0] == pytest.approx(1)
    # a window without tickets: no data for each, as compute gives
    later = Filters(start=dt.date(2030, 1, 1), end=dt.date(2030, 12, 31))
    for metric_id, frame in compute_many(hand, ids, later).items():
        assert frame["value"].isna().all(), metric_id
        pd.testing.assert_frame_equal(frame, compute(hand, metric_id, later))
    with pytest.raises(ValueError, match="cannot be broken down"):
        compute_many(hand, ("median_response_hours", "revenue"), year2024, by=("ticket_type",))


def test_repair_arrival(hand, year2024):
    # T1 40 minutes, T2 100 minutes
    assert value(hand, "repair_arrival_minutes", year2024) == pytest.approx(70)
    assert by_dim(hand, "repair_arrival_minutes", year2024, "area") == pytest.approx({"urban": 40, "rural": 100})


def test_sla_compliance(hand, year2024):
    # T1 repair urban 40 <= 45 min: met.       T2 repair rural 100 > 90 min: breached.
    # T3 complaint first response 25 h > 24 h: breached.   T4 complaint 2 h and 24 h: met.
    # T5 inquiry open, due 2025-01-01 20:00, after the end of 2024-12-31: pending, left out.
    # T6 billing open, due 2024-12-02 09:00: breached.
    # T7 connection at 0.4 kV, 5 working days from Fri 2024-09-27: Sun 9-29 (worked), Mon 9-30, then the
    #    National Day holiday, 10-8, 10-9, 10-10 -> due end of 10-10; resolved 10-10 17:00: met.
    # T8 connection from Tue 2024-10-08: 10-9, 10-10, 10-11, Sat 10-12 (worked), Mon 10-14 -> due end of 10-14;
    #    resolved 10-15 10:00: breached (a Monday-to-Friday count would call it met).
    # T9 praise: no target.     -> met T1 T4 T7 = 3 of 7 known.
    row = compute(hand, "sla_compliance", year2024)
    assert (row["numerator"].iloc[0], row["denominator"].iloc[0]) == (3, 7)
    by_type = compute(hand, "sla_compliance", year2024, by=("ticket_type",)).set_index("ticket_type")
    assert by_type.loc["connection", "value"] == 0.5 and by_type.loc["billing", "value"] == 0
    assert "praise" not in by_type.index


def test_sla_outcome_is_judged_at_the_end_of_the_window_not_the_month(hand):
    # Window ending 2024-10-09: T7 is still open and inside its target -> pending; T8 not created yet.
    f = Filters(start=dt.date(2024, 9, 1), end=dt.date(2024, 10, 9))
    row = compute(hand, "sla_compliance", f)
    assert (row["numerator"].iloc[0], row["denominator"].iloc[0]) == (0, 0)
    assert math.isnan(row["value"].iloc[0])  # zero denominator -> null
    # Grouped by month for all 2024: T7 (created September, resolved October) counts in September.
    months = compute(hand, "sla_compliance", Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31)),
                     by=("month",)).set_index("month")
    assert months.loc[dt.date(2024, 9, 1), "value"] == 1.0


def test_sla_targets_are_configurable(hand, year2024):
    relaxed = metrics.MetricSettings(sla=metrics.SlaTargets(repair_arrival_minutes={"urban": 45, "rural": 120, "remote": 120}))
    row = compute(hand, "sla_compliance", year2024, settings=relaxed)
    assert (row["numerator"].iloc[0], row["denominator"].iloc[0]) == (4, 7)  # T2 now met


def test_fcr_and_reopen(hand, year2024):
    # resolved with a flag: T1 Y, T2 N, T3 N, T4 Y -> 2 / 4
    assert value(hand, "first_contact_resolution", year2024) == pytest.approx(0.5)
    # resolved: T1 T2 T3 T4 T7 T8 T9 = 7; reopened: T3
    assert value(hand, "reopen_rate", year2024) == pytest.approx(1 / 7)


# --- learning and growth ---------------------------------------------------------------------

def test_visit_coverage(hand, year2024):
    # VIP and key active at 2024-12-31: C1 (VIP); C2 (key) closed in June. C1 visited in May -> 1 / 1
    row = compute(hand, "visit_coverage", year2024)
    assert (row["numerator"].iloc[0], row["denominator"].iloc[0]) == (1, 1)
    # window ending 2024-04-30: C1 and C2 both active; only C2 visited by then (March) -> 1 / 2
    assert value(hand, "visit_coverage", year2024.window(dt.date(2024, 1, 1), dt.date(2024, 4, 30))) == 0.5


def test_training_hours(hand, year2024):
    # 2024: E1 8 + 4, E2 6 = 18 hours over 2 staff
    assert value(hand, "training_hours_per_staff", year2024) == pytest.approx(9)
    assert value(hand, "training_hours_per_staff", year2024.model_copy(update={"regions": ("A",)})) == 12


# --- filters, edge cases and errors -----------------------------------------------------------

def test_tier_filter_uses_company_wide_tiers(hand, year2024):
    vip = Filters(start=year2024.start, end=year2024.end, tiers=("VIP",))
    assert value(hand, "revenue", vip) == 1200
    # restricting to region B does not make C3 a VIP: B has no VIP customers
    vip_b = Filters(start=year2024.start, end=year2024.end, tiers=("VIP",), regions=("B",))
    assert value(hand, "revenue", vip_b) == 0
    assert by_dim(hand, "revenue", year2024, "tier") == {"VIP": 1200, "key": 200, "standard": 200}


def test_allowed_regions_only_narrow(hand, year2024):
    f = Filters(start=year2024.start, end=year2024.end, regions=("A", "B"), allowed_regions=("B",))
    assert f.effective_regions == ("B",)
    assert value(hand, "revenue", f) == 200
    widened = Filters(start=year2024.start, end=year2024.end, allowed_regions=("B",))
    assert by_dim(hand, "tickets", widened, "region") == {"B": 5}
    outside = Filters(start=year2024.start, end=year2024.end, regions=("A",), allowed_regions=("B",))
    assert value(hand, "tickets", outside) == 0


def test_empty_selection_and_zero_denominators(hand, year2024):
    nothing = Filters(start=year2024.start, end=year2024.end, regions=("Z",))
    assert value(hand, "revenue", nothing) == 0
    assert value(hand, "tickets", nothing) == 0
    for ratio_id in ("collection_rate", "sla_compliance", "csat", "complaint_rate_per_10k", "logo_retention"):
        assert math.isnan(value(hand, ratio_id, nothing)), ratio_id
    assert compute(hand, "revenue", nothing, by=("region",)).empty


def test_ticket_filters(hand, year2024):
    online = Filters(start=year2024.start, end=year2024.end, channels=("online",))
    assert value(hand, "tickets", online) == 3                         # T3, T5, T9
    repairs = Filters(start=year2024.start, end=year2024.end, ticket_types=("repair",))
    assert value(hand, "tickets", repairs) == 2
    assert value(hand, "complaints", repairs) == 2  # complaints are complaints whatever the type filter


def test_filters_refuse_bad_input():
    with pytest.raises(ValueError, match="start 2024-02-01 is after end 2024-01-01"):
        Filters(start=dt.date(2024, 2, 1), end=dt.date(2024, 1, 1))
    with pytest.raises(ValueError, match="regoins"):
        Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 1, 2), regoins=("A",))
    with pytest.raises(ValueError, match="tiers"):
        Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 1, 2), tiers=("gold",))


def test_compute_errors_name_what_is_known(hand, year2024):
    with pytest.raises(KeyError, match="unknown metric 'revenu'.*revenue"):
        compute(hand, "revenu", year2024)
    with pytest.raises(ValueError, match="cannot be broken down by channel"):
        compute(hand, "revenue", year2024, by=("channel",))
    with pytest.raises(ValueError, match="at most one time grain"):
        compute(hand, "tickets", year2024, by=("month", "year"))


def test_ratio_metrics_return_numerator_and_denominator(hand, year2024):
    for metric in CATALOGUE.values():
        frame = compute(hand, metric.id, year2024)
        expected = ["value", "numerator", "denominator"] if metric.is_ratio else ["value"]
        assert list(frame.columns) == expected, metric.id


# --- catalogue ---------------------------------------------------------------------------------

def test_catalogue_entries_are_complete():
    for metric in CATALOGUE.values():
        assert metric.label_en and metric.label_zh and metric.unit, metric.id
        assert re.search(r"[\u4e00-\u9fff]", metric.label_zh), metric.id
        assert metric.definition.endswith("."), metric.id


def test_readme_metric_reference_matches_the_catalogue():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- metric-reference:start -->")[1].split("<!-- metric-reference:end -->")[0]
    rows = [line.split(" | ") for line in block.strip().splitlines()[2:]]
    documented = {r[0].lstrip("| "): (r[2], r[3], r[4], r[5], r[6].rstrip(" |")) for r in rows}
    assert documented == {m.id: (m.label_en, m.label_zh, m.unit, m.direction, m.definition) for m in CATALOGUE.values()}


def test_voltage_level_filters_and_breaks_down_every_customer_metric(hand, year2024):
    # 2024 revenue by voltage: C1 110 kV 600 + 600 = 1200; 10 kV C2 200 + C4 50 = 250; 0.4 kV C3 150
    assert by_dim(hand, "revenue", year2024, "voltage_kv") == {110.0: 1200, 10.0: 250, 0.4: 150}
    ten = year2024.model_copy(update={"voltages": (10.0,)})
    assert value(hand, "revenue", ten) == 250
    # active in 2024 at 10 kV: C2 (closed 2024-06-15), C4 (closed 2024-02-10), C5 -> 3
    assert value(hand, "active_customers", ten) == 3
    # net revenue retention at 10 kV: 2023 base C2 400 + C4 100 = 500; 2024 revenue of them 200 + 50 = 250 -> 0.5
    row = compute(hand, "net_revenue_retention", ten).iloc[0]
    assert (row["numerator"], row["denominator"], row["value"]) == (250, 500, 0.5)
    # the same on the row-level path
    from metrics import MetricSettings

    direct = compute(hand, "net_revenue_retention", ten, settings=MetricSettings(rollups=False)).iloc[0]
    assert (direct["numerator"], direct["denominator"]) == (250, 500)


def test_a_manager_choice_or_limit_is_never_answered_from_a_roll_up(hand, year2024):
    """The roll-ups are not kept per account manager (metrics.model): the planner sends every Filters that selects
    accounts by manager, chosen or as the signed-in user's row limit, to the facts."""
    from metrics.customer import _retention_by_month
    from metrics.facts import month_end_windows, rollup_tier_sql, ticket_rollup, window_revenue_sql
    from metrics.query import Params
    from metrics.settings import DEFAULT_SETTINGS as S

    # The hand warehouse's bills have month ends 2023-01 and 2024-01 to 2024-03: twelve whole months ending in
    # January 2024 start after a month end with a running total, and January 2024 is one month.
    year = year2024.window(dt.date(2023, 2, 1), dt.date(2024, 1, 31))
    january = year2024.window(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    # Without a manager each planner answers these windows from a roll-up, so the assertions below could fail.
    p = Params(hand)
    assert rollup_tier_sql(p, year, (), S, "b.month") is not None and ticket_rollup(p, year, (), S) is not None
    assert window_revenue_sql(p, year, S) is not None
    assert month_end_windows(p, _retention_by_month(False), [january], S, january, ()) is not None
    for update in ({"account_managers": ("M1",)}, {"allowed_account_managers": ("M1",)}):
        f, month = year.model_copy(update=update), january.model_copy(update=update)
        assert rollup_tier_sql(p, f, (), S, "b.month") is None and ticket_rollup(p, f, (), S) is None
        assert window_revenue_sql(p, f, S) is None
        assert month_end_windows(p, _retention_by_month(False), [month], S, month, ()) is None
