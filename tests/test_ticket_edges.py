"""Ticket metrics over windows that start or end mid-month: the whole months inside from ticket_months, the days
before and after them ticket by ticket (metrics.facts.ticket_edges), counted by hand on the hand warehouse
(tests/conftest.py) and checked against the row-level path."""

from __future__ import annotations

import datetime as dt

import pytest

import metrics.facts
from metrics import Filters, MetricSettings, compute
from metrics.facts import inner_months

ROW_LEVEL = MetricSettings(rollups=False)


def window(start: str, end: str) -> Filters:
    return Filters(start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end))


@pytest.mark.parametrize(("start", "end", "inner"), [
    ("2024-03-02", "2024-05-15", ("2024-04-01", "2024-04-30")),
    ("2024-03-01", "2024-05-15", ("2024-03-01", "2024-04-30")),  # starts on a month's first day
    ("2024-02-20", "2024-04-30", ("2024-03-01", "2024-04-30")),  # ends on a month's last day
    ("2024-02-20", "2024-04-10", ("2024-03-01", "2024-03-31")),
    ("2023-12-10", "2024-03-05", ("2024-01-01", "2024-02-29")),  # a leap February, across a year
    ("2024-03-02", "2024-04-20", None),  # no whole month inside
    ("2024-03-01", "2024-04-30", None),  # whole months: ticket_months alone
    ("2024-03-05", "2024-03-25", None),
])
def test_inner_months(start, end, inner):
    expected = None if inner is None else tuple(dt.date.fromisoformat(d) for d in inner)
    assert inner_months(window(start, end)) == expected


# Hand tickets (tests/conftest.py HAND_TICKETS) in 2024-03-02..2024-05-15: T2 (March 2nd: repair, arrived after
# 100 min, resolved, FCR N, reopened N), T3 (April: complaint, resolved, FCR N, reopened Y) and T4 (May 1st:
# complaint, resolved, FCR Y, reopened N). April comes from ticket_months, March 2nd-31st and May 1st-15th ticket by
# ticket. In 2024-02-20..2024-04-10 also T1 (March 1st: repair, 40 min, FCR Y, reopened N), and not T4.
@pytest.mark.parametrize(("start", "end", "metric", "value"), [
    ("2024-03-02", "2024-05-15", "first_contact_resolution", 1 / 3),  # T4 of T2, T3, T4
    ("2024-03-02", "2024-05-15", "reopen_rate", 1 / 3),  # T3 of T2, T3, T4
    ("2024-03-02", "2024-05-15", "repair_arrival_minutes", 100.0),  # T2 alone
    ("2024-02-20", "2024-04-10", "first_contact_resolution", 1 / 3),  # T1 of T1, T2, T3
    ("2024-02-20", "2024-04-10", "repair_arrival_minutes", 70.0),  # (40 + 100) / 2
    ("2024-02-20", "2024-04-10", "reopen_rate", 1 / 3),  # T3 of T1, T2, T3
])
def test_a_mid_month_window_by_hand(hand, monkeypatch, start, end, metric, value):
    calls = []
    edges = metrics.facts._edges_aggregate
    monkeypatch.setattr(metrics.facts, "_edges_aggregate", lambda *a, **k: calls.append(1) or edges(*a, **k))
    f = window(start, end)
    assert compute(hand, metric, f)["value"].iloc[0] == pytest.approx(value, rel=1e-12)
    assert calls == [1]  # read from ticket_months and the edge days
    assert compute(hand, metric, f, settings=ROW_LEVEL)["value"].iloc[0] == pytest.approx(value, rel=1e-12)


def test_a_mid_month_window_by_month_by_hand(hand):
    # March: T2 (FCR N); April: T3 (N); May: T4 (Y). 2024-03-02..2024-05-15
    frame = compute(hand, "first_contact_resolution", window("2024-03-02", "2024-05-15"), by=("month",))
    assert [(str(m)[:10], v) for m, v in zip(frame["month"], frame["value"])] == [
        ("2024-03-01", 0.0), ("2024-04-01", 0.0), ("2024-05-01", 1.0)]
    assert frame.equals(compute(hand, "first_contact_resolution", window("2024-03-02", "2024-05-15"), by=("month",),
                                settings=ROW_LEVEL))


def test_sla_compliance_over_a_mid_month_window_is_not_read_from_months(hand, monkeypatch):
    """SLA outcomes are kept in ticket_months by the month they became known: a window ending mid-month would count
    the outcomes known later that month, so sla_compliance takes the row-level path there."""
    calls = []
    monkeypatch.setattr(metrics.facts, "_edges_aggregate", lambda *a, **k: calls.append(1))
    f = window("2024-02-20", "2024-04-10")
    assert compute(hand, "sla_compliance", f).equals(compute(hand, "sla_compliance", f, settings=ROW_LEVEL))
    assert calls == []
