"""Ticket metrics over windows that start or end mid-month: the whole months inside from a ticket roll-up, the days
before and after them ticket by ticket, and the tickets whose SLA outcome became known in the month the window's
cut-off falls in, from ticket_late_outcomes (metrics.facts.ticket_parts_sources), counted by hand on the hand warehouse (tests/conftest.py)
and checked against the row-level path."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from metrics import Filters, MetricSettings, compute
from metrics.facts import inner_months, ticket_parts_sources
from metrics.query import Params

ROW_LEVEL = MetricSettings(rollups=False)


def sets_of_rows(con, f: Filters, by=()) -> list[str]:
    """The tables the window's ticket rows are read from, one per set of rows summed."""
    return [source.split()[1] for source, _g in ticket_parts_sources(Params(con), f, by, MetricSettings())]


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
def test_a_mid_month_window_by_hand(hand, start, end, metric, value):
    f = window(start, end)
    assert sets_of_rows(hand, f) == ["ticket_months_by_region", "(SELECT"]  # whole months, then the rest
    assert compute(hand, metric, f)["value"].iloc[0] == pytest.approx(value, rel=1e-12)
    assert compute(hand, metric, f, settings=ROW_LEVEL)["value"].iloc[0] == pytest.approx(value, rel=1e-12)


def test_a_mid_month_window_by_month_by_hand(hand):
    # March: T2 (FCR N); April: T3 (N); May: T4 (Y). 2024-03-02..2024-05-15
    frame = compute(hand, "first_contact_resolution", window("2024-03-02", "2024-05-15"), by=("month",))
    assert [(str(m)[:10], v) for m, v in zip(frame["month"], frame["value"])] == [
        ("2024-03-01", 0.0), ("2024-04-01", 0.0), ("2024-05-01", 1.0)]
    assert frame.equals(compute(hand, "first_contact_resolution", window("2024-03-02", "2024-05-15"), by=("month",),
                                settings=ROW_LEVEL))


# T7 (connection, created 2024-09-27, due the end of 10-10, resolved 10-10 17:00: met then) and T8 (connection,
# created 10-08, due the end of 10-14). Over 2024-08-15 to `end` September is a whole month, read from ticket_months,
# where T7's outcome is kept as "known in October"; the cut-off (the midnight after `end`) falls inside October, so
# T7 is read ticket by ticket: ticket_months alone would count it met on every day of October.
@pytest.mark.parametrize(("end", "met", "known"), [
    (dt.date(2024, 10, 9), 0, 0),  # counted at 10-10 00:00: T7 not yet resolved nor late, T8 pending: no data
    (dt.date(2024, 10, 10), 1, 1),  # counted at 10-11 00:00: T7 met; T8 pending
    # ending on a month's last day, the cut-off is a month's first day: every month tells. T8 breached at 10-15 00:00
    (dt.date(2024, 10, 31), 1, 2),
])
def test_sla_outcomes_known_in_the_cut_off_month_are_read_ticket_by_ticket(hand, end, met, known):
    f = window("2024-08-15", end.isoformat())
    frame = compute(hand, "sla_compliance", f)
    assert sets_of_rows(hand, f) == ["ticket_months_by_region", "(SELECT"]
    assert (frame["numerator"].iloc[0], frame["denominator"].iloc[0]) == (met, known)
    assert compute(hand, "tickets", f)["value"].iloc[0] == 2  # T7, T8
    pd.testing.assert_frame_equal(frame, compute(hand, "sla_compliance", f, settings=ROW_LEVEL), check_dtype=False)


def test_the_late_outcomes_are_the_tickets_whose_sla_outcome_became_known_in_a_later_month(hand):
    """T7 (connection, created 2024-09-27, met when resolved on 10-10) and T5 (inquiry, created 2024-12-31 20:00,
    never resolved: breached 24 h later, on 2025-01-01) became known in a later month than they were created in;
    T8 (created and met in October), T6 (breached on 12-02), T10 (breached on 2023-12-21) and the repairs and
    complaints resolved within their month did not. A window ending mid-October reads T7 from this table."""
    late = [row[0] for row in hand.execute("SELECT ticket_id FROM ticket_late_outcomes ORDER BY ticket_id").fetchall()]
    assert late == ["T5", "T7"]
    sources = ticket_parts_sources(Params(hand), window("2024-08-15", "2024-10-09"), (), MetricSettings())
    assert "ticket_late_outcomes" in sources[-1][0]
