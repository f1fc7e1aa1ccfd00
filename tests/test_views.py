"""Views that are not single numbers, on the hand-sized warehouse, plus properties on the demo warehouse."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import load
from metrics import Filters, MetricSettings, compute, connect
from metrics.query import periods
from metrics.retention import churn_reasons, cohort_retention, early_warning, survey_dimensions
from metrics.service import backlog_ageing, complaint_outliers, duration_distribution, repeat_complainants
from metrics.tiers import (
    pareto_curve,
    revenue_concentration,
    rising_accounts,
    tier_assignment,
    tier_distribution,
    tier_migration,
)
from tests.conftest import DEMO_END_MONTH


def test_tier_ranking_breaks_ties_by_customer_id(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "customers.csv").write_text(
        "customer_id,region,service_center,opened_on\nX2,A,A1,2020-01-01\nX1,A,A1,2020-01-01\nX3,A,A1,2020-01-01\n"
        "X4,A,A1,2020-01-01\n", encoding="utf-8")
    (folder / "billing.csv").write_text(
        "customer_id,period,amount_billed\nX1,2024-06,300\nX2,2024-06,300\nX3,2024-06,400\n", encoding="utf-8")
    (folder / "tickets.csv").write_text("ticket_id,customer_id,ticket_type,created_at\n", encoding="utf-8")
    load([folder], tmp_path / "w.duckdb")
    with connect(tmp_path / "w.duckdb") as con:
        tiers = tier_assignment(con, dt.date(2024, 12, 31)).set_index("customer_id")["tier"].to_dict()
    # X3 400 (share before 0 -> VIP), X1 300 (tie, smaller id first: 400/1000 = .4 -> VIP),
    # X2 300 (700/1000 = .7 -> key), X4 no revenue -> standard
    assert tiers == {"X3": "VIP", "X1": "VIP", "X2": "key", "X4": "standard"}


def test_tier_distribution(hand, year2024):
    frame = tier_distribution(hand, year2024).set_index("tier")
    # VIP C1 1200; key C2 200; standard C3 150 + C4 50 + C5 0
    assert frame["customers"].tolist() == [1, 1, 3]
    assert frame["revenue"].tolist() == [1200, 200, 200]
    assert frame["customers_share"].tolist() == pytest.approx([0.2, 0.2, 0.6])
    assert frame["revenue_share"].sum() == pytest.approx(1)


def test_pareto_and_gini(hand, year2024):
    curve = pareto_curve(hand, year2024)
    assert curve["customer_id"].tolist() == ["C1", "C2", "C3", "C4"]
    assert curve["revenue_share"].tolist() == pytest.approx([1200 / 1600, 1400 / 1600, 1550 / 1600, 1])
    row = revenue_concentration(hand, year2024).iloc[0]
    # ascending 50 150 200 1200: G = 2(1x50 + 2x150 + 3x200 + 4x1200) / (4 x 1600) - 5/4 = 0.546875
    assert row["gini"] == pytest.approx(0.546875)
    assert row["top20_share"] == pytest.approx(0.75)


def test_tier_migration(hand, year2024):
    # 2023-12-31 tiers from 2023 revenue: C1 VIP, C2 key (1000/1500), C4 standard, C5 standard; C3 not open yet
    frame = tier_migration(hand, year2024, dt.date(2023, 12, 31), dt.date(2024, 12, 31))
    moves = set(zip(frame["from_tier"], frame["to_tier"], frame["customers"]))
    assert moves == {("new", "standard", 1), ("VIP", "VIP", 1), ("key", "closed", 1),
                     ("standard", "standard", 1), ("standard", "closed", 1)}


@pytest.mark.parametrize("rollups", [True, False])
def test_tier_migration_between_two_month_ends_with_snapshots(hand, year2024, rollups):
    # 2023-01-31, trailing 12 months C1 1000, C2 400, C4 100 of 1500: C1 VIP (share before 0), C2 key (1000/1500),
    # C4 standard (1400/1500), C5 standard (no revenue), C3 not open yet (new). 2024-03-31, April 2023 to March 2024:
    # C1 1200, C2 200, C3 150, C4 50 of 1600: C1 VIP, C2 key (1200/1600), C3 standard (1400/1600), C4 closed in
    # February, C5 standard. With the tables built at load both days' tiers are read from customer_month_ends (one
    # scan); without them they are computed from the bills and joined: the same flows either way.
    from metrics.query import Params
    from metrics.tiers import tier_paths_sql

    chosen = MetricSettings(rollups=rollups)
    days = (dt.date(2023, 1, 31), dt.date(2024, 3, 31))
    assert ("customer_month_ends" in tier_paths_sql(Params(hand), year2024, *days, chosen)) == rollups
    frame = tier_migration(hand, year2024, *days, chosen)
    assert set(zip(frame["from_tier"], frame["to_tier"], frame["customers"])) == {
        ("VIP", "VIP", 1), ("key", "key", 1), ("new", "standard", 1), ("standard", "closed", 1),
        ("standard", "standard", 1)}
    # the accounts that moved, by revenue on the first day: C4 (100, then 50 before it closed), C3 (0, then 150)
    from metrics.portfolio import tier_moves

    moves = tier_moves(hand, year2024, *days, chosen)
    assert moves["customer_id"].tolist() == ["C4", "C3"]
    assert list(zip(moves["from_tier"], moves["to_tier"])) == [("standard", "closed"), ("new", "standard")]
    assert moves["revenue_before"].tolist() == [100.0, 0.0] and moves["revenue_after"].tolist() == [50.0, 150.0]
    assert moves["customer_name"].tolist() == ["Plant Four", "Mill Three"]


def test_cohort_retention_and_churn_reasons(hand, year2024):
    cohorts = cohort_retention(hand, year2024)
    # only C3 opened in 2024 (March): a Q1 cohort of one, still active at the end of Q1..Q4
    assert cohorts["cohort"].unique().tolist() == [dt.date(2024, 1, 1)]
    assert cohorts["retention"].tolist() == [1.0, 1.0, 1.0, 1.0]
    reasons = churn_reasons(hand, year2024)
    assert set(zip(reasons["event"], reasons["reason"], reasons["customers"], reasons["key_accounts"])) == {
        ("switch_out", "direct purchase", 1, 1), ("close", "relocated", 1, 0)}


def test_early_warning_reasons(hand):
    # As of 2024-03-31 the key accounts are C1 (VIP) and C2 (key), both active.
    # C1: Feb bill 600 billed, 300 paid -> unpaid 300; never visited before April.
    # C2: Jan-Mar 2024 400 kWh vs Jan-Mar 2023 800 kWh -> -50%; visited 2024-03-01.
    frame = early_warning(hand, Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 3, 31))).set_index("customer_id")
    assert frame.loc["C1", "reasons"] == "unpaid bills ¥300 (last 3 months); no visit in 180 days"
    assert frame.loc["C2", "reasons"] == "consumption -50% vs a year earlier (last 3 months)"
    assert frame.loc["C2", "consumption_down"] and not frame.loc["C2", "no_recent_visit"]
    # At the end of 2024 only C1 is still a key account; its last visit was 2024-05-01, 244 days earlier.
    year_end = early_warning(hand, Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31)))
    assert year_end["reasons"].tolist() == ["no visit since 2024-05-01"]


def test_early_warning_lists_vip_first_then_by_reasons_then_revenue_ties_by_customer_id(demo):
    """The order the list is read in (SPEC 5.7): VIP accounts before key ones, then more reasons first, then more
    revenue, ties by customer id; a window ending on a month end and one ending inside a month."""
    for end in (dt.date(2026, 6, 30), dt.date(2026, 6, 17)):
        frame = early_warning(demo, Filters(start=dt.date(2026, 1, 1), end=end))
        assert len(frame) > 20 and set(frame["tier"]) == {"VIP", "key"}
        ordered = frame.assign(key_tier=frame["tier"] == "key").sort_values(
            ["key_tier", "reason_count", "revenue_12m", "customer_id"], ascending=[True, False, False, True],
            ignore_index=True).drop(columns="key_tier")
        pd.testing.assert_frame_equal(frame, ordered)


def test_survey_dimensions(hand, year2024):
    frame = survey_dimensions(hand, year2024).set_index("dimension")
    assert frame.loc["overall", "mean_score"] == pytest.approx((5 + 3 + 4) / 3)
    assert frame.loc["timeliness", "mean_score"] == pytest.approx((5 + 2 + 4) / 3)
    by_method = survey_dimensions(hand, year2024, by=("method",))
    phone = by_method[(by_method["method"] == "phone") & (by_method["dimension"] == "overall")]
    assert phone["mean_score"].tolist() == [5] and phone["responses"].tolist() == [1]
    with pytest.raises(ValueError, match="cannot be broken down by channel"):
        survey_dimensions(hand, year2024, by=("channel",))


def test_duration_distribution_and_backlog_ageing(hand, year2024):
    dist = duration_distribution(hand, year2024, "resolution_hours")
    repair = dist[dist["ticket_type"] == "repair"]
    # repairs resolved in 2 h (T1) and 3 h (T2) both fall in the 2–4 h bucket
    assert repair["bucket"].astype(str).tolist() == ["2–4 h"] and repair["tickets"].tolist() == [2]
    ageing = backlog_ageing(hand, year2024)
    # open at the end of 2024: T5 (4 hours old), T6 (31 days), T10 (377 days)
    assert set(zip(ageing["ticket_type"], ageing["age"].astype(str))) == {
        ("inquiry", "0–1 days"), ("billing", "30–90 days"), ("inquiry", "90+ days")}


# --- the demo data shows what was planted --------------------------------------------------------

DEMO_WINDOW = Filters(start=dt.date(2023, 11, 1), end=DEMO_END_MONTH.replace(day=31))
LAST_YEAR = Filters(start=dt.date(2025, 11, 1), end=dt.date(2026, 10, 31))


def test_demo_surge_month_stands_out(demo):
    frame = complaint_outliers(demo, DEMO_WINDOW)
    assert dt.date(2025, 7, 1) in frame.loc[frame["stands_out"], "month"].tolist()
    excess = frame["complaints"] / frame["threshold"]
    assert frame.loc[excess.idxmax(), "month"] == dt.date(2025, 7, 1)
    # the first months have no 6-month history and are never flagged
    assert not frame["stands_out"].iloc[:6].any()


def test_demo_improving_region_gets_faster(demo):
    frame = compute(demo, "median_resolution_hours", DEMO_WINDOW.model_copy(update={"regions": ("丽水",)}),
                    by=("year",))
    values = frame["value"].tolist()
    assert values == sorted(values, reverse=True) and values[-1] < 0.7 * values[0]


def test_demo_switch_outs_and_rising_accounts(demo):
    reasons = churn_reasons(demo, DEMO_WINDOW)
    assert (reasons["event"] == "switch_out").any()
    rising = rising_accounts(demo, LAST_YEAR)
    assert len(rising) > 0 and (rising["growth"] >= 0.3).all() and set(rising["tier"]) <= {"standard", "key"}
    complainants = repeat_complainants(demo, LAST_YEAR)
    assert (complainants["complaints"] >= 2).all()


def test_demo_rural_and_remote_repairs_are_slower(demo):
    arrival = compute(demo, "repair_arrival_minutes", LAST_YEAR, by=("area",)).set_index("area")["value"]
    assert arrival["urban"] < arrival["rural"] < arrival["remote"]


REGIONS = ("杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水", "义乌")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(regions=st.sets(st.sampled_from(REGIONS), min_size=1, max_size=4),
       start_offset=st.integers(0, 900), length=st.integers(0, 400))
def test_narrowing_never_increases_counts_and_ratios_stay_in_range(demo, regions, start_offset, length):
    start = DEMO_WINDOW.start + dt.timedelta(days=start_offset)
    f = Filters(start=start, end=min(start + dt.timedelta(days=length), DEMO_WINDOW.end))
    narrow = f.model_copy(update={"regions": tuple(sorted(regions))})
    for metric_id in ("tickets", "complaints", "active_customers", "churned_customers", "backlog"):
        assert compute(demo, metric_id, narrow)["value"].iloc[0] <= compute(demo, metric_id, f)["value"].iloc[0]
        by_region = compute(demo, metric_id, f, by=("region",))["value"].sum()
        assert by_region == compute(demo, metric_id, f)["value"].iloc[0], metric_id
    for metric_id in ("sla_compliance", "collection_rate", "csat", "first_contact_resolution", "visit_coverage"):
        v = compute(demo, metric_id, narrow)["value"].iloc[0]
        assert v != v or 0 <= v <= 1, metric_id  # null or a share
    shares = tier_distribution(demo, narrow)
    if shares["customers"].sum():
        assert shares["customers_share"].sum() == pytest.approx(1)


def test_every_metric_computes_for_every_dimension_it_offers(demo):
    from metrics import CATALOGUE

    half_year = Filters(start=dt.date(2026, 5, 1), end=dt.date(2026, 10, 31))
    for metric in CATALOGUE.values():
        for dim in metric.dimensions:
            frame = compute(demo, metric.id, half_year, by=(dim,))
            assert len(frame) > 0 and frame.columns[0] == dim, (metric.id, dim)


def test_tables_built_at_load_give_exactly_the_row_level_numbers(demo):
    """The tables built at load (metrics.rollups: billing_months, ticket_months and their copies per region,
    visit_coverage, customer_counts, ticket_backlog (backlog and backlog ageing); the tier snapshots with their
    running revenue totals, early_warning_inputs and the SLA outcome times in ticket_facts; read when rollups are
    on) against the row-level path (off), for every window shape: 1, 2, 3 months, year to date, 12, 24 and 36
    months, windows starting and ending mid-month, a window inside one month; with filters on tier, region, area,
    channel, voltage and account manager; overall, by region, tier, voltage, account manager, month, ticket type and
    category, and with a tier filter also by week and quarter, so every metric is compared with a tier filter, by
    tier and by month with a tier filter; sums of monthly sums may differ from the row-level sum in the last
    floating-point digits, hence rtol 1e-12."""
    from metrics import CATALOGUE, DEFAULT_SETTINGS, MetricSettings
    from metrics.facts import ticket_rollup
    from metrics.query import Params
    from metrics.tiers import tier_assignment

    direct = MetricSettings(rollups=False)
    manager = demo.execute("SELECT account_manager FROM customer_facts WHERE account_manager IS NOT NULL "
                           "ORDER BY account_manager LIMIT 1").fetchall()[0][0]
    key_last_year = LAST_YEAR.model_copy(update={"regions": ("台州",), "tiers": ("key",)})
    windows = [LAST_YEAR, key_last_year, key_last_year.shifted_years(-1),
               Filters(start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30), tiers=("VIP", "key")),
               Filters(start=dt.date(2026, 5, 1), end=dt.date(2026, 6, 30), voltages=(10.0,)),
               Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30), tiers=("VIP",), channels=("hotline",)),
               Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 9, 30), tiers=("VIP", "key")),
               Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 9, 30), voltages=(0.4, 10.0), areas=("urban",)),
               Filters(start=dt.date(2024, 11, 1), end=dt.date(2026, 10, 31), tiers=("key",)),
               DEMO_WINDOW.model_copy(update={"tiers": ("VIP", "key")}),
               Filters(start=dt.date(2025, 12, 10), end=dt.date(2026, 5, 20), tiers=("key", "standard")),
               Filters(start=dt.date(2026, 1, 15), end=dt.date(2026, 3, 31), areas=("rural",)),
               Filters(start=dt.date(2026, 2, 1), end=dt.date(2026, 8, 17)),
               Filters(start=dt.date(2026, 3, 5), end=dt.date(2026, 3, 25), tiers=("VIP", "key")),
               Filters(start=dt.date(2026, 2, 14), end=dt.date(2026, 7, 9), account_managers=(manager,)),
               Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30), channels=("hotline", "online"),
                       account_managers=(manager,), voltages=(0.4,))]
    # The ticket roll-ups answer some of these windows, the one per region alone (no filter but region and tiers)
    # and the whole one (voltage, area, channel), so the comparison below covers both; the facts the others.
    answering = {(ticket_rollup(Params(demo), f, by, DEFAULT_SETTINGS) or (None,))[0]
                 for f in windows for by in ((), ("quarter",), ("voltage_kv",))}
    assert answering == {"ticket_months_by_region", "ticket_months", None}
    compared = set()
    for f in windows:
        for metric in CATALOGUE.values():
            grains = (("week",), ("month",), ("quarter",)) if f.tiers is not None else (("month",),)
            for by in ((), ("region",), ("tier",), ("voltage_kv",), ("account_manager",), *grains, ("ticket_type",),
                       ("category",)):
                if all(d in metric.dimensions for d in by):
                    fast, slow = compute(demo, metric.id, f, by=by), compute(demo, metric.id, f, by=by, settings=direct)
                    pd.testing.assert_frame_equal(fast, slow, rtol=1e-12, check_dtype=False, obj=f"{metric.id} {by}")
                    compared.add((metric.id, by, f.tiers is not None))
        assert len(early_warning(demo, f)) > 0  # the comparison below has rows to compare
        for view in (tier_distribution, pareto_curve, revenue_concentration, early_warning, churn_reasons,
                     cohort_retention, rising_accounts, backlog_ageing):
            pd.testing.assert_frame_equal(view(demo, f), view(demo, f, direct), rtol=1e-12, check_dtype=False,
                                          obj=view.__name__)
        for duration in ("response_hours", "resolution_hours", "arrival_minutes"):
            pd.testing.assert_frame_equal(duration_distribution(demo, f, duration),
                                          duration_distribution(demo, f, duration, direct), obj=duration)
    for metric in CATALOGUE.values():
        if metric.id != "training_hours_per_staff":  # the region filter is its only one
            assert {((), True), (("tier",), False), (("tier",), True), (("month",), True)} <= {
                (by, tiered) for m, by, tiered in compared if m == metric.id}, metric.id
    for day in (LAST_YEAR.end, dt.date(2026, 5, 20)):
        assert tier_assignment(demo, day).equals(tier_assignment(demo, day, direct)), day



def test_duration_buckets_stored_at_load_give_the_row_level_distribution(demo):
    """ticket_facts' <duration>_bucket columns (metrics.service.duration_buckets_sql, stored at load) against the
    buckets worked out from the durations (rollups off), for each duration over whole months, mid-month windows and
    filters; the stored columns are compared with the expression on every ticket too."""
    from metrics import MetricSettings
    from metrics.query import Params
    from metrics.service import DURATIONS, bucket_number, duration_edges

    direct = MetricSettings(rollups=False)
    windows = [LAST_YEAR, Filters(start=dt.date(2025, 12, 10), end=dt.date(2026, 5, 20), tiers=("key",)),
               Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30), channels=("hotline",), voltages=(10.0,))]
    for duration in DURATIONS:
        for f in windows:
            fast, slow = duration_distribution(demo, f, duration), duration_distribution(demo, f, duration, direct)
            assert len(fast) > 0
            pd.testing.assert_frame_equal(fast, slow, obj=f"{duration} {f}")
        p = Params(demo)
        sql = (f"SELECT count(*) FROM ticket_facts t WHERE t.{duration}_bucket "
               f"IS DISTINCT FROM {bucket_number(p, f't.{DURATIONS[duration]}', duration_edges(duration))}")
        assert demo.execute(sql, p.used_in(sql)).fetchall()[0][0] == 0

def check_each_month_alone(con, metric, f: Filters) -> None:
    """By month, the metric equals the metric on each month's own window (clipped to the filter's), tiers included.
    SLA compliance judges every month's tickets at the end of the whole window (SPEC 5.4): its last month is the
    month alone exactly, and an earlier month has at least the month alone's met and known tickets."""
    by_month = compute(con, metric.id, f, by=("month",)).set_index("month")
    spans = periods(f.start, f.end, "month")
    for label, start, end in spans:
        alone = compute(con, metric.id, f.window(start, end)).iloc[0]
        if label not in by_month.index:  # a month without events (grouping has no row for it)
            assert alone["value"] == 0 or alone["value"] != alone["value"], (metric.id, label)
            continue
        if metric.id == "sla_compliance" and label != spans[-1][0]:
            for column in ("numerator", "denominator"):
                assert by_month.loc[label, column] >= alone[column], (metric.id, label, column)
            continue
        for column in alone.index:
            assert by_month.loc[label, column] == pytest.approx(alone[column], rel=1e-12, nan_ok=True), (
                metric.id, label, column)


