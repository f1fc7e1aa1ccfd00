"""The scorecard's previous comparable period (SPEC 5.6): whole months compare with as many whole months just before;
any other window with as many days just before. Each expected period is counted out by hand in the comment."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics import Filters
from metrics.scorecard import previous_period, sparkline_window

D = dt.date


@pytest.mark.parametrize("start, end, before_start, before_end", [
    # year to date, January to October 2026 (10 months) -> the 10 months before January: March to December 2025
    (D(2026, 1, 1), D(2026, 10, 31), D(2025, 3, 1), D(2025, 12, 31)),
    # one month, March 2026 -> February 2026, which ends on the 28th (2026 is not a leap year)
    (D(2026, 3, 1), D(2026, 3, 31), D(2026, 2, 1), D(2026, 2, 28)),
    # one month in a leap year, March 2024 -> February 2024, ending on the 29th
    (D(2024, 3, 1), D(2024, 3, 31), D(2024, 2, 1), D(2024, 2, 29)),
    # one month, January 2026 -> December 2025 (across the year)
    (D(2026, 1, 1), D(2026, 1, 31), D(2025, 12, 1), D(2025, 12, 31)),
    # a 30-day month, April 2026 -> March 2026, 31 days (the day count would give March 2 to March 31)
    (D(2026, 4, 1), D(2026, 4, 30), D(2026, 3, 1), D(2026, 3, 31)),
    # a quarter, Q2 2024 (April to June) -> Q1 2024 (January to March, 91 days in a leap year)
    (D(2024, 4, 1), D(2024, 6, 30), D(2024, 1, 1), D(2024, 3, 31)),
    # a quarter, Q1 2025 -> Q4 2024
    (D(2025, 1, 1), D(2025, 3, 31), D(2024, 10, 1), D(2024, 12, 31)),
    # three months ending in February, December 2023 to February 2024 -> September to November 2023
    (D(2023, 12, 1), D(2024, 2, 29), D(2023, 9, 1), D(2023, 11, 30)),
    # a year, 2024 -> 2023
    (D(2024, 1, 1), D(2024, 12, 31), D(2023, 1, 1), D(2023, 12, 31)),
    # 24 months, November 2024 to October 2026 -> November 2022 to October 2024
    (D(2024, 11, 1), D(2026, 10, 31), D(2022, 11, 1), D(2024, 10, 31)),
    # 14 months, March 2025 to April 2026 -> January 2024 to February 2025 (ending on the 28th)
    (D(2025, 3, 1), D(2026, 4, 30), D(2024, 1, 1), D(2025, 2, 28)),
])
def test_whole_months_compare_with_as_many_whole_months_before(start, end, before_start, before_end):
    before = previous_period(Filters(start=start, end=end))
    assert (before.start, before.end) == (before_start, before_end)


@pytest.mark.parametrize("start, end, before_start, before_end", [
    # January 10 to October 20, 2026: 22 + 28 + 31 + 30 + 31 + 30 + 31 + 31 + 30 + 20 = 284 days;
    # the 284 days before January 10 end on January 9 and start on 2025-04-01 (284 - 9 = 275 days of 2025:
    # December 31 back to April 1 is 31+30+31+30+31+31+30+31+30 = 275)
    (D(2026, 1, 10), D(2026, 10, 20), D(2025, 4, 1), D(2026, 1, 9)),
    # March 1 to 15, 2024 (15 days) -> February 15 to 29, 2024 (15 days of a leap February)
    (D(2024, 3, 1), D(2024, 3, 15), D(2024, 2, 15), D(2024, 2, 29)),
    # March 1 to 15, 2026 (15 days) -> February 14 to 28, 2026
    (D(2026, 3, 1), D(2026, 3, 15), D(2026, 2, 14), D(2026, 2, 28)),
    # starting on the 1st but ending mid-month, April 1 to 20, 2026 (20 days) -> March 12 to 31
    (D(2026, 4, 1), D(2026, 4, 20), D(2026, 3, 12), D(2026, 3, 31)),
    # ending on a month end but starting mid-month, February 15 to March 31, 2026 (14 + 31 = 45 days) ->
    # January 1 to February 14 (31 + 14 = 45 days)
    (D(2026, 2, 15), D(2026, 3, 31), D(2026, 1, 1), D(2026, 2, 14)),
    # one day -> the day before
    (D(2026, 3, 1), D(2026, 3, 1), D(2026, 2, 28), D(2026, 2, 28)),
])
def test_other_windows_compare_with_as_many_days_before(start, end, before_start, before_end):
    before = previous_period(Filters(start=start, end=end))
    assert (before.start, before.end) == (before_start, before_end)
    assert (before.end - before.start).days == (end - start).days


def test_the_previous_period_keeps_every_filter():
    f = Filters(start=D(2026, 1, 1), end=D(2026, 6, 30), regions=("A",), tiers=("VIP",), voltages=(10.0,))
    before = previous_period(f)
    assert before.model_copy(update={"start": f.start, "end": f.end}) == f


@pytest.mark.parametrize("start, end, spark_start, spark_end", [
    # a year of whole months, December 2025 to November 2026 -> all twelve
    (D(2025, 12, 1), D(2026, 11, 30), D(2025, 12, 1), D(2026, 11, 30)),
    # 24 whole months -> the last twelve, December 2025 to November 2026
    (D(2024, 12, 1), D(2026, 11, 30), D(2025, 12, 1), D(2026, 11, 30)),
    # April 10 to November 20, 2026 -> its whole months, May to October (April's 21 days and November's 20 left out)
    (D(2026, 4, 10), D(2026, 11, 20), D(2026, 5, 1), D(2026, 10, 31)),
    # year to date on November 20, January 1 to November 20, 2026 -> January to October
    (D(2026, 1, 1), D(2026, 11, 20), D(2026, 1, 1), D(2026, 10, 31)),
    # 2024-11-15 to 2026-11-20 -> the last twelve whole months inside: November 2025 to October 2026
    (D(2024, 11, 15), D(2026, 11, 20), D(2025, 11, 1), D(2026, 10, 31)),
    # October 15 to November 30 -> November alone
    (D(2026, 10, 15), D(2026, 11, 30), D(2026, 11, 1), D(2026, 11, 30)),
    # no whole month inside, November 1 to 20 -> the window itself, one point
    (D(2026, 11, 1), D(2026, 11, 20), D(2026, 11, 1), D(2026, 11, 20)),
])
def test_a_sparkline_runs_over_the_windows_whole_months(start, end, spark_start, spark_end):
    spark = sparkline_window(Filters(start=start, end=end, tiers=("key",)))
    assert (spark.start, spark.end, spark.tiers) == (spark_start, spark_end, ("key",))
