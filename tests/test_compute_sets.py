"""Several breakdowns of the same filters from one query (metrics.catalogue.compute_sets): the scorecard's median for
the whole scope and by region grouped at once (GROUPING SETS), each frame exactly what `compute` gives alone."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import metrics.facts
from metrics import Filters, compute
from metrics.catalogue import compute_sets

QUANTILES = ("median_response_hours", "p90_response_hours", "median_resolution_hours", "p90_resolution_hours")


def test_the_scope_and_its_regions_from_one_query_by_hand(hand, year2024, monkeypatch):
    # response hours in 2024: A (C1, C2) T1 .25, T2 .5, T4 2 -> median .5; B (C3) T3 25 -> 25; the scope .25 .5 2 25
    # -> (.5 + 2) / 2 = 1.25; p90 at position 2.7 -> 2 + .7 x 23 = 18.1 (A 1.7, B 25)
    queries = []
    real_run = metrics.facts.run
    monkeypatch.setattr(metrics.facts, "run", lambda con, sql, p: queries.append(sql) or real_run(con, sql, p))
    got = compute_sets(hand, ("median_response_hours", "p90_response_hours"), year2024, ((), ("region",)))
    assert len(queries) == 1 and "GROUPING SETS" in queries[0]
    assert got[()]["median_response_hours"]["value"].tolist() == pytest.approx([1.25])
    assert got[()]["p90_response_hours"]["value"].tolist() == pytest.approx([18.1])
    assert got[("region",)]["median_response_hours"]["region"].tolist() == ["A", "B"]
    assert got[("region",)]["median_response_hours"]["value"].tolist() == pytest.approx([0.5, 25])
    assert got[("region",)]["p90_response_hours"]["value"].tolist() == pytest.approx([1.7, 25])


@pytest.mark.parametrize("update", [
    {}, {"tiers": ("key",)}, {"tiers": ("VIP", "key"), "ticket_types": ("repair",)}, {"voltages": (10.0,)},
    {"start": dt.date(2026, 2, 10), "end": dt.date(2026, 7, 20)},
    {"start": dt.date(2010, 1, 1), "end": dt.date(2010, 1, 31)}])
@pytest.mark.parametrize("bys", [((), ("region",)), (("region",), ("tier",)), ((), ("tier", "region")),
                                 (("ticket_type",), ("voltage_kv",), ()), ((), ("month",))])
def test_every_frame_equals_computing_it_alone(demo, update, bys):
    """Both readings of the same tickets, for every window shape here (a half-year, a mid-month window, one before the
    data), with and without tier filters, by sets that read the same rows (grouped at once) and sets that do not (a
    breakdown by tier beside none, by month beside none: one query each); with a metric that is not a quantile too."""
    f = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 30)).model_copy(update=update)
    ids = (*QUANTILES, "reopen_rate")
    got = compute_sets(demo, ids, f, bys)
    assert set(got) == set(bys)
    for by in bys:
        for metric in ids:
            pd.testing.assert_frame_equal(got[by][metric], compute(demo, metric, f, by=by), obj=f"{metric} {by}")