def test_a_time_grain_gives_each_period_computed_on_its_own(demo):
    """By month, every metric equals the metric on each month's own window (clipped to the filter's), whichever path
    computes it (grouped by month, one roll-up query, or period by period), without and with a tier filter: each
    month's tiers are as of its own end, or its cohort's base."""
    from metrics import CATALOGUE

    odd = Filters(start=dt.date(2025, 12, 10), end=dt.date(2026, 5, 20))
    for f in (odd, Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 30), tiers=("key",))):
        for metric in CATALOGUE.values():
            if "month" in metric.dimensions:
                check_each_month_alone(demo, metric, f)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start_offset=st.integers(0, 1000), length=st.integers(0, 150),
       tiers=st.one_of(st.none(), st.sets(st.sampled_from(("VIP", "key", "standard")), min_size=1, max_size=2)),
       regions=st.one_of(st.none(), st.sets(st.sampled_from(REGIONS), min_size=1, max_size=6)))
def test_any_breakdown_by_month_equals_each_month_on_its_own(demo, start_offset, length, tiers, regions):
    """Property: for every metric, any window, tier filter and region filter, a breakdown by month equals each month
    computed on its own (check_each_month_alone)."""
    from metrics import CATALOGUE

    start = DEMO_WINDOW.start + dt.timedelta(days=start_offset)
    f = Filters(start=start, end=min(start + dt.timedelta(days=length), DEMO_WINDOW.end),
                tiers=tuple(sorted(tiers)) if tiers else None, regions=tuple(sorted(regions)) if regions else None)
    for metric in CATALOGUE.values():
        if "month" in metric.dimensions:
            check_each_month_alone(demo, metric, f)


