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

from bench.pages import PAGE_STEPS  # noqa: E402
from dashboard import data  # noqa: E402
from dashboard.filters import default_period  # noqa: E402
from metrics import Filters  # noqa: E402
from metrics.warehouse import data_range, dimension_values  # noqa: E402


def filters_for(variant: str) -> Filters:
    con = data.connection()
    span = data_range(con)
    if span is None:
        raise SystemExit("the warehouse holds no bills or tickets")
    first, last = span
    start, end = default_period(first, last)
    base = Filters(start=start, end=end)
    if variant == "one_region":
        return base.model_copy(update={"regions": (dimension_values(con)["region"][0],)})
    if variant == "one_tier":
        return base.model_copy(update={"tiers": ("key",)})
    return base


def run_steps(page: str, f: Filters) -> None:
    for kind, name, kwargs in PAGE_STEPS[page]:
        if kind == "metric":
            data.metric(name, f, **kwargs)
        elif kind == "view":
            data.view(name, f, **kwargs)
        elif kind == "scorecard":
            data.scorecard_results(f)
            data.sparklines(f)
            data.league_table(f)


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
