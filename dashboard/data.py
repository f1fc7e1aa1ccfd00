"""The app's one warehouse connection and its cached results.

Results are cached with st.cache_data keyed on the metric or view, the effective filters (as JSON, so the
region limit is part of the key) and the warehouse file's stamp, so a new load is never hidden behind old results.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

import metrics
from dashboard.i18n import _
from ingest import load
from ingest.load import rebuild_model
from ingest.demo import generate
from metrics import process, retention, scorecard, service, tiers, warehouse

ROOT = Path(__file__).resolve().parent.parent
WAREHOUSE = Path(os.environ.get("SCORECARD_WAREHOUSE", ROOT / "data" / "warehouse.duckdb"))
DEMO_EXPORTS = ROOT / "data" / "demo"

# Views the pages may ask for by name: the whitelist between a page and the metrics package.
VIEWS = {
    "tier_distribution": tiers.tier_distribution, "pareto_curve": tiers.pareto_curve,
    "revenue_concentration": tiers.revenue_concentration, "tier_migration": tiers.tier_migration,
    "rising_accounts": tiers.rising_accounts, "duration_distribution": service.duration_distribution,
    "backlog_ageing": service.backlog_ageing, "complaint_outliers": service.complaint_outliers,
    "repeat_complainants": service.repeat_complainants, "cohort_retention": retention.cohort_retention,
    "churn_reasons": retention.churn_reasons, "early_warning": retention.early_warning,
    "survey_dimensions": retention.survey_dimensions, "table_slice": warehouse.table_slice,
    "unmeasured_sla_steps": process.unmeasured_sla_steps,
}


def ensure_warehouse() -> None:
    """First run: build the demo warehouse so a new user sees a full dashboard at once. After an upgrade,
    rebuild the query model of a warehouse built by an older version (the loaded data is kept)."""
    if not WAREHOUSE.exists():
        with st.spinner(_("First run: generating the demo exports and loading them into the warehouse…")):
            generate(DEMO_EXPORTS)
            load([DEMO_EXPORTS], WAREHOUSE)
        return
    if not _model_is_current(str(WAREHOUSE), stamp()):
        close_connection()
        with st.spinner(_("Updating the warehouse's query model for this version of the scorecard…")):
            rebuild_model(WAREHOUSE)


@st.cache_data(show_spinner=False)
def _model_is_current(path: str, file_stamp: int) -> bool:
    with duckdb.connect(path, read_only=True) as con:
        return metrics.model_version(con) == metrics.MODEL_VERSION


def stamp() -> int:
    """Changes whenever a load swaps in a new warehouse file."""
    return WAREHOUSE.stat().st_mtime_ns


_open: dict[str, tuple[int, duckdb.DuckDBPyConnection]] = {}
_open_lock = threading.Lock()


def connection() -> duckdb.DuckDBPyConnection:
    """The process's one read-only connection, reopened when a load has swapped in a new warehouse file.

    DuckDB shares one database instance per path inside a process, so the old connection is closed first;
    otherwise a new connect would return the instance still reading the replaced file."""
    path, file_stamp = str(WAREHOUSE), stamp()
    with _open_lock:
        current = _open.get(path)
        if current is None or current[0] != file_stamp:
            if current is not None:
                current[1].close()
            _open[path] = (file_stamp, metrics.connect(path))
        return _open[path][1]


def close_connection() -> None:
    with _open_lock:
        for _stamp, con in _open.values():
            con.close()
        _open.clear()


@st.cache_data(show_spinner=False, max_entries=4000)
def _metric(metric_id: str, filters_json: str, by: tuple[str, ...], file_stamp: int) -> pd.DataFrame:
    return metrics.compute(connection(), metric_id, metrics.Filters.model_validate_json(filters_json), by)


def metric(metric_id: str, f: metrics.Filters, by: tuple[str, ...] = ()) -> pd.DataFrame:
    return _metric(metric_id, f.model_dump_json(), tuple(by), stamp())


@st.cache_data(show_spinner=False, max_entries=1000)
def _view(name: str, filters_json: str, file_stamp: int, kwargs: tuple) -> pd.DataFrame:
    return VIEWS[name](connection(), metrics.Filters.model_validate_json(filters_json), **dict(kwargs))


def view(name: str, f: metrics.Filters, **kwargs) -> pd.DataFrame:
    return _view(name, f.model_dump_json(), stamp(), tuple(sorted(kwargs.items())))


@st.cache_data(show_spinner=False)
def _scorecard(filters_json: str, file_stamp: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    kpis = scorecard.evaluate(connection(), scorecard.load_config(), metrics.Filters.model_validate_json(filters_json))
    return kpis, scorecard.perspective_scores(kpis)


def scorecard_results(f: metrics.Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """KPI rows (value, target, status, score, previous, change) and the perspective and composite scores."""
    return _scorecard(f.model_dump_json(), stamp())


@st.cache_data(show_spinner=False)
def _league(filters_json: str, file_stamp: int) -> pd.DataFrame:
    return scorecard.league_table(connection(), scorecard.load_config(), metrics.Filters.model_validate_json(filters_json))


def league_table(f: metrics.Filters) -> pd.DataFrame:
    return _league(f.model_dump_json(), stamp())


@st.cache_data(show_spinner=False)
def _sparklines(filters_json: str, file_stamp: int) -> dict[str, pd.DataFrame]:
    return scorecard.sparklines(connection(), scorecard.load_config(), metrics.Filters.model_validate_json(filters_json))


def sparklines(f: metrics.Filters) -> dict[str, pd.DataFrame]:
    """Every scorecard KPI's last twelve months, by metric id."""
    return _sparklines(f.model_dump_json(), stamp())


@st.cache_data(show_spinner=False)
def _filter_choices(file_stamp: int) -> dict:
    con = connection()
    return {"range": warehouse.data_range(con), "dimensions": warehouse.dimension_values(con)}


def filter_choices() -> dict:
    """What the filters offer: the data's first and last day ("range", None when empty) and each dimension's values.
    Every first visit needs it, so it holds nothing else."""
    return _filter_choices(stamp())


@st.cache_data(show_spinner=False)
def _status(file_stamp: int) -> dict:
    con = connection()
    return {"counts": warehouse.table_counts(con), "loads": warehouse.load_history(con),
            "freshness": warehouse.freshness(con)}


def status() -> dict:
    """The Data status page's tables: rows per table ("counts"), load history ("loads"), latest date per table
    ("freshness", 40-80 ms cold on 10 M tickets, which is why the sidebar's `filter_choices` leaves these out)."""
    return _status(stamp())


@st.cache_data(show_spinner=False)
def _centers(file_stamp: int) -> dict[str, str]:
    return warehouse.service_center_regions(connection())


def centers_by_region() -> dict[str, str]:
    """Service centre -> region."""
    return _centers(stamp())


def rejects(load_id: int | None = None, table: str | None = None) -> pd.DataFrame:
    return warehouse.rejects(connection(), load_id, table)
