"""Safe output: downloads a spreadsheet cannot run, text from the data or the URL never read as Markdown or HTML,
unusable periods in the URL, download buttons that do not rerun, month axes that do not repeat a label."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth, charts, data, escape, exports
from dashboard.filters import default_period
from ingest import load
from metrics.warehouse import data_range
from tests.conftest import (
    HAND_BILLING,
    HAND_CUSTOMERS,
    HAND_EVENTS,
    HAND_SURVEYS,
    HAND_TICKETS,
    HAND_TRAINING,
    HAND_VISITS,
)

APP = Path(__file__).resolve().parents[1] / "app.py"
FORMULA = ("=", "+", "-", "@", "\t", "\r")
LINK = "[x](http://evil.example/)"
IMAGE = "![](http://evil.example/t.png)"
ANCHOR = '<a href="http://evil.example/">Steel</a>'


def outside_code_spans(markdown: str) -> str:
    """The Markdown text with its inline code spans (any fence length) taken out: what Markdown would read."""
    return re.sub(r"(`+).*?\1", "", markdown)


# --- downloads ------------------------------------------------------------------------------------

def test_csv_cells_with_carriage_returns_and_line_feeds_stay_one_cell():
    frame = pd.DataFrame({"customer_name": ["a\r=1+1", "b\n=2+2", "c\r\n@SUM(A1)", "plain"], "value": [1, 2, 3, 4]})
    raw = exports.csv_bytes(frame)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert len(rows) == 5  # the header and four records: no line break inside a cell starts a row
    assert [row[0] for row in rows[1:]] == ["a\r=1+1", "b\n=2+2", "c\r\n@SUM(A1)", "plain"]
    assert not [row for row in rows if row[0].startswith(FORMULA)]
    # Each record ends in CRLF and each cell holding a line break is quoted, as RFC 4180 has it.
    assert raw.endswith(b"plain,4\r\n") and b'"a\r=1+1",1\r\n' in raw


@pytest.mark.parametrize("text", ["\x00=1+1", " =1+1", "\u3000=HYPERLINK(\"http://evil.example\")", "\x1b@SUM(A1)",
                                  "\u200b+1", "\t=1", "\r-2", "  \x07  -2+3"])
def test_formulas_behind_leading_control_characters_or_blanks_are_neutralised(text):
    frame = pd.DataFrame({"customer_name": [text, "normal"], "value": [-5.0, 1.0]})
    rows = list(csv.reader(io.StringIO(exports.csv_bytes(frame).decode("utf-8-sig"), newline="")))
    assert rows[1] == ["'" + text, "-5.0"] and rows[2] == ["normal", "1.0"]
    excel = pd.read_excel(io.BytesIO(exports.excel_bytes(frame)), engine="calamine")
    assert excel["Customer"].iloc[0].startswith("'") and excel["Value"].iloc[0] == -5


def test_excel_downloads_hold_text_never_a_formula_or_a_link():
    frame = pd.DataFrame({"customer_name": ["{=1+1}", "http://evil.example/", "mailto:x@evil.example"]})
    sheet = zipfile.ZipFile(io.BytesIO(exports.excel_bytes(frame))).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<hyperlink" not in sheet
    assert pd.read_excel(io.BytesIO(exports.excel_bytes(frame)), engine="calamine")["Customer"].tolist() == \
        ["{=1+1}", "http://evil.example/", "mailto:x@evil.example"]


# --- Markdown and Plotly escaping -----------------------------------------------------------------

@pytest.mark.parametrize("text", [LINK, IMAGE, ANCHOR, "http://evil.example", "www.evil.example", ":red[x] :material/bolt:",
                                  "`code` and ``more``", "$x^2$", "a\n\n# heading", "*bold* _it_"])
def test_markdown_escape_leaves_nothing_for_markdown_to_read(text):
    escaped = escape.markdown(text)
    assert outside_code_spans(escaped) == ""
    fence = re.match(r"`+", escaped).group()
    one_line = re.sub(r"[\r\n]+", " ", text)
    assert escaped == f"{fence} {one_line} {fence}"
    assert fence not in text  # the fence is longer than any backtick run inside


def test_plotly_labels_legends_ticks_and_hover_text_are_escaped():
    frame = pd.DataFrame({"industry": [ANCHOR, "steel"], "tier": ["key", "VIP"], "value": [3.0, 1.0]})
    bars = charts.bars(frame, "industry", "By industry", "Customers", "count")
    assert list(bars.data[0].x) == ['&lt;a href="http://evil.example/"&gt;Steel&lt;/a&gt;', "steel"]
    stacked = charts.stacked(frame, "industry", "tier", "value", "By industry and tier", "Customers")
    assert [list(t.x) for t in stacked.data] == [['&lt;a href="http://evil.example/"&gt;Steel&lt;/a&gt;'], ["steel"]]
    assert list(stacked.layout.xaxis.categoryarray)[0].startswith("&lt;a href")
    series = pd.DataFrame({"month": [dt.date(2026, 1, 1)] * 2, "series": [ANCHOR, "%{y}"], "value": [1.0, 2.0]})
    trend = charts.trend(series, "Trend", "Hours", "hours", series="series")
    assert sorted(t.name for t in trend.data) == ["%{y}", '&lt;a href="http://evil.example/"&gt;Steel&lt;/a&gt;']
    heat = charts.heatmap(pd.DataFrame({"cohort": [ANCHOR], "quarters_since_open": [0], "retention": [1.0]}),
                          "quarters_since_open", "cohort", "retention", "Cohorts")
    assert list(heat.data[0].y) == ['&lt;a href="http://evil.example/"&gt;Steel&lt;/a&gt;']
    for fig in (bars, stacked, trend, heat):
        spec = fig.to_json()
        assert "evil.example" not in "".join(str(t.hovertemplate) for t in fig.data)  # data never in a template
        assert "<a href" not in json.dumps(json.loads(spec))


# --- pages: URL values and loaded text ------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    """The hand-sized warehouse with names, industries and categories written to break Markdown and Plotly."""
    folder = tmp_path_factory.mktemp("hostile")
    customers = pd.read_csv(io.StringIO(HAND_CUSTOMERS), dtype=str, keep_default_na=False)
    customers["industry"] = customers["industry"].replace({"steel": ANCHOR})
    customers["region"] = customers["region"].replace({"A": LINK})
    customers["customer_name"] = customers["customer_name"].replace({"Steel One": IMAGE})
    customers.to_csv(folder / "customers.csv", index=False)
    tickets = pd.read_csv(io.StringIO(HAND_TICKETS), dtype=str, keep_default_na=False)
    tickets["category"] = tickets["category"].replace({"service attitude": IMAGE, "billing error": ANCHOR})
    tickets.to_csv(folder / "tickets.csv", index=False)
    training = pd.read_csv(io.StringIO(HAND_TRAINING), dtype=str)
    training["region"] = training["region"].replace({"A": LINK})
    training.to_csv(folder / "staff_training.csv", index=False)
    for name, text in (("billing.csv", HAND_BILLING), ("surveys.csv", HAND_SURVEYS), ("visits.csv", HAND_VISITS),
                       ("account_events.csv", HAND_EVENTS)):
        (folder / name).write_text(text, encoding="utf-8")
    db = folder / "hostile.duckdb"
    report = load([folder], db)
    assert all(f.rejected == 0 for f in report.files), report.to_json()
    return db


def run_app(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, values in query.items():
        at.query_params[key] = values
    if page:
        at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_markdown(at: AppTest) -> list[str]:
    """Every Markdown body the run drew: notices, captions, Markdown, in the sidebar and the page."""
    return [e.value for kind in ("warning", "info", "error", "success", "caption", "markdown")
            for e in getattr(at, kind)] + [e.value for e in at.sidebar.warning]


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_markdown_in_url_filter_values_is_shown_as_text(demo_db, monkeypatch):
    monkeypatch.setattr(data, "WAREHOUSE", demo_db)
    at = run_app(region=[LINK, IMAGE, "台州"])
    notice = next(w.value for w in at.sidebar.warning if w.value.startswith("Not available to you"))
    assert notice == f"Not available to you, so left out: {escape.markdown(LINK)}, {escape.markdown(IMAGE)}"
    assert "http" not in outside_code_spans(notice)
    assert [m.value for m in at.multiselect if m.label == "Region"] == [["台州"]]  # the known region still applies


def test_markdown_and_html_in_loaded_text_never_reach_markdown_or_plotly_raw(hostile_db, monkeypatch, tmp_path):
    monkeypatch.setattr(data, "WAREHOUSE", hostile_db)
    users = tmp_path / "users.toml"  # sign-in off, no users: the example file names regions this data does not have
    users.write_text('[auth]\nmode = "none"\n', encoding="utf-8")
    monkeypatch.setattr(auth, "USERS_FILE", users)
    labels_seen = []
    for page in ("scorecard", "tiers", "complaints", "retention", "explore"):
        at = run_app(page)
        for body in shown_markdown(at):
            assert "evil.example" not in outside_code_spans(body), (page, body)
        for spec in plotly_specs(at):
            for trace in spec["data"]:
                texts = [str(v) for key in ("x", "y", "name", "labels") for v in
                         (trace.get(key) if isinstance(trace.get(key), list) else [trace.get(key)])]
                labels_seen += [t for t in texts if "evil.example" in t]
                assert not [t for t in texts if "<a " in t or "<img" in t], (page, texts)
                assert "evil.example" not in trace.get("hovertemplate", ""), page
    # The hostile industry and categories were drawn, escaped: the check above looked at real labels.
    assert '&lt;a href="http://evil.example/"&gt;Steel&lt;/a&gt;' in labels_seen
    assert any(t.startswith("![](http://evil.example/t.png)") for t in labels_seen)  # plain text to Plotly


# --- periods in the URL ---------------------------------------------------------------------------

@pytest.mark.parametrize("period", [["2026-05-01", "2026-01-01"], ["garbage"], ["2026-02-30", "2026-03-01"],
                                    ["1999-01-01", "1999-12-31"], ["2026-01-01", "2026-02-01", "2026-03-01"]])
def test_an_unusable_period_in_the_url_is_a_notice_and_the_default_period(demo_db, demo, monkeypatch, period):
    monkeypatch.setattr(data, "WAREHOUSE", demo_db)
    at = run_app(period=period)
    default = default_period(*data_range(demo))
    notices = [w.value for w in at.sidebar.warning if w.value.startswith("The period in the link cannot be used")]
    assert notices == ["The period in the link cannot be used, so the last twelve months are shown: "
                       + escape.markdown(" – ".join(period))]
    assert at.sidebar.date_input[0].value == default
    assert at.title[0].value == "Key account service scorecard"
    assert at.caption[0].value.startswith(f"{default[0]:%Y-%m-%d} to {default[1]:%Y-%m-%d}")
    assert "period" not in at.query_params


def test_a_usable_period_in_the_url_is_used_without_a_notice(demo_db, monkeypatch):
    monkeypatch.setattr(data, "WAREHOUSE", demo_db)
    at = run_app(period=["2026-01-01", "2026-03-31"])
    assert not [w for w in at.sidebar.warning if w.value.startswith("The period in the link")]
    assert at.sidebar.date_input[0].value == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert at.caption[0].value.startswith("2026-01-01 to 2026-03-31")


# --- download buttons and month axes --------------------------------------------------------------

def test_download_buttons_make_their_file_on_click_without_a_rerun(demo_db, monkeypatch):
    monkeypatch.setattr(data, "WAREHOUSE", demo_db)
    buttons = run_app("complaints").get("download_button")
    assert len(buttons) >= 8
    assert all(b.proto.ignore_rerun and b.proto.deferred_file_id for b in buttons)


def test_month_labels_never_repeat():
    two_months = pd.DataFrame({"month": [dt.date(2022, 4, 1), dt.date(2022, 5, 1)], "value": [1.0, 2.0]})
    fig = charts.trend(two_months, "Complaints by month", "Complaints", "count")
    # One tick a month from the first month: 2022-04, 2022-05 (Plotly's own choice here was every half month).
    assert (fig.layout.xaxis.dtick, fig.layout.xaxis.tick0, fig.layout.xaxis.tickformat) == ("M1", "2022-04-01",
                                                                                              "%Y-%m")
    one_month = charts.trend(two_months.iloc[:1], "One month", "Complaints", "count")
    assert one_month.layout.xaxis.dtick == "M1"
    three_years = pd.DataFrame({"month": pd.date_range("2023-11-01", periods=36, freq="MS"), "value": 1.0})
    assert charts.trend(three_years, "Three years", "Complaints", "count").layout.xaxis.dtick == "M3"  # 35/3 <= 12
    quarters = pd.DataFrame({"quarter": pd.date_range("2020-01-01", periods=24, freq="QS"), "value": 1.0})
    assert charts.trend(quarters, "Quarters", "CSAT", "percent", x="quarter").layout.xaxis.dtick == "M6"  # 69/6
