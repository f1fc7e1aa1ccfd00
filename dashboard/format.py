"""Numbers as a utility report prints them, in the current language (万 and 亿 in Chinese)."""

from __future__ import annotations

import datetime as dt
import math

from dashboard.i18n import _, language

NO_VALUE = "–"  # what a cell or figure without a value shows, everywhere (Streamlit would print "None")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float | None, fmt: str) -> str:
    if value is None or _missing(value):
        return NO_VALUE
    match fmt:
        case "percent":
            return f"{value:.1%}"
        case "yuan":
            return yuan(value)
        case "kwh":
            return _scaled(value) + " kWh"
        case "hours":
            return f"{value:,.1f} " + _("h")
        case "minutes":
            return f"{value:,.0f} " + _("min")
        case "score":
            return f"{value:.2f} / 5"
        case "nps":
            return f"{value:+.0f}"
        case "per_10k" | "count":
            return count(value)
        case "ratio":
            return f"{value:.2f}"
    raise ValueError(f"unknown number format '{fmt}'")


def count(value: float) -> str:
    """Whole numbers; in Chinese, 10万 and more are written in 万 as a utility report would."""
    if language() == "zh" and abs(value) >= 100_000:
        return _scaled(value)
    return f"{value:,.0f}"


def _scaled(value: float) -> str:
    steps = ((1e8, "亿"), (1e4, "万")) if language() == "zh" else ((1e9, " bn"), (1e6, " m"), (1e3, " k"))
    for size, suffix in steps:
        if abs(value) >= size:
            return f"{value / size:,.2f}{suffix}"
    return f"{value:,.0f}"


def yuan(value: float) -> str:
    return "¥" + _scaled(value)


UNCHANGED = "±"


def change(value: float | None, fmt: str) -> str | None:
    """A change between two periods: percentage points for shares, the unit otherwise. A change too small to show
    reads ±0 (not -0.0 h with a falling arrow)."""
    if value is None or _missing(value):
        return None
    text = f"{abs(value) * 100:.1f} " + _("pp") if fmt == "percent" else number(abs(value), fmt).lstrip("+")
    if not any(c in "123456789" for c in text.split(" ")[0]):
        return UNCHANGED + text
    return ("+" if value >= 0 else "-") + text


def month(day: dt.date) -> str:
    return f"{day.year}年{day.month}月" if language() == "zh" else f"{day:%Y-%m}"


def day(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if language() == "zh" else f"{value:%Y-%m-%d}"


def period(start: dt.date, end: dt.date) -> str:
    """A period as short as a KPI tile needs: whole months as months (2025-03–2025-12, or one month alone), other
    periods as days (2025-03-03–2025-12-31); digits and a dash in either language."""
    if start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
        first, last = f"{start:%Y-%m}", f"{end:%Y-%m}"
    else:
        first, last = f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"
    return first if first == last else f"{first}–{last}"
