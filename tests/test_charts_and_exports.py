"""Figure builders, number formats and download files, without Streamlit."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

from dashboard import charts, exports
from dashboard.format import change, number
from metrics.scorecard import Kpi, ScorecardFileError, load_config, score, status


def test_trend_has_axis_titles_target_and_marked_months():
    frame = pd.DataFrame({"month": [dt.date(2025, m, 1) for m in (1, 2, 3)], "value": [10, 40, 12]})
    fig = charts.trend(frame, "Complaints by month", "Complaints", "count", target=20,
                       highlight=pd.Series([False, True, False]))
    assert fig.layout.title.text == "Complaints by month"
    assert fig.layout.xaxis.title.text == "Month" and fig.layout.yaxis.title.text == "Complaints"
    assert [t.name for t in fig.data] == ["Complaints", "Stands out"]
    assert list(fig.data[1].y) == [40]
    assert fig.layout.shapes[0].y0 == 20  # the target line


def test_tier_colours_are_the_same_everywhere():
    dist = pd.DataFrame({"tier": ["VIP", "key", "standard"], "customers_share": [.1, .2, .7],
                         "revenue_share": [.5, .3, .2], "consumption_kwh_share": [.5, .3, .2]})
    fig = charts.tier_shares(dist, "Customers vs revenue by tier")
    assert [t.marker.color for t in fig.data] == [charts.TIER_COLORS[t] for t in ("VIP", "key", "standard")]
    assert [t.name for t in fig.data] == ["VIP", "Key", "Standard"]
    assert fig.layout.yaxis.tickformat == ".0%"
    bars = charts.bars(pd.DataFrame({"tier": ["key", "VIP"], "value": [3.0, 1.0]}), "tier", "Rate", "Per 10k",
                       "per_10k", colors=charts.TIER_COLORS)
    assert list(bars.data[0].marker.color) == [charts.TIER_COLORS["key"], charts.TIER_COLORS["VIP"]]


def test_pareto_curve_runs_from_origin_with_top20_marker():
    curve = pd.DataFrame({"customer_share": [.25, .5, .75, 1.0], "revenue_share": [.7, .85, .95, 1.0]})
    fig = charts.pareto(charts.pareto_points(curve), "Revenue concentration")
    assert (fig.data[0].x[0], fig.data[0].y[0]) == (0.0, 0.0) and fig.data[0].y[-1] == 1.0
    assert fig.layout.shapes[0].x0 == 0.2


def test_a_long_pareto_curve_is_drawn_through_about_a_thousand_of_its_points():
    # 2,500 customers: every 2nd (2500 // 1000) from the first, 1,250 points, the origin before them, the last after
    n = 2_500
    curve = pd.DataFrame({"customer_share": [(i + 1) / n for i in range(n)],
                          "revenue_share": [((i + 1) / n) ** 0.5 for i in range(n)]})
    points = charts.pareto_points(curve)
    assert len(points) == 1 + 1_250 + 1
    assert points["customer_share"].tolist()[:3] == [0.0, 1 / n, 3 / n]
    assert points["customer_share"].iloc[-1] == 1.0 and points["revenue_share"].iloc[-1] == 1.0


def test_migration_sankey_links_match_counts():
    migration = pd.DataFrame({"from_tier": ["new", "VIP", "key"], "to_tier": ["standard", "VIP", "closed"],
                              "customers": [4, 10, 2]})
    fig = charts.migration_sankey(migration, "Migration", "2025-01-01", "2026-01-01")
    nodes = list(fig.data[0].node.label)
    assert nodes == ["New (2025-01-01)", "VIP (2025-01-01)", "Key (2025-01-01)", "VIP (2026-01-01)",
                     "Standard (2026-01-01)", "Closed (2026-01-01)"]
    assert list(fig.data[0].link.value) == [4, 10, 2]
    assert [nodes[i] for i in fig.data[0].link.target] == ["Standard (2026-01-01)", "VIP (2026-01-01)",
                                                           "Closed (2026-01-01)"]


@pytest.mark.parametrize("value,fmt,text", [
    (0.9312, "percent", "93.1%"), (18_890_423_200, "yuan", "¥18.89 bn"), (4771, "count", "4,771"),
    (1.23, "hours", "1.2 h"), (38.7, "minutes", "39 min"), (4.2875, "score", "4.29 / 5"), (14.98, "nps", "+15"),
    (float("nan"), "percent", "–"), (None, "count", "–")])
def test_number_formats(value, fmt, text):
    assert number(value, fmt) == text


def test_change_uses_percentage_points_and_a_parseable_sign():
    assert change(0.0123, "percent") == "+1.2 pp"
    assert change(-127.0, "per_10k") == "-127"
    assert change(float("nan"), "count") is None
    assert change(-0.01, "hours") == "±0.0 h" and change(0.00004, "percent") == "±0.0 pp"  # too small to show a sign


def test_downloads_neutralise_formulas_but_keep_negative_numbers():
    frame = pd.DataFrame({"customer_name": ["=HYPERLINK(\"x\")", "+cmd", "@SUM(A1)", "normal", "-2+3"],
                          "value": [-5.0, 1.0, 2.0, 3.0, 4.0]})
    csv_text = exports.csv_bytes(frame).decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(csv_text))
    assert list(back.columns) == ["Customer", "Value"]
    assert back["Customer"].tolist() == ["'=HYPERLINK(\"x\")", "'+cmd", "'@SUM(A1)", "normal", "'-2+3"]
    assert back["Value"].tolist() == [-5.0, 1.0, 2.0, 3.0, 4.0]
    excel = pd.read_excel(io.BytesIO(exports.excel_bytes(frame)), engine="calamine")
    assert excel["Customer"].iloc[0].startswith("'=") and excel["Value"].iloc[0] == -5
    parquet = pd.read_parquet(io.BytesIO(exports.parquet_bytes(frame)))
    assert parquet["Customer"].iloc[3] == "normal" and len(parquet) == 5


def test_downloads_translate_code_values():
    frame = pd.DataFrame({"tier": ["key", "VIP"], "ticket_type": ["repair", "complaint"]})
    back = pd.read_csv(io.StringIO(exports.csv_bytes(frame).decode("utf-8-sig")))
    assert back.to_dict("list") == {"Tier": ["Key", "VIP"], "Ticket type": ["Repair", "Complaint"]}


def test_kpi_status_and_score():
    csat = Kpi(metric="csat", target=0.85, amber_within=0.05)
    assert [status(v, csat) for v in (0.9, 0.82, 0.7, float("nan"))] == ["green", "amber", "red", "grey"]
    assert score(0.425, csat) == pytest.approx(50) and score(0.95, csat) == 100
    complaints = Kpi(metric="complaint_rate_per_10k", target=800, amber_within=300)  # lower is better
    assert [status(v, complaints) for v in (700, 1000, 1200)] == ["green", "amber", "red"]
    assert score(1600, complaints) == pytest.approx(50) and score(0, complaints) == 100


def test_scorecard_file_errors_name_the_key(tmp_path):
    assert len(load_config().kpis()) >= 8
    bad = tmp_path / "bad.toml"
    bad.write_text('financial = [{metric = "revenue", target = 1, amber_within = 0, wieght = 2}]\n'
                   'customer = []\ninternal_process = []\nlearning_growth = []\n', encoding="utf-8")
    with pytest.raises(ScorecardFileError, match=r"financial\.0\.wieght: Extra inputs are not permitted"):
        load_config(bad)
    bad.write_text('financial = [{metric = "revenu", target = 1, amber_within = 0}]\n'
                   'customer = []\ninternal_process = []\nlearning_growth = []\n', encoding="utf-8")
    with pytest.raises(ScorecardFileError, match="unknown metric 'revenu'"):
        load_config(bad)


def test_benchmark_page_sets_name_real_metrics_and_views():
    from bench.pages import PAGE_STEPS, STARTED_FIRST
    from dashboard.data import VIEWS
    from metrics import CATALOGUE

    # a step a page starts first is one of its own steps, taken in its place
    assert all(step in PAGE_STEPS[page] for page, step in STARTED_FIRST.items())
    for page, steps in PAGE_STEPS.items():
        for kind, name, _kwargs in steps:
            assert kind in ("metric", "metrics", "view", "scorecard", "migration"), page
            if kind == "metric":
                assert name in CATALOGUE, (page, name)
            if kind == "metrics":
                assert set(name) <= set(CATALOGUE), (page, name)
            if kind == "view":
                assert name in VIEWS, (page, name)


def test_heatmaps_use_a_fixed_scale_for_shares_and_scores():
    frame = pd.DataFrame({"cohort": ["2026-01", "2026-01"], "quarters_since_open": [0, 1], "retention": [1.0, 1.0]})
    fig = charts.heatmap(frame, "quarters_since_open", "cohort", "retention", "Cohort retention")
    assert (fig.data[0].zmin, fig.data[0].zmax) == (0, 1)
    assert fig.data[0].z.tolist() == [[1.0, 1.0]]


def test_stacked_bars_keep_the_order_of_a_categorical_axis():
    # The first stack (repair) has no "0–1 days" bar; the axis must still start there, not at "90+ days".
    ages = pd.Categorical(["90+ days", "0–1 days", "1–3 days", "90+ days"],
                          categories=["0–1 days", "1–3 days", "3–7 days", "90+ days"], ordered=True)
    frame = pd.DataFrame({"ticket_type": ["repair", "billing", "billing", "billing"], "age": ages,
                          "tickets": [3, 1, 2, 4]})
    fig = charts.stacked(frame, "age", "ticket_type", "tickets", "Open tickets by age", "Tickets")
    assert list(fig.layout.xaxis.categoryarray) == ["0–1 days", "1–3 days", "90+ days"]
    assert fig.layout.xaxis.categoryorder == "array"


@pytest.mark.parametrize("language, not_given", [("en", "(not given)"), ("zh", "（未填写）")])
def test_a_missing_text_value_reads_not_given_in_charts_and_tables_never_nan(language, not_given):
    from dashboard import i18n
    from dashboard.labels import readable

    i18n.use(language)
    try:
        # active customers by industry and tier, one industry not given (a null from the export)
        frame = pd.DataFrame({"industry": ["制造业", None, "制造业", float("nan")], "tier": ["VIP", "key", "key", "VIP"],
                              "value": [1, 2, 3, 4]})
        fig = charts.stacked(frame, "industry", "tier", "value", "By industry", "Customers")
        labels = [x for trace in fig.data for x in trace.x]
        assert "nan" not in labels and "None" not in labels
        assert sorted(labels) == sorted(["制造业", not_given, "制造业", not_given])
        assert list(fig.layout.xaxis.categoryarray) == ["制造业", not_given]
        # a line per category: the legend names the missing one
        months = pd.DataFrame({"month": [dt.date(2025, 1, 1)] * 2, "category": ["停电", None], "value": [1, 2]})
        assert sorted(t.name for t in charts.trend(months, "T", "Complaints", "count", series="category").data) == \
            sorted(["停电", not_given])
        bars = charts.bars(pd.DataFrame({"service_center": ["一所", None], "value": [1.0, 2.0]}), "service_center",
                           "T", "Hours", "hours")
        assert list(bars.data[0].x) == ["一所", not_given]
        grid = charts.heatmap(pd.DataFrame({"region": ["东区", "东区"], "industry": ["商业", None], "value": [.5, .7]}),
                              "industry", "region", "value", "T")
        assert not_given in list(grid.data[0].x)
        # a table shows the label; the data (and so the downloads) keep the value empty
        table = pd.DataFrame({"customer_id": ["C1", "C2"], "industry": ["商业", None], "category": [None, "停电"],
                              "service_center": [float("nan"), "一所"], "last_visit": [None, dt.date(2025, 1, 2)]})
        shown = readable(table)
        assert shown.iloc[:, 1].tolist() == ["商业", not_given]
        assert shown.iloc[:, 2].tolist() == [not_given, "停电"]
        assert shown.iloc[:, 3].tolist() == [not_given, "一所"]
        assert shown.iloc[0, 4] is None  # a missing date stays empty
        assert table["industry"].isna().tolist() == [False, True]
        assert b"(not given)" not in exports.csv_bytes(table) and "未填写".encode() not in exports.csv_bytes(table)
    finally:
        i18n.use("en")
