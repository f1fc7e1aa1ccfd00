"""Absent is not perfect (SPEC 5.7): a figure whose inputs no loaded source has is "no data", never 0 or on target."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import metrics
from dashboard import data, registry
from dashboard.format import number
from dashboard.users import LOCAL_ADMIN
from ingest import load
from ingest.load import rebuild_model
from metrics import CATALOGUE, PERSPECTIVES
from metrics.process import unmeasured_sla_steps
from metrics.retention import cohort_retention, early_warning
from metrics.scorecard import (
    Kpi,
    ScorecardConfig,
    competition_ranks,
    evaluate,
    league_table,
    perspective_scores,
    weighted_score,
)
from metrics.service import backlog_ageing, repeat_complainants

OWN_REGIONS = ("白云", "青山")
QUIET_REGION = "绿水"  # customers on file, but no bill, ticket, survey or visit anywhere


def write_own_exports(folder: Path) -> None:
    """Exports as a user's own systems might give them, not the demo's: other regions, Chinese headers, no
    amount_paid, no closed_on, no area, no first_response_at / arrived_at / reopened / satisfaction / substantiated /
    first-contact flag, and no surveys, visits, account events or staff training at all."""
    customers = ["客户编号,客户名称,供电单位,供电所,行业,电压等级,立户日期"]
    for n in range(1, 13):
        region = OWN_REGIONS[n % 2]
        customers.append(f"K{n:03d},客户{n},{region},{region}一所,制造业,{10 if n % 3 else 110},2020-01-0{1 + n % 9}")
    for n in range(13, 16):
        customers.append(f"K{n:03d},客户{n},{QUIET_REGION},{QUIET_REGION}一所,商业,10,2021-05-01")
    billing = ["客户编号,电费年月,电量,应收电费"]
    for month in range(1, 13):
        for n in range(1, 13):
            kwh = 1000 * n * n + 10 * month
            billing.append(f"K{n:03d},2025{month:02d},{kwh},{kwh * 0.6:.2f}")
    tickets = ["工单编号,客户编号,受理渠道,业务类型,受理时间,归档时间"]
    kinds = ("故障报修", "投诉", "咨询", "电费", "业扩报装")
    for i in range(1, 61):
        month, day = 1 + i % 12, 1 + i % 27
        created = f"2025-{month:02d}-{day:02d} 09:00"
        resolved = "" if i % 10 == 0 else f"2025-{month:02d}-{day:02d} {10 + i % 12}:30"
        tickets.append(f"G{i:04d},K{1 + i % 12:03d},95598,{kinds[i % 5]},{created},{resolved}")
    for name, lines in (("客户档案.csv", customers), ("电费账单.csv", billing), ("工单.csv", tickets)):
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


# A warehouse of the user's own exports, small enough to compute by hand. Missing from every source: customers'
# closed_on, area, voltage; bills' amount_paid and consumption_kwh; tickets' first_response_at, arrived_at, reopened,
# first_contact_resolution, substantiated, satisfaction, channel, category; and the surveys, visits, account_events and
# staff_training tables. 静湖 has a customer but no bill, ticket, survey or visit. Tickets cover 2024-02-01 to
# 2024-06-20 only; bills cover 2024-01 to 2024-12.
ABSENT_CUSTOMERS = """customer_id,region,service_center,opened_on
A1,北原,北原一所,2020-01-01
A2,北原,北原一所,2020-01-01
B1,南岭,南岭一所,2020-01-01
Q1,静湖,静湖一所,2020-01-01
"""
ABSENT_BILLING = """customer_id,period,amount_billed
A1,2024-01,600
A1,2024-02,300
A2,2024-03,200
B1,2024-01,100
B1,2024-12,400
"""
# SLA by hand, at the end of 2024-12-31, with only resolution governed (no source has arrived_at or first_response_at):
#   T1, T6 repair: their only target is arrival, not measured -> left out (before: breached, no arrival recorded)
#   T2 complaint resolved in 48 h <= 168 h -> met (before: breached, no first response recorded)
#   T3 complaint resolved in 216 h > 168 h -> breached
#   T4 inquiry resolved in 6 h <= 24 h -> met
#   T5 billing still open, its 24 h deadline (2024-06-21 09:00) long past -> breached
#   T7 praise: no target -> left out
# sla_compliance = met / known = 2 / 4 = 0.5; 北原 (T2, T3, T5) 1 / 3; 南岭 (T4) 1 / 1.
ABSENT_TICKETS = """ticket_id,customer_id,ticket_type,created_at,resolved_at
T1,A1,repair,2024-03-01 10:00,2024-03-01 12:00
T2,A1,complaint,2024-04-01 09:00,2024-04-03 09:00
T3,A2,complaint,2024-05-01 09:00,2024-05-10 09:00
T4,B1,inquiry,2024-06-01 09:00,2024-06-01 15:00
T5,A2,billing,2024-06-20 09:00,
T6,A2,repair,2024-06-10 08:00,
T7,B1,praise,2024-02-01 09:00,2024-02-01 10:00
"""
NO_INPUTS = ("collection_rate", "consumption_kwh", "substantiated_share", "csat", "nps", "callback_satisfaction",
             "logo_retention", "churned_customers", "median_response_hours", "p90_response_hours",
             "repair_arrival_minutes", "first_contact_resolution", "reopen_rate", "visit_coverage",
             "training_hours_per_staff")


@pytest.fixture(scope="module")
def absent_db(tmp_path_factory) -> Path:
    folder = _absent_exports(tmp_path_factory.mktemp("absent") / "exports")
    db = folder.parent / "absent.duckdb"
    report = load([folder], db)
    assert [f.rejected for f in report.files] == [0, 0, 0]
    return db


@pytest.fixture(scope="module")
def absent(absent_db):
    con = metrics.connect(absent_db)
    yield con
    con.close()


YEAR = metrics.Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))


def test_the_load_records_which_columns_the_sources_had(absent):
    rows = absent.execute("SELECT table_name, column_name FROM source_columns ORDER BY ALL").fetchall()
    assert rows == sorted([("customers", c) for c in ("customer_id", "region", "service_center", "opened_on")]
                          + [("billing", c) for c in ("customer_id", "period", "amount_billed")]
                          + [("tickets", c) for c in ("ticket_id", "customer_id", "ticket_type", "created_at",
                                                      "resolved_at")])
    coverage = absent.execute("SELECT table_name, first_day, last_day FROM fact_coverage ORDER BY ALL").fetchall()
    assert coverage == [("billing", dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
                        ("tickets", dt.date(2024, 2, 1), dt.date(2024, 6, 20))]


@pytest.mark.parametrize("metric_id", NO_INPUTS)
@pytest.mark.parametrize("by", [(), ("region",), ("month",)])
def test_a_metric_whose_inputs_no_source_has_is_null(absent, metric_id, by):
    if by and by[0] not in CATALOGUE[metric_id].dimensions:
        by = ("year",)
    frame = metrics.compute(absent, metric_id, YEAR, by=by)
    assert frame["value"].isna().all(), frame
    if CATALOGUE[metric_id].is_ratio:
        assert frame["numerator"].isna().all() and frame["denominator"].isna().all()


def test_the_same_metrics_have_values_where_the_sources_have_the_columns(hand, year2024):
    # the hand warehouse (tests/conftest.py) has every column and table: none of them is null there
    values = {m: metrics.compute(hand, m, year2024)["value"].iloc[0] for m in NO_INPUTS}
    assert [m for m, v in values.items() if pd.isna(v)] == []
    # e.g. reopen_rate: of the tickets created and resolved in 2024 (T1, T2, T3, T4, T7, T8, T9), T3 was reopened
    reopened = metrics.compute(hand, "reopen_rate", year2024)
    assert (reopened["numerator"].iloc[0], reopened["denominator"].iloc[0]) == (1, 7)


def test_metrics_with_their_inputs_keep_their_values(absent):
    # revenue 2024 = 600 + 300 + 200 + 100 + 400; tickets created in 2024: all 7; complaints T2, T3
    assert metrics.compute(absent, "revenue", YEAR)["value"].iloc[0] == 1600
    assert metrics.compute(absent, "tickets", YEAR)["value"].iloc[0] == 7
    assert metrics.compute(absent, "complaints", YEAR)["value"].iloc[0] == 2
    # resolution hours of the resolved tickets: T1 2, T2 48, T3 216, T4 6, T7 1 -> median 6
    assert metrics.compute(absent, "median_resolution_hours", YEAR)["value"].iloc[0] == 6


@pytest.mark.parametrize("rollups", [True, False])
def test_an_sla_step_no_source_has_is_not_governed(absent, rollups):
    settings = metrics.MetricSettings(rollups=rollups)
    sla = metrics.compute(absent, "sla_compliance", YEAR, settings=settings)
    assert (sla["numerator"].iloc[0], sla["denominator"].iloc[0]) == (2, 4)
    by_region = metrics.compute(absent, "sla_compliance", YEAR, by=("region",), settings=settings)
    assert dict(zip(by_region["region"], by_region["value"])) == {"北原": 1 / 3, "南岭": 1.0}
    by_type = metrics.compute(absent, "sla_compliance", YEAR, by=("ticket_type",), settings=settings)
    assert "repair" not in set(by_type["ticket_type"])


def test_other_sla_targets_govern_the_same_steps(absent):
    # complaints resolved within 10 days: T3 (9 days) now meets it -> 3 / 4; repairs are still left out
    longer = metrics.MetricSettings(sla=metrics.SlaTargets(complaint_resolution_hours=240))
    sla = metrics.compute(absent, "sla_compliance", YEAR, settings=longer)
    assert (sla["numerator"].iloc[0], sla["denominator"].iloc[0]) == (3, 4)


def test_the_steps_not_measured_are_named(absent, hand):
    steps = unmeasured_sla_steps(absent)
    assert steps[["step", "column"]].values.tolist() == [["arrival", "arrived_at"], ["response", "first_response_at"]]
    assert steps["ticket_types"].tolist() == [["repair"], ["complaint"]]
    assert unmeasured_sla_steps(hand).empty


def test_a_window_outside_the_days_the_facts_cover_has_no_data(absent):
    autumn = YEAR.window(dt.date(2024, 10, 1), dt.date(2024, 12, 31))
    # bills cover it (B1's December bill); tickets end on 2024-06-20, so a count of them is unknown, not 0
    assert metrics.compute(absent, "revenue", autumn)["value"].iloc[0] == 400
    for metric_id in ("tickets", "complaints", "complaint_rate_per_10k", "sla_compliance"):
        assert pd.isna(metrics.compute(absent, metric_id, autumn)["value"].iloc[0]), metric_id
    # by month over the year: complaints per 10k for the months the tickets cover, null after June.
    # April: T2 / 4 active customers x 10,000 = 2,500; May: T3 -> 2,500; Jan (before the tickets start), Jul-Dec: null
    rate = metrics.compute(absent, "complaint_rate_per_10k", YEAR, by=("month",)).set_index("month")["value"]
    assert rate[dt.date(2024, 4, 1)] == 2500 and rate[dt.date(2024, 5, 1)] == 2500
    assert rate[dt.date(2024, 3, 1)] == 0 and rate[dt.date(2024, 6, 1)] == 0
    assert rate[[dt.date(2024, 1, 1), *(dt.date(2024, m, 1) for m in range(7, 13))]].isna().all()


def test_early_warning_does_not_read_no_visits_loaded_as_no_visit(absent):
    # A1 (VIP by revenue) and the other key accounts would all be flagged "no visit in 180 days" if a visits table
    # never loaded counted as no visit; nothing else puts them at risk (no complaints in 90 days, no paid amounts known)
    assert early_warning(absent, YEAR)["customer_id"].tolist() == []


def test_without_resolved_at_there_is_no_backlog(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "customers.csv").write_text(ABSENT_CUSTOMERS, encoding="utf-8")
    (folder / "billing.csv").write_text(ABSENT_BILLING, encoding="utf-8")
    (folder / "tickets.csv").write_text("ticket_id,customer_id,ticket_type,created_at\n"
                                        "T1,A1,inquiry,2024-03-01 10:00\nT2,B1,complaint,2024-04-01 09:00\n",
                                        encoding="utf-8")
    load([folder], tmp_path / "w.duckdb")
    con = metrics.connect(tmp_path / "w.duckdb")
    try:
        # every ticket would count as open (2) and as breached (0 / 2) if the missing column were read as "not yet"
        assert pd.isna(metrics.compute(con, "backlog", YEAR)["value"].iloc[0])
        assert backlog_ageing(con, YEAR).empty
        assert pd.isna(metrics.compute(con, "sla_compliance", YEAR)["value"].iloc[0])
        assert unmeasured_sla_steps(con)["column"].tolist() == ["arrived_at", "first_response_at", "resolved_at"]
        assert metrics.compute(con, "tickets", YEAR)["value"].iloc[0] == 2
    finally:
        con.close()


# Scorecard rules with missing KPIs. The config's scores by hand (score = value against target, capped at 100):
#   revenue (target 1000, weight 1): 北原 600+300+200 = 1100 -> 100; 南岭 100+400 = 500 -> 50
#   csat (weight 2): no surveys -> no data in every region
#   complaint_rate_per_10k (target 5000, lower is better, weight 1): 北原 2 complaints / 2 customers x 10,000 = 10,000
#       -> 5000 / 10000 = 50; 南岭 0 -> 100; 静湖 0 -> 100 (but 静湖 has no bill, ticket, survey or visit: no score)
#   sla_compliance (target 0.8, weight 3): 北原 1/3 -> (1/3) / 0.8 = 41.67; 南岭 1 -> 100
#   reopen_rate (target 0.05, lower is better, weight 5): no source has reopened -> no data (as 0.0% it would score 100)
#   visit_coverage (weight 1): no visits loaded -> no data, so learning and growth has no score
# composite 北原 = (100x1 + 50x1 + 41.67x3) / 5 = 55; 南岭 = (50x1 + 100x1 + 100x3) / 5 = 90; 静湖 none, unranked.
def _config() -> ScorecardConfig:
    def kpi(metric, target, weight):
        return Kpi(metric=metric, target=target, amber_within=0, weight=weight)
    return ScorecardConfig(financial=[kpi("revenue", 1000, 1)],
                           customer=[kpi("csat", 0.85, 2), kpi("complaint_rate_per_10k", 5000, 1)],
                           internal_process=[kpi("sla_compliance", 0.8, 3), kpi("reopen_rate", 0.05, 5)],
                           learning_growth=[kpi("visit_coverage", 0.5, 1)])


def test_the_league_table_leaves_regions_without_data_unranked(absent):
    league = league_table(absent, _config(), YEAR)
    assert league["region"].tolist() == ["南岭", "北原", "静湖"]
    assert league["rank"].tolist()[:2] == [1, 2] and pd.isna(league["rank"].iloc[2])
    assert league["composite"].tolist()[:2] == pytest.approx([90, 55])
    assert league[["composite", *PERSPECTIVES]].iloc[2].isna().all()
    assert league["customer"].tolist()[:2] == [100, 50]  # csat has no data: the perspective is complaint rate alone
    assert league["learning_growth"].isna().all()


def test_the_scorecard_leaves_out_kpis_without_data(absent):
    # company-wide: revenue 1600 -> 100; complaints per 10k 2 / 4 x 10,000 = 5,000 -> 100; SLA 0.5 -> 62.5
    # composite = (100x1 + 100x1 + 62.5x3) / 5 = 77.5; reopen_rate, csat and visit_coverage are grey, not scored
    kpis = evaluate(absent, _config(), YEAR).set_index("metric")
    assert kpis.loc[["csat", "reopen_rate", "visit_coverage"], "status"].tolist() == ["grey"] * 3
    assert kpis.loc[["csat", "reopen_rate", "visit_coverage"], ["value", "score"]].isna().all().all()
    assert kpis.loc["sla_compliance", "score"] == pytest.approx(62.5)
    scores = perspective_scores(kpis.reset_index()).set_index("perspective")["score"]
    assert scores["composite"] == pytest.approx(77.5)
    assert scores[["financial", "customer", "internal_process"]].tolist() == pytest.approx([100, 100, 62.5])
    assert pd.isna(scores["learning_growth"])
    # the previous period (2023) has no bill or ticket at all: no previous values, no change
    assert kpis["previous"].isna().all() and kpis["change"].isna().all()


def test_regions_tied_on_composite_share_a_rank():
    # standard competition ranking, sorted by composite: 90, 90, 55, 55, 40, none -> 1, 1, 3, 3, 5, none; a weighted
    # mean equal but for its last floating-point digits (0.1 + 0.2 against 0.3, scaled) is a tie too
    ranks = competition_ranks(pd.Series([90.0, 90.0, 55.0, 55.0, 40.0, float("nan")]))
    assert ranks.tolist()[:5] == [1, 1, 3, 3, 5] and pd.isna(ranks[5])
    assert competition_ranks(pd.Series([(0.1 + 0.2) * 100, 30.0, 10.0])).tolist() == [1, 1, 3]


def test_a_region_without_data_has_no_scorecard(absent):
    # 静湖's one customer has no bill, ticket, survey or visit in 2024: its complaint rate would read 0 (score 100)
    kpis = evaluate(absent, _config(), YEAR.model_copy(update={"regions": ("静湖",)}))
    assert kpis["value"].isna().all() and set(kpis["status"]) == {"grey"}
    assert perspective_scores(kpis)["score"].isna().all()


def test_a_window_beyond_the_tickets_scores_only_what_it_has(absent):
    # October to December 2024: B1's December bill (400 -> 40), no tickets cover it: complaint rate and SLA no data.
    # Composite = 40, not (40 + 100) / 2 = 70 from a complaint rate of 0.
    autumn = YEAR.window(dt.date(2024, 10, 1), dt.date(2024, 12, 31))
    kpis = evaluate(absent, _config(), autumn)
    assert perspective_scores(kpis).set_index("perspective")["score"]["composite"] == pytest.approx(40)
    assert kpis.set_index("metric")["status"].to_dict() == {
        "revenue": "red", "csat": "grey", "complaint_rate_per_10k": "grey", "sla_compliance": "grey",
        "reopen_rate": "grey", "visit_coverage": "grey"}


def test_weighted_scores_count_only_kpis_with_data():
    # (80 x 1 + 50 x 3) / (1 + 3) = 57.5; the KPI without data (weight 5) counts in neither part
    kpis = pd.DataFrame({"perspective": ["financial", "customer", "customer"], "score": [80, float("nan"), 50],
                         "weight": [1, 5, 3]})
    assert weighted_score(kpis) == 57.5
    scores = perspective_scores(kpis).set_index("perspective")["score"]
    assert scores["financial"] == 80 and scores["customer"] == 50 and scores["composite"] == 57.5
    assert pd.isna(scores["internal_process"]) and pd.isna(scores["learning_growth"])
    assert pd.isna(weighted_score(kpis.assign(score=float("nan"))))  # never 100, nor 0, on no data


# The app on a warehouse of the user's own exports (write_own_exports), loaded by the real importer.
APP = Path(__file__).resolve().parents[1] / "app.py"
# every page that opens on the sidebar's filters alone (the account pages have their own tests)
PAGES = tuple(slug for slug in registry.SLUGS if slug not in registry.ONE_ACCOUNT_PAGES)
NO_DATA_TILES = ("Collection rate", "Customer satisfaction (CSAT)", "Net promoter score", "Customer retention",
                 "Median response time", "Repair arrival time", "First-contact resolution", "Reopen rate",
                 "Key-account visit coverage", "Training hours per staff")


@pytest.fixture(scope="module")
def own_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("own")
    write_own_exports(folder)
    db = folder / "own.duckdb"
    report = load([folder], db)
    clean = {"rejected": 0, "superseded": 0, "skipped": 0}
    assert report.tables() == {"customers": {"read": 15, "loaded": 15, **clean},
                               "billing": {"read": 144, "loaded": 144, **clean},
                               "tickets": {"read": 60, "loaded": 60, **clean}}
    return db


@pytest.fixture
def own_warehouse(own_db, monkeypatch):
    monkeypatch.setattr(data, "WAREHOUSE", own_db)
    return own_db


def run_own_page(page: str, **state) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    # stands in for sign-in (auth.signed_in reads it first): the users file is another test's concern
    at.session_state["identity"] = LOCAL_ADMIN
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def tiles(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_users_own_data(own_warehouse, page):
    at = run_own_page(page)
    assert at.title[0].value != ""
    # satisfaction: no surveys, no callback scores; retention: no closed_on, and a single year of bills (no
    # year-earlier window for revenue retention): every tile and chart of these pages says so
    if page in ("satisfaction", "retention"):
        assert set(tiles(at).values()) == {"–"} and len(at.info) >= 3 and not at.get("plotly_chart")
    else:
        assert len(at.dataframe) + len(at.get("plotly_chart")) >= 1


def test_the_scorecard_on_the_users_own_data_shows_no_data_not_perfect(own_warehouse):
    at = run_own_page("scorecard")
    shown = tiles(at)
    assert {label: shown[label] for label in NO_DATA_TILES} == {label: "–" for label in NO_DATA_TILES}
    why = [i.value for i in at.info if i.value.startswith("No data (grey)")]
    assert len(why) == 1
    assert "Reopen rate (tickets.reopened)" in why[0] and "Collection rate (billing.amount_paid)" in why[0]
    assert "SLA compliance" not in why[0]
    badges = [m.value for m in at.markdown if "No data" in m.value]
    assert len(badges) >= len(NO_DATA_TILES)
    assert not [m.value for m in at.markdown if "On target" in m.value and "0.0%" in m.value]
    with metrics.connect(own_warehouse) as con:
        window = metrics.Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
        sla = metrics.compute(con, "sla_compliance", window)["value"].iloc[0]
    assert shown["SLA compliance"] == number(sla, "percent") != "–"
    league = at.dataframe[0].value
    # no score, no rank: "–", never "None"
    assert league["Region"].tolist()[-1] == QUIET_REGION and league["Rank"].iloc[-1] == "–"
    assert set(league["Region"][:2]) == set(OWN_REGIONS)
    # the two regions' tickets and bills are built alike: they tie on composite and share rank 1 (competition ranking)
    assert league["Composite score"].iloc[0] == pytest.approx(league["Composite score"].iloc[1])
    assert league["Rank"].tolist()[:2] == ["1", "1"]


def test_a_region_without_data_shows_no_scores(own_warehouse):
    at = run_own_page("scorecard", region=[QUIET_REGION])
    shown = tiles(at)
    assert shown["Composite score"] == "–"
    assert [shown[p] for p in ("Financial", "Customer", "Internal process", "Learning and growth")] == ["–"] * 4
    assert shown["Complaints per 10k customers"] == "–" and shown["SLA compliance"] == "–"


def test_response_times_names_the_steps_not_measured(own_warehouse):
    at = run_own_page("response_times")
    notes = [i.value for i in at.info if "Not measured" in i.value]
    assert notes == ["Not measured, so not counted in SLA compliance: repair arrival; complaint first response "
                     "(no loaded export has arrived_at, first_response_at)."]
    shown = tiles(at)
    assert [shown[t] for t in ("Median response time", "Repair arrival time", "Reopen rate")] == ["–"] * 3


def _absent_exports(folder: Path) -> Path:
    folder.mkdir()
    for name, text in (("customers.csv", ABSENT_CUSTOMERS), ("billing.csv", ABSENT_BILLING),
                       ("tickets.csv", ABSENT_TICKETS)):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_an_append_adds_the_columns_its_files_have(tmp_path):
    db = tmp_path / "w.duckdb"
    load([_absent_exports(tmp_path / "exports")], db)
    more = tmp_path / "more"
    more.mkdir()
    (more / "tickets.csv").write_text("ticket_id,customer_id,ticket_type,created_at,first_response_at\n"
                                      "T8,B1,complaint,2024-06-02 09:00,2024-06-02 10:30\n", encoding="utf-8")
    load([more], db, mode="append")
    con = metrics.connect(db)
    try:
        columns = {c for (c,) in con.execute("SELECT column_name FROM source_columns WHERE table_name = 'tickets'")
                   .fetchall()}
        assert columns == {"ticket_id", "customer_id", "ticket_type", "created_at", "resolved_at", "first_response_at"}
        assert unmeasured_sla_steps(con)["column"].tolist() == ["arrived_at"]
        # T8's first response took 1.5 h, the only response recorded
        assert metrics.compute(con, "median_response_hours", YEAR)["value"].iloc[0] == 1.5
    finally:
        con.close()


def test_a_warehouse_loaded_before_columns_were_recorded_is_read_from_its_values(tmp_path):
    db = tmp_path / "w.duckdb"
    load([_absent_exports(tmp_path / "exports")], db)
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE source_columns")
        con.execute("UPDATE model_info SET version = version - 1")
        con.execute("UPDATE tickets SET reopened = false")  # as importers before source_columns stored it
    rebuild_model(db)
    con = metrics.connect(db)
    try:
        found = set(con.execute("SELECT table_name || '.' || column_name FROM source_columns").fetchall())
        # every column with a value; area (default urban) and reopened (default false) are all such a warehouse shows
        assert {c for (c,) in found} == {
            "customers.customer_id", "customers.region", "customers.service_center", "customers.area",
            "customers.opened_on", "billing.customer_id", "billing.period", "billing.amount_billed",
            "tickets.ticket_id", "tickets.customer_id", "tickets.ticket_type", "tickets.created_at",
            "tickets.resolved_at", "tickets.reopened"}
        assert metrics.compute(con, "sla_compliance", YEAR)["denominator"].iloc[0] == 4
    finally:
        con.close()


def test_every_needed_input_is_a_contract_column_and_the_readme_lists_them():
    from ingest.contracts import CONTRACTS

    for metric in CATALOGUE.values():
        for need in metric.needs:
            table, _, column = need.partition(".")
            assert table in CONTRACTS and (not column or column in CONTRACTS[table].column_names), need
        assert metric.over in (None, "billing", "tickets", "surveys", "visits", "staff_training"), metric.id
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- metric-reference:start -->")[1].split("<!-- metric-reference:end -->")[0]
    rows = [line.strip("| ").split(" | ") for line in block.strip().splitlines()[2:]]
    documented = {r[0]: (r[7], r[8]) for r in rows}
    assert documented == {m.id: (", ".join(f"`{n}`" for n in m.needs) or "–", m.over or "–")
                          for m in CATALOGUE.values()}


def test_a_year_earlier_window_the_bills_only_half_cover_is_no_data(tmp_path):
    # One customer billed 100 a month from 2023-07 to 2024-12. Over 2024 the year-earlier window has bills only from
    # July: revenue_yoy would read 1200 / 600 - 1 = +100% and net revenue retention 200%. Over July to December 2024
    # the year-earlier window is covered: 600 / 600 - 1 = 0 and 600 / 600 = 1.
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id,region,service_center,opened_on\nA1,北原,北原一所,2020-01-01\n",
                                          encoding="utf-8")
    bills = [f"A1,{(dt.date(2023, 7, 1) + pd.DateOffset(months=n)):%Y-%m},100" for n in range(18)]
    (folder / "billing.csv").write_text("customer_id,period,amount_billed\n" + "\n".join(bills) + "\n",
                                        encoding="utf-8")
    (folder / "tickets.csv").write_text("ticket_id,customer_id,ticket_type,created_at\nT1,A1,inquiry,2024-03-01 10:00\n",
                                        encoding="utf-8")
    load([folder], tmp_path / "w.duckdb")
    con = metrics.connect(tmp_path / "w.duckdb")
    try:
        half = YEAR.window(dt.date(2024, 7, 1), dt.date(2024, 12, 31))
        for metric_id in ("revenue_yoy", "net_revenue_retention", "gross_revenue_retention"):
            assert pd.isna(metrics.compute(con, metric_id, YEAR)["value"].iloc[0]), metric_id
        assert metrics.compute(con, "revenue_yoy", half)["value"].iloc[0] == 0
        assert metrics.compute(con, "net_revenue_retention", half)["value"].iloc[0] == 1
        assert metrics.compute(con, "revenue", YEAR)["value"].iloc[0] == 1200  # revenue itself needs no comparison
        by_month = metrics.compute(con, "revenue_yoy", YEAR, by=("month",))["value"].tolist()
        assert pd.isna(by_month[:6]).all() and by_month[6:] == [0.0] * 6
    finally:
        con.close()


def test_views_do_not_read_absent_columns_as_fact(absent, hand, year2024):
    # no closed_on: no cohort table (every cohort would read 100% kept); with it, the hand warehouse has cohorts
    assert cohort_retention(absent, YEAR).empty and not cohort_retention(hand, year2024).empty
    # complainants (one complaint is enough here): A2 (T3, 2024-05-01) then A1 (T2, 2024-04-01); no source has the
    # substantiated flag, so their substantiated counts are unknown, not 0. In the hand warehouse: C1 (T4, not
    # substantiated), then C3 (T3, substantiated).
    repeat = repeat_complainants(absent, YEAR, minimum=1)
    assert repeat["customer_id"].tolist() == ["A2", "A1"] and repeat["substantiated"].isna().all()
    assert repeat_complainants(hand, year2024, minimum=1)["substantiated"].tolist() == [0, 1]


def test_an_append_to_a_warehouse_loaded_before_columns_were_recorded_keeps_the_old_columns(tmp_path):
    db = tmp_path / "w.duckdb"
    load([_absent_exports(tmp_path / "exports")], db)
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE source_columns")
    more = tmp_path / "more"
    more.mkdir()
    (more / "tickets.csv").write_text("ticket_id,customer_id,ticket_type,created_at,arrived_at\n"
                                      "T8,B1,repair,2024-06-02 09:00,2024-06-02 09:30\n", encoding="utf-8")
    load([more], db, mode="append")
    con = metrics.connect(db)
    try:
        found = {c for (c,) in con.execute("SELECT table_name || '.' || column_name FROM source_columns").fetchall()}
        # the customers and bills, not in the append, keep the columns their values show
        assert {"customers.opened_on", "billing.amount_billed", "tickets.resolved_at", "tickets.arrived_at"} <= found
        assert "tickets.first_response_at" not in found and "billing.amount_paid" not in found
        assert metrics.compute(con, "revenue", YEAR)["value"].iloc[0] == 1600
        # T8 arrived in 30 min, within the 45 min urban target: met; T1 and T6 (no arrival recorded) now breached
        sla = metrics.compute(con, "sla_compliance", YEAR)
        assert (sla["numerator"].iloc[0], sla["denominator"].iloc[0]) == (3, 7)
    finally:
        con.close()


@pytest.mark.parametrize("rollups", [True, False])
def test_reopen_rate_counts_only_resolved_tickets_with_a_known_flag(tmp_path, rollups):
    # The first export has the reopened column, the appended one does not: its ticket's flag is unknown (null), not
    # "not reopened". Resolved in 2025 with a known flag: R1 (reopened), R2, R3 -> 1 / 3 (counting R4's unknown
    # flag would dilute it to 1 / 4); R5 is not resolved and not counted.
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    (first / "customers.csv").write_text("customer_id,customer_name,region,service_center,industry,voltage_kv,opened_on\n"
                                           "C1,One,东区,东区一所,制造业,10,2020-01-01\n")
    (first / "tickets.csv").write_text(
        "ticket_id,customer_id,ticket_type,created_at,resolved_at,reopened\n"
        "R1,C1,inquiry,2025-03-01 09:00,2025-03-01 10:00,是\n"
        "R2,C1,inquiry,2025-03-02 09:00,2025-03-02 10:00,否\n"
        "R3,C1,inquiry,2025-03-03 09:00,2025-03-03 10:00,否\n"
        "R5,C1,inquiry,2025-03-05 09:00,,否\n")
    (first / "billing.csv").write_text("customer_id,period,amount_billed\nC1,2025-03,100\n")
    (second / "tickets.csv").write_text("ticket_id,customer_id,ticket_type,created_at,resolved_at\n"
                                        "R4,C1,inquiry,2025-03-04 09:00,2025-03-04 10:00\n")
    db = tmp_path / "w.duckdb"
    load([first], db)
    load([second], db, mode="append")
    with metrics.connect(db) as con:
        assert con.execute("SELECT reopened FROM tickets WHERE ticket_id = 'R4'").fetchone() == (None,)
        year = metrics.Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
        frame = metrics.compute(con, "reopen_rate", year, settings=metrics.MetricSettings(rollups=rollups))
        assert (frame["numerator"].iloc[0], frame["denominator"].iloc[0]) == (1, 3)
        assert frame["value"].iloc[0] == pytest.approx(1 / 3)
        by_month = metrics.compute(con, "reopen_rate", year, by=("month",),
                                   settings=metrics.MetricSettings(rollups=rollups))
        assert by_month.dropna()["denominator"].tolist() == [3]


def test_windows_without_bills_are_answered_without_reading_them_and_as_reading_them_would(hand, monkeypatch):
    """The hand bills run from 2023-01 to 2024-03. Over 2022 (and a mid-month window in it) no bill lies in the window,
    and over 2023 none in the year before: revenue, growth and collection over 2022, and revenue retention over 2023, are
    no data.
    Those windows are answered without reading bills or working out tiers (metrics.facts.billing_aggregate,
    metrics.customer._revenue_retention); the frames equal what reading the bills gives (the same check with the
    bills' days widened to every day, so nothing is left out)."""
    import dataclasses

    import metrics.customer
    import metrics.facts
    from metrics.inputs import loaded_inputs

    windows = [metrics.Filters(start=dt.date(2022, 1, 1), end=dt.date(2022, 12, 31)),
               metrics.Filters(start=dt.date(2022, 3, 10), end=dt.date(2022, 11, 20)),
               metrics.Filters(start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31), tiers=("VIP", "key"))]
    names = ("revenue", "revenue_yoy", "collection_rate", "net_revenue_retention", "gross_revenue_retention")
    bys = ((), ("region",), ("tier",), ("month",))

    def computed() -> dict:
        return {(name, str(f), by, rollups): metrics.compute(hand, name, f, by,
                                                             metrics.MetricSettings(rollups=rollups))
                for name in names for f in windows for by in bys for rollups in (True, False)}

    answered = computed()
    assert answered[("revenue", str(windows[0]), (), True)]["value"].isna().all()  # no bill in 2022: no data
    assert answered[("revenue_yoy", str(windows[0]), (), True)]["value"].isna().all()
    assert answered[("collection_rate", str(windows[1]), (), False)]["value"].isna().all()
    assert answered[("net_revenue_retention", str(windows[2]), (), True)]["value"].isna().all()

    def every_day_billed(con):
        found = loaded_inputs(con)
        return dataclasses.replace(found, coverage={**found.coverage, "billing": (dt.date(1900, 1, 1),
                                                                                  dt.date(2100, 12, 31))})

    monkeypatch.setattr(metrics.facts, "loaded_inputs", every_day_billed)
    monkeypatch.setattr(metrics.customer, "loaded_inputs", every_day_billed)
    for key, frame in computed().items():
        pd.testing.assert_frame_equal(answered[key], frame, obj=str(key))
