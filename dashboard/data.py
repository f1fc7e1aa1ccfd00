"""The app's warehouse connections (one per warehouse file in use; see `Generation`) and its cached results.

Results are cached with st.cache_data keyed on the metric or view, the effective filters (as JSON, so the
region limit is part of the key) and the warehouse file a query reads, so a new load is never hidden behind old
results. Every query holds the generation it reads (see `Generation`), so a load swapping in a new file never
closes a connection a query is using.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx

import metrics
from dashboard.i18n import _
from ingest import load
from ingest.demo import generate
from ingest.load import rebuild_model
from ingest.scratch import ScratchFolder, clean_leftovers
from metrics import account, portfolio, process, retention, scorecard, service, tiers, warehouse

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
WAREHOUSE = Path(os.environ.get("SCORECARD_WAREHOUSE", ROOT / "data" / "warehouse.duckdb"))
DEMO_EXPORTS = ROOT / "data" / "demo"

# Views the pages may ask for by name: the whitelist between a page and the metrics package.
VIEWS: dict[str, Callable[..., pd.DataFrame]] = {
    "tier_distribution": tiers.tier_distribution, "pareto_curve": tiers.pareto_curve,
    "revenue_concentration": tiers.revenue_concentration, "tier_migration": tiers.tier_migration,
    "rising_accounts": tiers.rising_accounts, "duration_distribution": service.duration_distribution,
    "backlog_ageing": service.backlog_ageing, "complaint_outliers": service.complaint_outliers,
    "repeat_complainants": service.repeat_complainants, "cohort_retention": retention.cohort_retention,
    "churn_reasons": retention.churn_reasons, "early_warning": retention.early_warning,
    "survey_dimensions": retention.survey_dimensions, "table_slice": warehouse.table_slice,
    "unmeasured_sla_steps": process.unmeasured_sla_steps,
    "find_accounts": account.find_accounts, "account_profile": account.profile, "account_summary": account.summary,
    "account_tier_strip": account.tier_strip, "account_billing": account.monthly_billing,
    "account_tickets": account.tickets, "account_complaints": account.complaints, "account_visits": account.visits,
    "account_surveys": account.surveys, "account_events": account.events,
    "account_warnings": account.warning_history, "account_tables": account.account_tables,
    "manager_league": portfolio.manager_league, "manager_portfolio": portfolio.portfolio,
    "manager_visit_plan": portfolio.visit_plan, "tier_moves": portfolio.tier_moves,
    "ticket_list": account.ticket_list,
}


def ensure_warehouse() -> None:
    """First run: build the demo warehouse so a new user sees a full dashboard at once. After an upgrade,
    rebuild the query model of a warehouse built by an older version (the loaded data is kept). Once per process,
    remove what killed loads and uploads left beside the warehouse."""
    _clean_leftovers_once(WAREHOUSE.parent)
    if not WAREHOUSE.exists():
        with st.spinner(_("First run: generating the demo exports and loading them into the warehouse…")):
            generate(DEMO_EXPORTS)
            load([DEMO_EXPORTS], WAREHOUSE)
        return
    try:
        if not _model_is_current(str(WAREHOUSE), stamp()):
            with st.spinner(_("Updating the warehouse's query model for this version of the scorecard…")):
                rebuild_model(WAREHOUSE)
        with reading():
            pass  # open the file's generation now: pages then read a file that no load writes in place
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise
        # An append from the command line writes the warehouse in place (ingest.load) and holds its lock until it
        # commits; until then there is nothing this process can read, and nothing half-written is shown.
        st.info(_("A load is writing the warehouse just now. The dashboard opens as soon as it is done: reload "
                  "this page in a minute."), icon=":material/hourglass_top:")
        st.stop()


_cleaned: set[Path] = set()


def _clean_leftovers_once(folder: Path) -> None:
    with _swap:
        if folder in _cleaned:
            return
        _cleaned.add(folder)
    clean_leftovers(folder)


@st.cache_data(show_spinner=False)
def _model_is_current(path: str, file_stamp: int) -> bool:
    with duckdb.connect(path, read_only=True) as con:
        return metrics.model_version(con) == metrics.MODEL_VERSION


def stamp() -> int:
    """Changes whenever a load swaps in a new warehouse file."""
    return WAREHOUSE.stat().st_mtime_ns


def _file_key(path: Path) -> tuple[int, int, int]:
    st_ = os.stat(path)
    return st_.st_dev, st_.st_ino, st_.st_mtime_ns


class Generation:
    """One warehouse file as the app reads it: a read-only connection and the number of queries using it.

    DuckDB keeps one database per path in a process, so a file swapped in under the same path would be read through
    the database still open on the old file. Each generation therefore connects through a hard link of its own
    (in a scratch folder beside the warehouse, removed when the generation closes), and the old generation keeps
    serving the queries that started on it until the last one is done. Where no link can be made (a folder the app
    may not write to), it connects to the warehouse path itself, and a swap waits for the old one's queries instead."""

    def __init__(self, warehouse: Path):
        self.folder: ScratchFolder | None = None
        path = warehouse
        try:
            self.folder = ScratchFolder(warehouse.parent, "reading")
            path = self.folder.path / warehouse.name
            os.link(warehouse, path)
        except OSError:
            if self.folder is not None:
                self.folder.remove()
            self.folder, path = None, warehouse
        try:
            self.key = _file_key(path)  # the file this generation reads, even if a load swapped in another meanwhile
            self.con = metrics.connect(path)
        except BaseException:
            if self.folder is not None:
                self.folder.remove()
            raise
        self.users = 0

    @property
    def by_path(self) -> bool:
        return self.folder is None

    def close(self) -> None:
        self.con.close()
        if self.folder is not None:
            self.folder.remove()


