"""A load's memory is bounded (issue 17): DuckDB's memory limit and spill folder come from a setting with a default
(ingest.limits.load_resources), applied to the load's own connection."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from ingest import LoadError, load
from ingest.limits import load_resources
from tests.test_loads import write_exports

LOAD_MODULE = importlib.import_module("ingest.load")


def note_model_step_settings(monkeypatch) -> dict[str, str]:
    """From now on, DuckDB's memory limit, spill folder and threads as each query model build starts."""
    seen: dict[str, str] = {}
    build = LOAD_MODULE.build_derived_model

    def noting(con, *args):
        for setting in ("memory_limit", "temp_directory", "threads"):
            seen[setting] = con.execute("SELECT current_setting($s)", {"s": setting}).fetchall()[0][0]
        return build(con, *args)

    monkeypatch.setattr(LOAD_MODULE, "build_derived_model", noting)
    return seen


def settings_seen_by_the_model_step(monkeypatch, tmp_path: Path, **env) -> dict[str, str]:
    """Load the hand-sized exports and note DuckDB's settings as the query model is built."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    seen = note_model_step_settings(monkeypatch)
    load([write_exports(tmp_path / "x")], tmp_path / "wh" / "warehouse.duckdb")
    return seen


def test_the_default_is_two_gib_spilling_beside_the_warehouse(monkeypatch, tmp_path):
    for name in ("SCORECARD_LOAD_MEMORY_LIMIT", "SCORECARD_LOAD_TEMP_DIRECTORY", "SCORECARD_LOAD_THREADS"):
        monkeypatch.delenv(name, raising=False)
    seen = settings_seen_by_the_model_step(monkeypatch, tmp_path)
    assert seen["memory_limit"] == "2.0 GiB"
    # the load's scratch folder beside the warehouse (removed with it when the load ends)
    spill = Path(seen["temp_directory"])
    assert spill.name == "spill" and spill.parent.parent == tmp_path / "wh" and spill.parent.name.startswith(".loading-")
    assert not spill.parent.exists()


def test_the_environment_sets_limit_folder_and_threads(monkeypatch, tmp_path):
    seen = settings_seen_by_the_model_step(monkeypatch, tmp_path, SCORECARD_LOAD_MEMORY_LIMIT="300MB",
                                           SCORECARD_LOAD_TEMP_DIRECTORY=str(tmp_path / "spill"),
                                           SCORECARD_LOAD_THREADS="1")
    assert seen["memory_limit"] == "286.1 MiB"  # DuckDB says 300 MB (10^6 bytes) in MiB: 300e6 / 2**20 = 286.1
    assert seen["temp_directory"] == str(tmp_path / "spill")
    assert seen["threads"] == 1


def test_a_rebuild_of_the_query_model_is_bounded_like_a_load(monkeypatch, tmp_path):
    """`python -m ingest rebuild` (and the app's rebuild of an outdated warehouse at start) builds the same query
    model as a load, under the same limit and spill folder: unbounded, a 1 M-customer rebuild reached 12 GB."""
    db = tmp_path / "wh" / "warehouse.duckdb"
    load([write_exports(tmp_path / "x")], db)
    monkeypatch.setenv("SCORECARD_LOAD_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("SCORECARD_LOAD_THREADS", "1")
    seen = note_model_step_settings(monkeypatch)
    LOAD_MODULE.rebuild_model(db)
    assert (seen["memory_limit"], seen["threads"]) == ("286.1 MiB", 1)
    spill = Path(seen["temp_directory"])
    assert spill.name == "spill" and spill.parent.parent == tmp_path / "wh" and spill.parent.name.startswith(".loading-")


@pytest.mark.parametrize("value", ["lots", "2 apples", "-1GB"])
def test_a_limit_that_is_not_a_size_is_refused_before_anything_is_read(monkeypatch, tmp_path, value):
    monkeypatch.setenv("SCORECARD_LOAD_MEMORY_LIMIT", value)
    with pytest.raises(LoadError, match="SCORECARD_LOAD_MEMORY_LIMIT"):
        load([write_exports(tmp_path / "x")], tmp_path / "warehouse.duckdb")
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_without_a_setting_the_resources_are_the_defaults():
    resources = load_resources({})
    assert (resources.memory_limit, resources.temp_directory, resources.threads) == ("2GiB", None, None)
