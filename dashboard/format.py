"""Numbers as a utility report prints them."""

from __future__ import annotations

import math


def number(value: float | None, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    match fmt:
        case "percent":
            return f"{value:.1%}"
        case "yuan":
            return yuan(value)
        case "kwh":
            return _scaled(value, " kWh")
        case "hours":
            return f"{value:,.1f} h"
        case "minutes":
            return f"{value:,.0f} min"
        case "score":
            return f"{value:.2f} / 5"
        case "nps":
            return f"{value:+.0f}"
        case "per_10k":
            return f"{value:,.0f}"
        case "ratio":
            return f"{value:.2f}"
        case _:
            return f"{value:,.0f}"


def _scaled(value: float, unit: str) -> str:
    for size, suffix in ((1e9, " bn"), (1e6, " m"), (1e3, " k")):
        if abs(value) >= size:
            return f"{value / size:,.2f}{suffix}{unit}"
    return f"{value:,.0f}{unit}"


def yuan(value: float) -> str:
    return "¥" + _scaled(value, "")


def change(value: float | None, fmt: str) -> str | None:
    """A change between two periods: percentage points for shares, the unit otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if fmt == "percent":
        return f"{value * 100:+.1f} pp"
    text = number(abs(value), fmt)
    return ("+" if value >= 0 else "-") + text.lstrip("+")
