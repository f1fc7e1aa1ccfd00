"""compute_many on the demo warehouse: the duration quantiles computed together equal each one computed alone, exactly,
for every window shape and filter the pages offer (the hand-computed numbers are in test_metrics.py)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from metrics import Filters, MetricSettings, compute, compute_many

QUANTILES = ("median_response_hours", "p90_response_hours", "median_resolution_hours", "p90_resolution_hours")


def test_quantiles_together_equal_each_alone_for_every_window_shape(demo):
    manager = demo.execute("SELECT account_manager FROM customer_facts WHERE account_manager IS NOT NULL "
                           "ORDER BY account_manager LIMIT 1").fetchall()[0][0]
    windows = [Filters(start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30)),  # one month
               Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30), tiers=("VIP",), channels=("hotline",)),
               Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 9, 30)),  # year to date
               Filters(start=dt.date(2025, 10, 1), end=dt.date(2026, 9, 30), regions=("台州",), tiers=("key",)),
               Filters(start=dt.date(2024, 10, 1), end=dt.date(2026, 9, 30), voltages=(10.0,)),  # 24 months
               Filters(start=dt.date(2025, 12, 10), end=dt.date(2026, 5, 20), tiers=("key", "standard")),  # mid-month
               Filters(start=dt.date(2026, 3, 5), end=dt.date(2026, 3, 25), ticket_types=("complaint", "repair")),
               Filters(start=dt.date(2026, 2, 14), end=dt.date(2026, 7, 9), account_managers=(manager,),
                       areas=("urban",))]
    compared = 0
    for f in windows:
        for by in ((), ("month",), ("region",), ("tier",), ("ticket_type",), ("month", "region")):
            for settings in (MetricSettings(), MetricSettings(rollups=False)):
                together = compute_many(demo, QUANTILES, f, by=by, settings=settings)
                assert list(together) == list(QUANTILES)
                for metric_id in QUANTILES:
                    alone = compute(demo, metric_id, f, by=by, settings=settings)
                    pd.testing.assert_frame_equal(together[metric_id], alone, check_exact=True,
                                                  obj=f"{metric_id} {by} {f}")
                    compared += alone["value"].notna().sum()
    assert compared > 1000  # real numbers were compared, not only empty groups


def test_a_subset_and_repeated_ids_give_each_once(demo):
    f = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 30))
    together = compute_many(demo, ("p90_resolution_hours", "tickets", "p90_resolution_hours", "median_response_hours"),
                            f, by=("month",))
    assert list(together) == ["p90_resolution_hours", "tickets", "median_response_hours"]
    for metric_id, frame in together.items():
        pd.testing.assert_frame_equal(frame, compute(demo, metric_id, f, by=("month",)), check_exact=True)


def test_a_quantile_is_only_of_a_duration_column_and_a_fraction():
    import pytest

    from metrics.process import Quantile

    assert Quantile("resolution_hours", 0.9).q == 0.9
    for column, q in (("response_hours) FROM customers --", 0.5), ("arrival_minutes", 0.5), ("response_hours", 1.5)):
        with pytest.raises(ValueError, match="no such duration quantile"):
            Quantile(column, q)  # type: ignore[arg-type]
