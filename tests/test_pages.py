"""Every page through Streamlit's AppTest on the demo warehouse: default filters, one region, an empty selection."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import metrics
from dashboard import data, registry
from dashboard.filters import default_period
from dashboard.format import number
from metrics import CATALOGUE
from metrics.service import repeat_complainants
from metrics.warehouse import data_range

APP = Path(__file__).resolve().parents[1] / "app.py"
# every page that opens on the sidebar's filters alone (the account pages have their own tests)
PAGES = tuple(slug for slug in registry.SLUGS if slug not in registry.ONE_ACCOUNT_PAGES)
REGION = "台州"


@pytest.fixture(autouse=True)
def demo_warehouse(demo_db, monkeypatch):
    monkeypatch.setattr(data, "WAREHOUSE", demo_db)


@pytest.fixture(scope="module")
def default_filters(demo):
    return metrics.Filters(start=default_period(*data_range(demo))[0], end=data_range(demo)[1])


def run_page(page: str, **state) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def tile(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


TITLES = {"scorecard": "Key account service scorecard", "tiers": "Customer tiers", "response_times": "Response times",
          "complaints": "Complaints", "retention": "Retention", "satisfaction": "Satisfaction",
          "data": "Data status", "explore": "Explore and download"}
NO_DATA = "No data for these filters"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_with_default_filters(page):
    at = run_page(page)
    assert at.title[0].value == TITLES[page]
    assert not [i.value for i in at.info if NO_DATA in i.value]
    assert len(at.dataframe) + len(at.get("plotly_chart")) >= 1


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_an_empty_selection(page):
    # a service centre outside the chosen region: no customer matches
    at = run_page(page, region=[REGION], center=["宁波城东供电所"])
    assert at.title[0].value == TITLES[page]
    if page == "scorecard":
        assert tile(at, "Customer satisfaction (CSAT)") == "–" and tile(at, "SLA compliance") == "–"
    elif page == "data":  # warehouse status does not depend on the filters
        assert at.dataframe[0].value.set_index("Table").loc["Customer accounts", "Rows"] == 800
    else:
        assert any(NO_DATA in i.value for i in at.info)


def test_scorecard_tiles_equal_the_metrics(demo, default_filters):
    at = run_page("scorecard")
    for metric_id in ("collection_rate", "sla_compliance", "csat", "visit_coverage", "complaint_rate_per_10k"):
        expected = metrics.compute(demo, metric_id, default_filters)["value"].iloc[0]
        assert tile(at, CATALOGUE[metric_id].label_en) == number(expected, CATALOGUE[metric_id].format)
    league = at.dataframe[0].value
    assert list(league.columns[:3]) == ["Rank", "Region", "Composite score"]
    assert len(league) == len(metrics.compute(demo, "revenue", default_filters, by=("region",)))


def test_scorecard_for_one_region(demo, default_filters):
    at = run_page("scorecard", region=[REGION])
    regional = default_filters.model_copy(update={"regions": (REGION,)})
    expected = metrics.compute(demo, "sla_compliance", regional)["value"].iloc[0]
    assert tile(at, "SLA compliance") == number(expected, "percent")
    assert at.dataframe[0].value["Region"].tolist() == [REGION]


def test_scorecard_for_one_voltage_level(demo, default_filters):
    """The sidebar's voltage level (10 kV) narrows every figure to those customers, as Filters.voltages does; and
    the figure differs from the company's, so the filter is not ignored."""
    at = run_page("scorecard", voltage=[10.0])
    assert at.sidebar.multiselect(key="voltage").value == [10.0]
    ten_kv = default_filters.model_copy(update={"voltages": (10.0,)})
    expected = metrics.compute(demo, "sla_compliance", ten_kv)["value"].iloc[0]
    company = metrics.compute(demo, "sla_compliance", default_filters)["value"].iloc[0]
    assert expected != company
    assert tile(at, "SLA compliance") == number(expected, "percent")


def test_response_times_page_tiles_and_ticket_filter(demo, default_filters):
    at = run_page("response_times", rt_type=["repair"])
    repairs = default_filters.model_copy(update={"ticket_types": ("repair",)})
    expected = metrics.compute(demo, "sla_compliance", repairs)["value"].iloc[0]
    assert tile(at, "SLA compliance") == number(expected, "percent")


def test_response_times_table_by_ticket_type_shows_each_metric_as_computed_alone(demo, default_filters):
    """The ticket-type table's quantiles come from one query (metrics.compute_many): each column is the metric's own."""
    at = run_page("response_times")
    summary = next(d.value for d in at.dataframe if "Median resolution (h)" in d.value.columns)
    for metric_id, label in (("median_resolution_hours", "Median resolution (h)"),
                             ("p90_resolution_hours", "90th percentile resolution (h)"),
                             ("median_response_hours", "Median response (h)")):
        expected = metrics.compute(demo, metric_id, default_filters, by=("ticket_type",))["value"]
        assert len(expected) == len(summary) > 3
        assert sorted(summary[label].dropna().tolist()) == sorted(expected.dropna().tolist()), metric_id


def test_complaints_page_counts(demo, default_filters):
    at = run_page("complaints", region=[REGION])
    regional = default_filters.model_copy(update={"regions": (REGION,)})
    assert tile(at, "Complaints") == number(metrics.compute(demo, "complaints", regional)["value"].iloc[0], "count")
    at = run_page("complaints")
    expected = repeat_complainants(demo, default_filters)
    assert len(expected) > 0
    repeat = at.dataframe[-1].value
    assert repeat["Customer ID"].tolist() == expected["customer_id"].tolist()
    assert {"Complaints", "Categories", "Substantiated"} <= set(repeat.columns)


def test_tiers_page_concentration(demo, default_filters):
    from metrics.tiers import revenue_concentration

    at = run_page("tiers")
    row = revenue_concentration(demo, default_filters).iloc[0]
    assert tile(at, "Customers with revenue") == f"{int(row['customers']):,}"
    assert tile(at, "Gini coefficient") == f"{row['gini']:.2f}"


def test_retention_page_early_warning_table(demo):
    at = run_page("retention")
    warning = at.dataframe[-1].value
    assert list(warning.columns) == ["Account page", "Customer ID", "Customer", "Tier", "Region", "Reasons", "Number of reasons",
                                     "Revenue, last 12 months (¥)", "Service centre", "Account manager"]
    assert set(warning["Tier"]) <= {"VIP", "Key"} and (warning["Number of reasons"] >= 1).all()


def test_satisfaction_page(demo, default_filters):
    at = run_page("satisfaction")
    assert tile(at, "Net promoter score") == number(metrics.compute(demo, "nps", default_filters)["value"].iloc[0], "nps")


def test_data_page_shows_counts_and_history(demo):
    at = run_page("data")
    tables = at.dataframe[0].value.set_index("Table")
    assert tables.loc["Customer accounts", "Rows"] == 800
    assert at.dataframe[1].value["Rows rejected"].tolist() == [0]
    first, last = data_range(demo)
    assert tile(at, "Data covers") == f"{first:%Y-%m} – {last:%Y-%m}"


def test_explore_page_metric_by_region(demo, default_filters):
    at = run_page("explore", explore_metric="revenue", explore_by_revenue=["region"])
    shown = at.dataframe[0].value
    expected = metrics.compute(demo, "revenue", default_filters, by=("region",))
    assert shown["Region"].tolist() == expected["region"].tolist()
    assert shown["Value"].round(2).tolist() == expected["value"].round(2).tolist()
