"""Which regions have data in a window (the league table scores only those) and whether a window has any
(metrics.scorecard.regions_with_data, has_data): counted by hand on the hand warehouse, and the tables built at load
(billing_months, ticket_months) against the facts on the demo."""

from __future__ import annotations

import datetime as dt

import pytest

import metrics.scorecard
from metrics import Filters, MetricSettings
from metrics.query import run
from metrics.scorecard import has_data, regions_with_data

ROW_LEVEL = MetricSettings(rollups=False)


def window(start: str, end: str, **filters) -> Filters:
    return Filters(start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end), **filters)


# Hand warehouse (tests/conftest.py): region A holds C1 and C2, region B holds C3, C4 and C5.
@pytest.mark.parametrize(("f", "expected"), [
    # March 2024: C3's bill (B); T1, T2 (C1, C2: A); S2 and V2 (C2: A)
    (window("2024-03-01", "2024-03-31"), {"A", "B"}),
    # May 2024: no bill; T4 (C1: A) and V1 (C1: A); nothing of B's customers
    (window("2024-05-01", "2024-05-31"), {"A"}),
    # July 2024: only the survey S3 (C3: B)
    (window("2024-07-01", "2024-07-31"), {"B"}),
    # December 2024: no bill, no survey, no visit; T5 (C1: A) on the 31st and T6 (C5, never billed: B)
    (window("2024-12-01", "2024-12-31"), {"A", "B"}),
    # mid-month to mid-month: T7 (2024-09-27) and T8 (2024-10-08), both C3's (B)
    (window("2024-09-15", "2024-10-20"), {"B"}),
    # November 2024: nothing at all
    (window("2024-11-01", "2024-11-30"), set()),
    # 2024 with region B chosen: B only, though A has data
    (window("2024-01-01", "2024-12-31", regions=("B",)), {"B"}),
    # May 2024 in urban areas: T4 and V1 are C1's (urban, A)
    (window("2024-05-01", "2024-05-31", areas=("rural", "remote")), set()),
])
@pytest.mark.parametrize("settings", [MetricSettings(), ROW_LEVEL], ids=["tables built at load", "row level"])
def test_regions_with_data_by_hand(hand, f, expected, settings):
    assert regions_with_data(hand, f, settings) == expected
    assert has_data(hand, f, settings) is bool(expected)


@pytest.mark.parametrize("settings", [MetricSettings(), ROW_LEVEL], ids=["tables built at load", "row level"])
def test_a_window_outside_the_days_the_facts_cover_asks_no_fact(hand, monkeypatch, settings):
    """The hand facts run from June 2023 (S4) to December 2024 (T5): a window in 2020 has no data, known from the days
    each fact covers (fact_coverage) without a query over any fact or roll-up (nor tiers computed for a day with no
    snapshot). At 1 M customers such a query, tickets joined with tiers under every filter, with LIMIT 1, never
    returned under DuckDB 2.0.0: has_data counts rows instead, and asks only facts that cover days of the window."""
    asked = []
    monkeypatch.setattr(metrics.scorecard, "run", lambda con, sql, p: asked.append(sql) or run(con, sql, p))
    f = window("2020-01-01", "2020-12-31", tiers=("VIP",), regions=("A",))
    assert has_data(hand, f, settings) is False
    assert regions_with_data(hand, f, settings) == set()
    assert asked and not [sql for sql in asked for fact in ("billing", "ticket", "survey", "visits") if fact in sql]
    # a window the tickets alone cover (December 2024) asks them, and finds T5 and T6
    asked.clear()
    assert has_data(hand, window("2024-12-01", "2024-12-31"), settings) is True
    assert any("ticket" in sql for sql in asked)


def test_regions_with_data_from_the_tables_built_at_load_equal_the_facts(demo):
    regions = [r for (r,) in demo.execute("SELECT DISTINCT region FROM customer_facts ORDER BY 1").fetchall()]
    windows = [window("2026-01-01", "2026-09-30"), window("2026-01-01", "2026-09-30", tiers=("VIP",)),
               window("2025-11-01", "2026-10-31", tiers=("VIP", "key"), voltages=(10.0,)),
               window("2026-06-01", "2026-06-30", tiers=("VIP",), regions=tuple(regions[:2])),
               window("2025-12-10", "2026-05-20", tiers=("key",)),
               window("2024-11-01", "2026-10-31", tiers=("VIP",), areas=("remote",)),
               window("2026-03-01", "2026-03-31", tiers=("VIP",), areas=("remote",), industries=("钢铁",))]
    answers = []
    for f in windows:
        answer = regions_with_data(demo, f)
        assert answer == regions_with_data(demo, f, ROW_LEVEL), f
        assert has_data(demo, f) is has_data(demo, f, ROW_LEVEL) is bool(answer), f
        answers.append(answer)
    # the windows above are not all alike: some have every region, some fewer
    assert answers[0] == set(regions) and any(0 < len(a) < len(regions) for a in answers), answers


def test_the_league_ranks_named_regions_and_scores_them_by_hand():
    # Every KPI at its target in region A (score 100), at half of it in B for a "higher is better" KPI (50) and at
    # twice it for a "lower is better" one (target / value = 50); a row of customers with no region is left out.
    import pandas as pd

    config = metrics.scorecard.load_config()
    frames = {}
    for _perspective, kpi in config.kpis():
        target = kpi.applying(None, 2026).target
        worse = target / 2 if kpi.better == "higher" else target * 2
        frames[kpi.metric] = pd.DataFrame({"region": ["A", "B", None], "value": [target, worse, target]})
    league = metrics.scorecard._league_rows(config, Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 10, 31)),
                                            frames, {"A", "B"})
    assert league["region"].tolist() == ["A", "B"] and league["rank"].tolist() == [1, 2]
    assert league["composite"].tolist() == pytest.approx([100.0, 50.0])
