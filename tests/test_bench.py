"""The benchmark's plain-pandas implementation is a second, independent writing of each page's headline numbers
on the loaded tables; it must agree with the metrics package (which reads the tables built at load)."""

import datetime as dt

import pytest

from bench.pandas_baseline import PAGE_SETS, load_frames, mismatches, page_duckdb, page_pandas
from metrics import Filters


@pytest.fixture(scope="module")
def frames(demo_db):
    return load_frames(str(demo_db))[0]


@pytest.mark.parametrize("page", list(PAGE_SETS))
def test_pandas_and_metrics_agree_on_every_page(demo, frames, page):
    last_year = Filters(start=dt.date(2025, 11, 1), end=dt.date(2026, 10, 31))
    one_region = last_year.model_copy(update={"regions": ("台州",)})
    odd_window = Filters(start=dt.date(2026, 2, 10), end=dt.date(2026, 7, 20))
    for f in (last_year, one_region, odd_window):
        expected, actual = page_pandas(frames, f, page), page_duckdb(demo, f, page)
        assert set(expected) == set(PAGE_SETS[page])
        assert mismatches(expected, actual) == {}, (page, f)


def test_a_wrong_number_is_reported():
    assert mismatches({"csat": 0.8}, {"csat": 0.81}) == {"csat": "pandas [0.8] vs metrics [0.81]"}
    assert mismatches({"csat": float("nan")}, {"csat": float("nan")}) == {}


def test_import_phases_are_summed_by_kind():
    from bench.__main__ import phase_summary

    phases = {"read billing.csv": 16.0, "read tickets.csv": 14.0, "check and load billing": 30.0,
              "check and load tickets": 20.0, "query model: tier_snapshots": 59.0, "query model: calendar": 0.2}
    # read 16 + 14 = 30; check 30 + 20 = 50; model 59 + 0.2 = 59.2, largest step first
    assert phase_summary(phases) == ("Reading and decoding the files 30 s, row rules and loading 50 s, query model "
                                     "59 s (tier_snapshots 59, calendar 0).")
