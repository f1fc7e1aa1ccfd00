"""Events on the time charts: drawn where their date falls in the chart's range (its last period whole), never
outside it, with their text escaped in the hover."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard import charts

MONTHS = pd.DataFrame({"month": pd.to_datetime(["2026-06-01", "2026-07-01", "2026-08-01"]), "value": [3, 9, 4]})
EVENTS = pd.DataFrame({
    "event_date": [dt.date(2026, 5, 31), dt.date(2026, 6, 1), dt.date(2026, 7, 28), dt.date(2026, 8, 31),
                   dt.date(2026, 9, 1)],
    "region": ["台州", "台州", "*", "温州", "台州"],
    "kind": ["holiday", "typhoon", "tariff_change", "grid_fault", "system_change"],
    "text": ["before", "台风<b>登陆</b>", "分时电价", "last day of August", "after"]})


def event_trace(fig):
    found = [t for t in fig.data if t.meta == "events"]
    return found[0] if found else None


def test_only_events_inside_the_range_are_drawn():
    fig = charts.trend(MONTHS, "Complaints", "Complaints", "count", events=EVENTS)
    trace = event_trace(fig)
    # the chart covers 1 June to 31 August (its last month whole): 31 May and 1 September fall outside
    assert [pd.Timestamp(x).date() for x in trace.x] == [dt.date(2026, 6, 1), dt.date(2026, 7, 28),
                                                         dt.date(2026, 8, 31)]
    assert len([s for s in fig.layout.shapes if s.line.dash == "dot"]) == 3
    assert trace.hovertext[0] == "2026-06-01 · Typhoon · 台州: 台风&lt;b&gt;登陆&lt;/b&gt;"  # escaped for Plotly
    assert "all regions" in trace.hovertext[1]


def test_a_quarter_axis_covers_its_last_quarter_whole():
    quarters = pd.DataFrame({"quarter": pd.to_datetime(["2026-01-01", "2026-04-01"]), "value": [0.8, 0.9]})
    fig = charts.trend(quarters, "CSAT", "CSAT", "percent", x="quarter", events=EVENTS)
    # 1 January to 30 June: 31 May and 1 June are in, July onwards out
    assert [pd.Timestamp(x).date() for x in event_trace(fig).x] == [dt.date(2026, 5, 31), dt.date(2026, 6, 1)]


def test_no_events_in_range_no_trace_and_no_events_no_change():
    later = MONTHS.assign(month=MONTHS["month"] + pd.DateOffset(years=2))
    assert event_trace(charts.trend(later, "t", "y", "count", events=EVENTS)) is None
    plain = charts.trend(MONTHS, "t", "y", "count")
    assert event_trace(plain) is None and not plain.layout.shapes


def test_year_on_year_draws_events_too():
    frame = pd.DataFrame({"month": MONTHS["month"], "revenue": [1, 2, 3], "revenue_year_before": [1, 1, 1]})
    fig = charts.year_on_year(frame, "revenue", "revenue_year_before", "Revenue", "Yuan", "yuan", events=EVENTS)
    assert len(event_trace(fig).x) == 3