_current: Generation | None = None
_swap = threading.Condition()


@contextmanager
def reading() -> Iterator[Generation]:
    """The generation of the warehouse file in place now, held for the block: it stays open until its last user is done,
    even when a load swaps in a new file meanwhile."""
    generation = _enter()
    try:
        yield generation
    finally:
        with _swap:
            generation.users -= 1
            if generation.users == 0 and generation is not _current:
                generation.close()
            _swap.notify_all()


def _enter() -> Generation:
    global _current
    with _swap:
        while _current is None or _current.key != _file_key(WAREHOUSE):
            old = _current
            if old is not None:
                if old.by_path and old.users:
                    _swap.wait()  # the new file has the same path: let the old generation's queries finish first
                    continue
                _current = None
                if old.users == 0:
                    old.close()
            _current = Generation(WAREHOUSE)
        _current.users += 1
        return _current


def connection() -> duckdb.DuckDBPyConnection:
    """The current generation's connection, for one-thread scripts (the benchmark); the app's queries go through the
    functions below, which hold their generation while they run."""
    with reading() as generation:
        return generation.con


@atexit.register
def _close_current() -> None:
    with _swap:
        if _current is not None and _current.users == 0:
            _current.close()


def in_background(compute: Callable[[], T]) -> Future[T]:
    """Start one of this module's computations (e.g. `lambda: view("early_warning", f)`) on a thread of its own, so
    that the page computes and draws its other figures meanwhile; the page takes `.result()` where it shows it, and
    an error raised there is the one the computation raised. A page starts its heaviest figure so: DuckDB releases the
    GIL while a query runs, and most of a page's queries are too small to keep both cores busy alone. The thread
    carries the page's script context (Streamlit's guide to multithreading: add_script_run_ctx), and the figure goes
    into the same cache as when the page asks for it itself."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(compute())
        except BaseException as error:  # handed to the page, which raises it from .result()
            future.set_exception(error)

    thread = threading.Thread(target=run, name="page-figure", daemon=True)
    add_script_run_ctx(thread)
    thread.start()
    return future


@st.cache_data(show_spinner=False, max_entries=4000)
def _metric(metric_id: str, filters_json: str, by: tuple[str, ...], file_key: tuple, _con) -> pd.DataFrame:
    return metrics.compute(_con, metric_id, metrics.Filters.model_validate_json(filters_json), by)


def metric(metric_id: str, f: metrics.Filters, by: tuple[str, ...] = ()) -> pd.DataFrame:
    with reading() as generation:
        return _metric(metric_id, f.model_dump_json(), tuple(by), generation.key, generation.con)


@st.cache_data(show_spinner=False, max_entries=1000)
def _metric_set(metric_ids: tuple[str, ...], filters_json: str, by: tuple[str, ...], file_key: tuple,
                _con) -> dict[str, pd.DataFrame]:
    return metrics.compute_many(_con, metric_ids, metrics.Filters.model_validate_json(filters_json), by)


def metric_set(metric_ids: tuple[str, ...], f: metrics.Filters, by: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    """Several metrics for the same filters and breakdown, by metric id (metrics.compute_many: the duration
    quantiles among them from one query, the ticket metrics over the ticket parts from one read of ticket_months)."""
    with reading() as generation:
        return _metric_set(tuple(metric_ids), f.model_dump_json(), tuple(by), generation.key, generation.con)


@st.cache_data(show_spinner=False, max_entries=1000)
def _view(name: str, filters_json: str, file_key: tuple, kwargs: tuple, _con) -> pd.DataFrame:
    return VIEWS[name](_con, metrics.Filters.model_validate_json(filters_json), **dict(kwargs))


def view(name: str, f: metrics.Filters, **kwargs) -> pd.DataFrame:
    with reading() as generation:
        return _view(name, f.model_dump_json(), generation.key, tuple(sorted(kwargs.items())), generation.con)


@st.cache_data(show_spinner=False)
def _scorecard(filters_json: str, file_key: tuple, _con
               ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """The KPI rows, perspective scores, league table and sparklines, from one batch of computations (the league's
    figures by region give the ratio KPIs' values too: metrics.scorecard.scorecard_page)."""
    page = scorecard.scorecard_page(_con, scorecard.load_config(), metrics.Filters.model_validate_json(filters_json))
    return page.kpis, scorecard.perspective_scores(page.kpis), page.league, page.sparklines


def scorecard_results(f: metrics.Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """KPI rows (value, target, status, score, previous, change) and the perspective and composite scores."""
    with reading() as generation:
        kpis, perspectives, _league, _trends = _scorecard(f.model_dump_json(), generation.key, generation.con)
        return kpis, perspectives


def league_table(f: metrics.Filters) -> pd.DataFrame:
    """Regions ranked by composite score (computed with the KPIs, scorecard_results)."""
    with reading() as generation:
        return _scorecard(f.model_dump_json(), generation.key, generation.con)[2]


def sparklines(f: metrics.Filters) -> dict[str, pd.DataFrame]:
    """Every scorecard KPI's last twelve whole months of the window (metrics.scorecard.sparkline_window), by metric
    id (computed with the KPIs, scorecard_results)."""
    with reading() as generation:
        return _scorecard(f.model_dump_json(), generation.key, generation.con)[3]


@st.cache_data(show_spinner=False)
def _filter_choices(file_key: tuple, _con) -> dict:
    return {"range": warehouse.data_range(_con), "dimensions": warehouse.dimension_values(_con)}


def filter_choices() -> dict:
    """What the filters offer: the data's first and last day ("range", None when empty) and each dimension's values.
    Every first visit needs it, so it holds nothing else."""
    with reading() as generation:
        return _filter_choices(generation.key, generation.con)


@st.cache_data(show_spinner=False, max_entries=1000)
def _manager_choices(managers: tuple[str, ...], file_key: tuple, _con) -> dict[str, list[str]]:
    return warehouse.dimension_values(_con, allowed_account_managers=managers)


def manager_choices(managers: tuple[str, ...]) -> dict[str, list]:
    """The regions, service centres, industries and voltage levels of the given account managers' accounts (an
    account_manager user's sidebar offers only those)."""
    with reading() as generation:
        return _manager_choices(tuple(managers), generation.key, generation.con)


@st.cache_data(show_spinner=False)
def _status(file_key: tuple, _con) -> dict:
    return {"counts": warehouse.table_counts(_con), "loads": warehouse.load_history(_con),
            "freshness": warehouse.freshness(_con)}


def status() -> dict:
    """The Data status page's tables: rows per table ("counts"), load history ("loads"), latest date per table
    ("freshness", 40-80 ms cold on 10 M tickets, which is why the sidebar's `filter_choices` leaves these out)."""
    with reading() as generation:
        return _status(generation.key, generation.con)


@st.cache_data(show_spinner=False)
def _centers(file_key: tuple, _con) -> dict[str, str]:
    return warehouse.service_center_regions(_con)


def centers_by_region() -> dict[str, str]:
    """Service centre -> region."""
    with reading() as generation:
        return _centers(generation.key, generation.con)


@st.cache_data(show_spinner=False)
def _manager_names(file_key: tuple, _con) -> list[str]:
    return warehouse.account_manager_names(_con)


def manager_names() -> list[str]:
    """Every account manager the warehouse's customers name."""
    with reading() as generation:
        return _manager_names(generation.key, generation.con)


def rejects(load_id: int | None = None, table: str | None = None) -> pd.DataFrame:
    with reading() as generation:
        return warehouse.rejects(generation.con, load_id, table)
