"""China's working-day calendar: weekends, public holidays and the official adjusted working days.

Uses the `chinesecalendar` package, which follows the State Council's yearly holiday notice.
For a year the package does not know yet, the fallback is Monday to Friday, and every day
says which source it came from so a report can show that it is an estimate.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pandas as pd

OFFICIAL = "official"
WEEKDAYS_ONLY = "weekdays only (no official holiday notice for this year in chinesecalendar)"


def _is_workday(day: dt.date) -> tuple[bool, str]:
    try:
        return chinese_calendar.is_workday(day), OFFICIAL
    except NotImplementedError:
        return day.weekday() < 5, WEEKDAYS_ONLY


def working_day_calendar(first: dt.date, last: dt.date) -> pd.DataFrame:
    """One row per day from first to last: day, is_workday, workday_number (running count of working days), source."""
    days = pd.date_range(first, last, freq="D").date
    flags = [_is_workday(day) for day in days]
    frame = pd.DataFrame({
        "day": pd.to_datetime(pd.Series(days)).dt.date,
        "is_workday": [f for f, _ in flags],
        "source": [s for _, s in flags],
    })
    frame["workday_number"] = frame["is_workday"].cumsum().astype("int64")
    return frame