def test_complaint_outliers_count_each_month_as_the_complaints_metric_does(demo):
    """With a tier filter, the outlier chart's monthly complaints are the complaints metric by month (each month's
    tiers as of its own end), on both paths."""
    from metrics import MetricSettings

    f = Filters(start=dt.date(2025, 11, 1), end=dt.date(2026, 10, 31), tiers=("VIP", "key"))
    for settings_ in (None, MetricSettings(rollups=False)):
        extra = {} if settings_ is None else {"settings": settings_}
        outliers = complaint_outliers(demo, f, **extra).set_index("month")["complaints"]
        metric = compute(demo, "complaints", f, by=("month",), **extra).set_index("month")["value"]
        assert outliers.sum() > 0 and outliers.to_dict() == metric.reindex(outliers.index, fill_value=0).to_dict()


def test_a_failed_rollup_build_leaves_no_temporary_table_behind(demo_db, tmp_path, monkeypatch):
    """A build that fails part way (here the ticket roll-up, after the billing one made the tier paths) drops its
    temporary tables: a later build on the same connection computes the tier paths again from the snapshots it then
    finds, instead of taking the failed build's as its own."""
    import shutil

    import duckdb

    from metrics import rollups

    copy = tmp_path / "w.duckdb"
    shutil.copy(demo_db, copy)
    con = duckdb.connect(str(copy))

    def broken(con, months=None):
        raise duckdb.Error("disk full")

    steps = tuple((name, broken if name == "ticket_months" else step) for name, step in rollups.STEPS)
    monkeypatch.setattr(rollups, "STEPS", steps)
    with pytest.raises(duckdb.Error, match="disk full"):
        rollups.build(con)
    temporary = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
    assert temporary == set()
    con.close()


