"""One page's metric set in this process: `python -m bench.run_page DB PAGE VARIANT REPEATS`.

Prints one JSON line: cold seconds (first computation in a fresh process, nothing cached), warm seconds
for each repeat (the same calls through the app's st.cache_data functions), and this process's peak memory.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import resource
import sys
import time
from pathlib import Path

logging.getLogger("streamlit").setLevel(logging.ERROR)

from bench.pages import PAGE_STEPS, STARTED_FIRST  # noqa: E402
from dashboard import data  # noqa: E402
from dashboard.filters import default_period, migration_dates  # noqa: E402
from metrics import Filters  # noqa: E402
from metrics.warehouse import data_range, dimension_values  # noqa: E402

WINDOWS = ("m1", "m2", "m3", "ytd", "m12", "m24", "m36", "mid")
FILTER_SETS = ("default", "one_region", "one_tier", "voltage", "all")


def window_for(window: str, first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The window shapes users pick, ending on the last whole month the data has: 1, 2, 3, 12, 24, 36 whole months,
    January to that month (year to date), and one starting and ending mid-month."""
    end = last if (last + dt.timedelta(days=1)).day == 1 else last.replace(day=1) - dt.timedelta(days=1)
    if window == "ytd":
        return end.replace(month=1, day=1), end
    if window == "mid":
        return (end.replace(day=1) - dt.timedelta(days=200)).replace(day=10), end.replace(day=20)
    months = int(window[1:])
    start = end.replace(day=1)
    for _ in range(months - 1):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    return max(start, first), end


def filters_for(variant: str) -> Filters:
    """`variant`: a filter set (default, one_region, one_tier, voltage, all) over the app's default period, or
    WINDOW+FILTERS (e.g. ytd+all) over one of WINDOWS."""
    con = data.connection()
    span = data_range(con)
    if span is None:
        raise SystemExit("the warehouse holds no bills or tickets")
    first, last = span
    window, _, chosen = variant.rpartition("+")
    start, end = window_for(window, first, last) if window else default_period(first, last)
    base = Filters(start=start, end=end)
    dims = dimension_values(con)
    if chosen == "one_region":
        return base.model_copy(update={"regions": (dims["region"][0],)})
    if chosen == "one_tier":
        return base.model_copy(update={"tiers": ("key",)})
    if chosen == "voltage":
        return base.model_copy(update={"voltages": (10.0,)})
    if chosen == "all":  # every sidebar filter at once, and the ticket filters of the service pages
        return base.model_copy(update={"regions": tuple(dims["region"][:3]), "tiers": ("VIP", "key"),
                                       "industries": tuple(dims["industry"][:5]), "areas": ("urban", "rural"),
                                       "voltages": (0.4, 10.0), "ticket_types": ("repair", "complaint", "billing"),
                                       "channels": ("hotline", "online")})
    return base


def run_step(f: Filters, kind: str, name, kwargs: dict) -> object:
    if kind == "metric":
        return data.metric(name, f, **kwargs)
    if kind == "metrics":
        return data.metric_set(name, f, **kwargs)
    if kind == "view":
        return data.view(name, f, **kwargs)
    if kind == "migration":
        before, after = migration_dates(f, data.filter_choices()["range"][0])
        if before >= after:
            return None
        data.view("tier_migration", f, before=before, after=after)
        return data.view("tier_moves", f, before=before, after=after)
    if kind == "scorecard":
        data.scorecard_results(f)
        data.sparklines(f)
        return data.league_table(f)
    raise ValueError(f"unknown step kind {kind!r}")


def run_steps(page: str, f: Filters) -> None:
    """The page's steps in its order, the one it starts first (STARTED_FIRST) on a thread of its own, taken in its
    place."""
    first = STARTED_FIRST.get(page)
    started = data.in_background(lambda: run_step(f, *first)) if first is not None else None
    for step in PAGE_STEPS[page]:
        if started is not None and step == first:
            started.result()
        else:
            run_step(f, *step)


def main(db: str, page: str, variant: str, repeats: int) -> None:
    data.WAREHOUSE = Path(db)
    f = filters_for(variant)
    started = time.perf_counter()
    run_steps(page, f)
    cold = time.perf_counter() - started
    warm = []
    for _ in range(repeats):
        started = time.perf_counter()
        run_steps(page, f)
        warm.append(time.perf_counter() - started)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"page": page, "variant": variant, "cold": cold, "warm": warm, "peak_mib": peak_mib,
                      "at": dt.datetime.now().isoformat(timespec="seconds")}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
