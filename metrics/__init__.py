"""Every number on the scorecard: parameterised DuckDB queries returning pandas DataFrames. No Streamlit here."""

from __future__ import annotations

from pathlib import Path

import duckdb

from metrics.catalogue import CATALOGUE, PERSPECTIVES, Metric, compute, compute_many
from metrics.filters import Filters
from metrics.settings import DEFAULT_SETTINGS, MetricSettings, SlaTargets, TierBoundaries

# The query model (derived tables) the metrics expect; the importer writes it into model_info.
MODEL_VERSION = 22


class WarehouseOutdated(RuntimeError):
    """The warehouse's query model was built by another version of the importer."""


def model_version(con: duckdb.DuckDBPyConnection) -> int | None:
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "model_info" not in tables:
        return None
    return con.execute("SELECT max(version) FROM model_info").fetchall()[0][0]


def connect(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Read-only connection to a warehouse file built by `python -m ingest load`."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no warehouse here; build one with `python -m ingest load DIR --db {path}`")
    con = duckdb.connect(str(path), read_only=True)
    found = model_version(con)
    if found != MODEL_VERSION:
        con.close()
        raise WarehouseOutdated(
            f"{path}: its query model is version {found or 'unknown'}, this version of the scorecard needs "
            f"{MODEL_VERSION}; rebuild it with `python -m ingest rebuild --db {path}` (the loaded data is kept)")
    return con


__all__ = ["MODEL_VERSION", "WarehouseOutdated", "model_version", "CATALOGUE", "PERSPECTIVES", "DEFAULT_SETTINGS",
           "Filters", "Metric", "MetricSettings", "SlaTargets", "TierBoundaries", "compute", "compute_many", "connect"]
