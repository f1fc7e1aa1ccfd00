"""Every number on the scorecard: parameterised DuckDB queries returning pandas DataFrames. No Streamlit here."""

from __future__ import annotations

from pathlib import Path

import duckdb

from metrics.catalogue import CATALOGUE, PERSPECTIVES, Metric, compute
from metrics.filters import Filters
from metrics.settings import DEFAULT_SETTINGS, MetricSettings, SlaTargets, TierBoundaries


def connect(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Read-only connection to a warehouse file built by `python -m ingest load`."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no warehouse here; build one with `python -m ingest load DIR --db {path}`")
    return duckdb.connect(str(path), read_only=True)


__all__ = ["CATALOGUE", "PERSPECTIVES", "DEFAULT_SETTINGS", "Filters", "Metric", "MetricSettings", "SlaTargets",
           "TierBoundaries", "compute", "connect"]
