"""Targets by region and by year (scorecard file): which target applies, validated like the rest of the file, and
the tile status and league-table score that change exactly where they should, on the hand-sized warehouse.

Hand computation, CSAT (share of surveys scoring 4 or 5) in 2024 (conftest HAND_SURVEYS, S4 is 2023):
  all regions: S1 = 5, S2 = 3, S3 = 4  -> 2 of 3 = 0.6667
  region A (C1, C2): S1 = 5, S2 = 3    -> 1 of 2 = 0.5
  region B (C3):     S3 = 4            -> 1 of 1 = 1.0
"""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.scorecard import (
    Kpi,
    ScorecardConfig,
    ScorecardFileError,
    evaluate,
    file_values,
    league_table,
    load_config,
    target_region,
)

BASE = {"metric": "csat", "target": 0.70, "amber_within": 0.05}


def config(**csat) -> ScorecardConfig:
    return ScorecardConfig(financial=[], customer=[Kpi(**{**BASE, **csat})], internal_process=[], learning_growth=[])


def tile(con, cfg, f) -> tuple[float, float, str, float]:
    row = evaluate(con, cfg, f).iloc[0]
    return round(row["value"], 4), row["target"], row["status"], round(row["score"], 2)


@pytest.fixture
def region_a(year2024):
    return year2024.model_copy(update={"regions": ("A",)})


def test_company_default_when_nothing_overrides(hand, year2024, region_a):
    # 0.6667 against 0.70: 0.0333 short, within the 0.05 amber band; score 0.6667 / 0.70 = 95.24
    assert tile(hand, config(), year2024) == (0.6667, 0.70, "amber", 95.24)
    # region A, no override of its own: company target; 0.5 is 0.20 short -> red; 0.5 / 0.7 = 71.43
    assert tile(hand, config(), region_a) == (0.5, 0.70, "red", 71.43)


def test_a_year_target_applies_to_windows_ending_in_that_year_only(hand, year2024):
    cfg = config(by_year={"2024": {"target": 0.66}, "2025": {"target": 0.95}})
    # 2024: 0.6667 >= 0.66 -> green (was amber against 0.70); score capped at 100
    assert tile(hand, cfg, year2024) == (0.6667, 0.66, "green", 100.0)
    # the same data in a window ending in 2025 (1 Jan 2024 to 1 Jan 2025: no survey on 1 Jan 2025) meets 0.95:
    # 0.2833 short -> red
    to_2025 = year2024.model_copy(update={"end": dt.date(2025, 1, 1)})
    assert tile(hand, cfg, to_2025)[1:3] == (0.95, "red")


def test_the_status_turns_exactly_at_the_regional_target(hand, region_a):
    # A's value is 0.5 exactly: a target of 0.5 is met (green), 0.5 + 0.05 is amber at the band's edge, beyond it red
    assert tile(hand, config(by_region={"A": {"target": 0.50}}), region_a)[2] == "green"
    assert tile(hand, config(by_region={"A": {"target": 0.55}}), region_a)[2] == "amber"
    assert tile(hand, config(by_region={"A": {"target": 0.5501}}), region_a)[2] == "red"
    # a narrower amber band of its own, same target: 0.05 short is now red
    assert tile(hand, config(by_region={"A": {"target": 0.55, "amber_within": 0.04}}), region_a)[2] == "red"


def test_a_regions_year_beats_its_standing_target_which_beats_the_company_year(hand, year2024, region_a):
    cfg = config(by_year={"2024": {"target": 0.40}},
                 by_region={"A": {"target": 0.60, "by_year": {"2024": {"target": 0.50}}},
                            "B": {"target": 0.99, "by_year": {"2023": {"target": 0.10}}}})
    assert tile(hand, cfg, region_a)[1:3] == (0.50, "green")  # A's own 2024 target
    region_b = year2024.model_copy(update={"regions": ("B",)})
    assert tile(hand, cfg, region_b)[1:3] == (0.99, "green")  # B's standing target (its 2023 one does not apply)
    assert tile(hand, cfg, year2024)[1:3] == (0.40, "green")  # both regions: the company's 2024 target
    # unit level: precedence and the amber band carried from the level below when an override leaves it out
    kpi = cfg.customer[0]
    assert (kpi.applying("A", 2024).target, kpi.applying("A", 2024).amber_within) == (0.50, 0.05)
    assert kpi.applying("A", 2025).target == 0.60 and kpi.applying("C", 2024).target == 0.40
    assert kpi.applying(None, 2023).target == 0.70


def test_target_region_is_the_one_region_the_window_covers(year2024):
    assert target_region(year2024) is None
    assert target_region(year2024.model_copy(update={"regions": ("A", "B")})) is None
    assert target_region(year2024.model_copy(update={"regions": ("A",)})) == "A"
    # a lead limited to one region sees that region's targets
    assert target_region(year2024.model_copy(update={"allowed_regions": ("B",)})) == "B"
    assert target_region(year2024.model_copy(update={"regions": ("A", "B"), "allowed_regions": ("B",)})) == "B"


def test_league_table_scores_each_region_against_its_own_target(hand, year2024):
    # default 0.70: A 0.5 / 0.7 = 71.43, B 1.0 / 0.7 capped 100 -> B first
    plain = league_table(hand, config(), year2024).set_index("region")
    assert round(plain.loc["A", "customer"], 2) == 71.43 and plain.loc["B", "customer"] == 100.0
    # A held to 0.5 scores 100 too; B held to 1.25 scores 1.0 / 1.25 = 80 and drops to second
    held = league_table(hand, config(by_region={"A": {"target": 0.5}, "B": {"target": 1.25}}), year2024)
    assert list(held["region"]) == ["A", "B"]
    assert held.set_index("region").loc["A", "customer"] == 100.0
    assert round(held.set_index("region").loc["B", "customer"], 2) == 80.0


@pytest.mark.parametrize("bad, message", [
    ('by_year = { "24" = { target = 0.9 } }', "by_year: Value error, year '24' is not a year"),
    ('by_region = { "A" = { amber_within = -1 } }', "by_region.A.amber_within"),
    ('by_region = { "A" = { } }', "an override must set target, amber_within or by_year"),
    ('by_region = { "A" = { goal = 0.9 } }', "by_region.A.goal"),
    ('by_region = { "*" = { target = 0.9 } }', "must be a region name"),
    ('owners = { "A" = "" }', "owner of A must be a user name"),
])
def test_the_file_names_the_key_of_a_bad_override(tmp_path, bad, message):
    path = tmp_path / "scorecard.toml"
    path.write_text(f'financial = []\ninternal_process = []\nlearning_growth = []\n[[customer]]\nmetric = "csat"\n'
                    f'target = 0.85\namber_within = 0.05\n{bad}\n', encoding="utf-8")
    with pytest.raises(ScorecardFileError, match="customer.0.") as error:
        load_config(path)
    assert message in str(error.value)


def test_the_shipped_file_is_valid_and_flattens_for_the_audit():
    cfg = load_config()
    owners, targets = file_values(cfg)
    assert targets["csat/*/*"] == {"target": 0.85, "amber_within": 0.05}
    assert targets["csat/舟山/*"] == {"target": 0.80} and targets["csat/舟山/2027"] == {"target": 0.85}
    assert len([k for k in targets if k.endswith("/*/*")]) == len(cfg.kpis())
    cfg2 = config(owner="boss", owners={"A": "li_na"})
    assert file_values(cfg2)[0] == {("csat", "*"): "boss", ("csat", "A"): "li_na"}
