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


def test_results_are_rendered_from_the_saved_measurements(tmp_path):
    import json

    from bench.__main__ import write_results

    measured = {
        "customers": 1000, "repeats": 3, "machine": "2 CPUs", "at": "2026-11-23 23:00 UTC", "generation": 12.0,
        "loaded": {"seconds": 10.0, "rows": 2_000_000, "rows_per_second": 200_000.0, "peak_mib": 900.0,
                   "tables": {"customers": {"read": 1000}}, "phases": {"read customers.csv": 1.0}},
        "pages": [{"page": "scorecard", "variant": "default", "cold": [0.8, 0.9], "warm": [0.001, 0.002],
                   "peak_mib": 400.0}],
        "compare": {"pandas_load_seconds": 3.0,
                    "pages": {"scorecard": {"pandas": 10.0, "duckdb": 0.2, "duckdb_open": 0.25, "mismatches": {}}}},
        "browser": {"scorecard": {"title": 2.5, "first_tile": 3.5, "whole_page": 3.6},
                    "one_tile_app": {"title": 1.4, "first_tile": 1.65, "whole_page": 1.7}},
        "speed": [{"duckdb": 0.3, "python": 0.15}, {"duckdb": 0.35, "python": 0.16}],
    }
    results = tmp_path / "RESULTS.md"
    write_results(results, json.loads(json.dumps(measured)))  # as read back from RESULTS.json
    text = results.read_text(encoding="utf-8")
    assert "2,000,000 rows in 10.0 s = **200,000 rows/s**" in text
    assert "| scorecard | default | 0.800 | 0.900 | 0.0010 | 0.0020 | 400 |" in text
    assert "**50.0x**" in text  # pandas 10 s / metrics 0.2 s
    assert "the first KPI tile 3.50 s" in text
    assert "title 1.40 s, tile 1.65 s" in text


def test_load_test_summary_counts_errors_and_leaves_them_out_of_the_times():
    from bench.load_test import summary

    opened = [{"page": "scorecard", "seconds": s, "error": None} for s in (1.0, 2.0, 3.0, 4.0)]
    opened.append({"page": "scorecard", "seconds": 120.0, "error": "not finished within 120 s"})
    result = summary(opened)
    # times 1, 2, 3, 4: median 2.5; 95th percentile (linear) 3 + 0.85 = 3.85; the timed-out page is only an error
    assert result == {"opened": 5, "errors": 1, "p50": 2.5, "p95": pytest.approx(3.85), "max": 4.0}


def test_load_test_report_shape_on_a_tiny_run(demo_db, tmp_path):
    """Two sessions at once against a real `streamlit run app.py` on loopback, rendered into RESULTS.md."""
    import json

    from bench.__main__ import record_load_test, write_results
    from bench.load_test import load_test

    run = load_test(demo_db, sessions=2, processes=1, pages=("scorecard", "complaints"), cpu_repeats=1)
    assert run["errors"] == 0, run["error_samples"]
    assert (run["sessions"], run["processes"], run["opened"]) == (2, 1, 4)
    assert run["pages"] == ["scorecard", "complaints"]
    assert 0 < run["p50"] <= run["p95"] <= run["max"]
    assert set(run["by_page"]) == {"scorecard", "complaints"} and run["by_page"]["scorecard"]["opened"] == 2
    assert set(run["cpu_seconds_per_cached_page"]) == {"scorecard", "complaints"}
    assert all(seconds > 0 for seconds in run["cpu_seconds_per_cached_page"].values())
    assert run["server_rss_mib"] > 50
    measurements = tmp_path / "RESULTS.json"
    measurements.write_text(json.dumps({
        "customers": 1000, "repeats": 1, "machine": "2 CPUs", "at": "2026-12-01 10:00 UTC", "generation": 1.0,
        "loaded": {"seconds": 1.0, "rows": 10, "rows_per_second": 10.0, "peak_mib": 1.0, "tables": {}, "phases": {}},
        "pages": [], "compare": {"pandas_load_seconds": 1.0, "pages": {}}, "browser": None,
        "speed": [{"duckdb": 0.3, "python": 0.1}, {"duckdb": 0.3, "python": 0.1}]}), encoding="utf-8")
    record_load_test(measurements, {**run, "p95": 9.99})
    measured = record_load_test(measurements, run)  # the same warehouse, sessions and processes: replaced
    assert len(measured["load_tests"]) == 1
    write_results(tmp_path / "RESULTS.md", measured)
    text = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert "## Many users at once" in text
    assert run["customers"] == 800  # the demo fixture's
    assert f"| {demo_db.name} (800 customers) | 2 | 1 | 4 | 0 | {run['p50']:.2f} | {run['p95']:.2f} |" in text