def test_rebuilding_given_months_gives_the_full_build(demo_db, tmp_path, monkeypatch):
    """rollups.build(con, months=...) re-inserts the month-end slices from the earliest given month on, and the
    one-copy roll-ups' months whose tier letters reach it (from ROLLUP_HORIZON_MONTHS - 1 months before it; here 3
    letters, so the demo's earlier months are kept): after corrupting those (each of their rows twice;
    customer_month_ends' September columns wrong and October's gone, as before the append that brings October) and
    marking a row of a kept month, every roll-up equals a full build, row for row and column for column, except the
    marked row, which was kept as it was."""
    import shutil

    import duckdb

    from metrics import rollups

    monkeypatch.setattr(rollups, "ROLLUP_HORIZON_MONTHS", 3)
    copy = tmp_path / "w.duckdb"
    shutil.copy(demo_db, copy)
    con = duckdb.connect(str(copy))
    rollups.build(con)
    tables = [name for name, _ in rollups.STEPS]
    full = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").df() for t in tables}
    # ticket_backlog is kept per ticket, not per month end: an append of 2026-09 rebuilds its tickets created from
    # then; the one-copy roll-ups rebuild the months from 2026-07 on (their 3 letters reach 2026-09's end).
    touched = {**{t: "created_at >= DATE '2026-09-01'" for t in ("ticket_backlog", "ticket_late_outcomes")},
               **{t: "month >= DATE '2026-07-01'" for t in ("billing_months", "ticket_months", "billing_months_by_region",
                                                           "ticket_months_by_region")}}
    for t in tables:  # the slices an append of 2026-09 touches read wrong; the earlier ones stay
        if t == "customer_month_ends":
            con.execute("UPDATE customer_month_ends SET billed_to_2026_09 = -1, tier_2026_09 = 'none'")
            con.execute("ALTER TABLE customer_month_ends DROP COLUMN tier_2026_10")
            con.execute("ALTER TABLE customer_month_ends DROP COLUMN billed_to_2026_10")
        else:
            con.execute(f"INSERT INTO {t} SELECT * FROM {t} WHERE {touched.get(t, 'as_of >= DATE ' + repr('2026-09-30'))}")
    # June 2026 is before the rebuilt months: a row there marked (a million bills more) must survive the partial build.
    june = "month = DATE '2026-06-01' AND rowid = (SELECT min(rowid) FROM billing_months WHERE month = DATE '2026-06-01')"
    key = ", ".join(("month", *rollups.ATTRS, "tier_codes"))
    marked = con.execute(f"SELECT {key}, bills FROM billing_months WHERE {june}").fetchall()[0]
    con.execute(f"UPDATE billing_months SET bills = bills + 1000000 WHERE {june}")
    assert list(full["customer_month_ends"].columns[-4:]) == ["billed_to_2026_09", "tier_2026_09",
                                                              "billed_to_2026_10", "tier_2026_10"]
    assert con.execute("SELECT count(*) FROM ticket_backlog").fetchall()[0][0] > len(full["ticket_backlog"])
    rollups.build(con, months=[dt.date(2026, 10, 1), dt.date(2026, 9, 1)])
    same = " AND ".join(f"{c} IS NOT DISTINCT FROM ${c}" for c in key.split(", "))
    values = dict(zip(key.split(", "), marked[:-1]))
    assert con.execute(f"SELECT bills FROM billing_months WHERE {same}", values).fetchall() == [(marked[-1] + 1000000,)]
    con.execute(f"UPDATE billing_months SET bills = bills - 1000000 WHERE {same}", values)
    for t in tables:
        again = con.execute(f"SELECT * FROM {t} ORDER BY ALL").df()
        assert len(again) == len(full[t]) > 0, t
        pd.testing.assert_frame_equal(again, full[t], obj=t)
    con.close()
