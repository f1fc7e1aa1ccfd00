"""Which month a scheduled run reports on, and whether today is the day to run: the first working day of the month by
the warehouse's working-day calendar (China's official calendar, `ingest.workdays`, stored at load)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from ingest.workdays import working_day_calendar
from metrics.warehouse import calendar_days


def first_working_day(con: duckdb.DuckDBPyConnection, month: dt.date) -> dt.date:
    """The month's first working day: from the warehouse's calendar table, or from the same official calendar when the
    table does not reach the month (a warehouse loaded long ago)."""
    start = month.replace(day=1)
    end = (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
    days = calendar_days(con, start, end)
    if len(days) < (end - start).days + 1:
        days = working_day_calendar(start, end)
    working = days.loc[days["is_workday"].astype(bool), "day"]
    return pd.Timestamp(working.iloc[0]).date()


def last_month(data_until: dt.date | None, today: dt.date) -> tuple[dt.date, str | None]:
    """`--month last`: the month just ended, or, when the loaded data does not reach that month's end yet, the latest
    month it covers to the end, with a note saying so (a book for a month half loaded would read as a collapse)."""
    ended = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    if data_until is None:
        raise ValueError("the warehouse holds no bills or tickets: load the month's exports first")
    covered_end = data_until + dt.timedelta(days=1)
    covered = (covered_end.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    if covered >= ended:
        return ended, None
    return covered, (f"the loaded data ends on {data_until:%Y-%m-%d}, so the last whole month is {covered:%Y-%m}, "
                     f"not {ended:%Y-%m}: load {ended:%Y-%m}'s exports and run again for it")
