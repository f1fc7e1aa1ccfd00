"""Several ticket metrics from one read of ticket_months (metrics.facts.ticket_parts_together, through compute_many):
each frame equal to the metric's own query, on the hand warehouse counted by hand (tests/conftest.py) and on the demo
over windows, breakdowns and filters, tiers included."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import metrics.facts
from metrics import Filters, MetricSettings, compute
from metrics.catalogue import CATALOGUE, compute_many

OVER_PARTS = [m for m, metric in CATALOGUE.items() if metric.ticket_rollup is not None]
ROW_LEVEL = MetricSettings(rollups=False)


@pytest.fixture
def reads(monkeypatch):
    """How many times ticket_parts_together answered."""
    calls = []
    together = metrics.facts.ticket_parts_together

    def counted(*args, **kwargs):
        result = together(*args, **kwargs)
        if result is not None:
            calls.append(1)
        return result

    monkeypatch.setattr(metrics.catalogue, "ticket_parts_together", counted)
    return calls


def test_the_ticket_metrics_over_parts_are_declared():
    assert set(OVER_PARTS) == {"tickets", "complaints", "callback_satisfaction", "substantiated_share",
                               "repair_arrival_minutes", "sla_compliance", "first_contact_resolution", "reopen_rate"}


def test_march_to_may_repair_tickets_by_hand(hand, reads):
    # March to May 2024, ticket type filter "repair": T1 (March 1st: arrived after 40 min, FCR Y, reopened N,
    # callback 5) and T2 (March 2nd: 100 min, FCR N, reopened N, callback 3). The complaint figures ignore the type
    # filter: T3 (April, substantiated Y) and T4 (May, substantiated N).
    f = Filters(start=dt.date(2024, 3, 1), end=dt.date(2024, 5, 31), ticket_types=("repair",))
    frames = compute_many(hand, OVER_PARTS, f)
    assert reads == [1]
    value = {m: frames[m]["value"].iloc[0] for m in OVER_PARTS}
    assert value["tickets"] == 2
    assert value["first_contact_resolution"] == pytest.approx(1 / 2)  # T1 of T1, T2
    assert value["reopen_rate"] == 0  # neither reopened
    assert value["repair_arrival_minutes"] == pytest.approx(70.0)  # (40 + 100) / 2
    assert value["callback_satisfaction"] == pytest.approx(4.0)  # (5 + 3) / 2
    assert value["complaints"] == 2  # T3, T4: any type filter
    assert value["substantiated_share"] == pytest.approx(1 / 2)  # T3 of T3, T4
    for m in OVER_PARTS:
        pd.testing.assert_frame_equal(frames[m], compute(hand, m, f), check_exact=True)


def test_by_ticket_type_by_hand_groups_without_a_target_left_out(hand, reads):
    # 2024: SLA compliance by type keeps the types with a target (repair, complaint, inquiry, billing, connection)
    # that have tickets, as its own query does; praise (T9) has none and is left out.
    f = Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
    frames = compute_many(hand, OVER_PARTS, f, by=("ticket_type",))
    assert reads == [1]
    assert "praise" not in set(frames["sla_compliance"]["ticket_type"])
    assert "praise" in set(frames["tickets"]["ticket_type"])
    assert frames["tickets"].set_index("ticket_type")["value"].to_dict() == {
        "billing": 1, "complaint": 2, "connection": 2, "inquiry": 1, "praise": 1, "repair": 2}
    for m in OVER_PARTS:
        pd.testing.assert_frame_equal(frames[m], compute(hand, m, f, by=("ticket_type",)), check_exact=True)


@pytest.mark.parametrize("by", [(), ("region",), ("month",), ("tier",), ("quarter", "ticket_type"), ("channel",)])
@pytest.mark.parametrize("variant", ["year", "quarter_one_tier", "months_every_filter"])
def test_equal_to_each_metric_alone_on_the_demo(demo, reads, by, variant):
    first = dt.date(2025, 1, 1)
    f = {"year": Filters(start=first, end=dt.date(2025, 12, 31)),
         "quarter_one_tier": Filters(start=dt.date(2025, 4, 1), end=dt.date(2025, 6, 30), tiers=("key",)),
         "months_every_filter": Filters(start=dt.date(2025, 2, 1), end=dt.date(2025, 9, 30), tiers=("VIP", "key"),
                                        areas=("urban", "rural"), ticket_types=("repair", "complaint", "billing"),
                                        channels=("hotline", "online"))}[variant]
    frames = compute_many(demo, OVER_PARTS, f, by=by)
    assert reads == [1]
    assert not frames["tickets"].empty
    for m in OVER_PARTS:
        alone = compute(demo, m, f, by=by)
        pd.testing.assert_frame_equal(frames[m], alone, check_exact=True)
        row_level = compute(demo, m, f, by=by, settings=ROW_LEVEL)
        pd.testing.assert_frame_equal(frames[m], row_level, check_dtype=False, rtol=1e-9)


def test_a_mid_month_window_is_left_to_each_metric(demo, reads):
    f = Filters(start=dt.date(2025, 2, 10), end=dt.date(2025, 9, 20))
    frames = compute_many(demo, OVER_PARTS, f, by=("region",))
    assert reads == []  # ticket_months alone does not hold the edge days
    for m in OVER_PARTS:
        pd.testing.assert_frame_equal(frames[m], compute(demo, m, f, by=("region",)), check_exact=True)
