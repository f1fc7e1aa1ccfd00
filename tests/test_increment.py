"""A monthly increment (issue 17): appending last month's bills and tickets (some of them updating tickets exported
open a month before) gives the same warehouse, table by table and number by number, as loading every file at once;
the append works inside one transaction in the warehouse file, so a killed append leaves it as it was."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import metrics
from ingest import load
from ingest.demo import generate, split_increment
from metrics.catalogue import CATALOGUE
from metrics.model import REGION_ORDERED_TABLES
from tests.test_model_build import rows_out_of_region_order

ROOT = Path(__file__).resolve().parents[1]
END_MONTH = dt.date(2025, 6, 1)
# Tables whose rows say when and how they were loaded, not what was loaded.
LOAD_RECORDS = {"loads", "model_info"}


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("increment")
    generate(root / "all", customers=400, seed=11, end_month=END_MONTH)
    split_increment(root / "all", root / "base", root / "increment")
    return root / "base", root / "increment"


@pytest.fixture(scope="module")
def appended_and_reloaded(exports, tmp_path_factory) -> tuple[Path, Path, object]:
    base, increment = exports
    root = tmp_path_factory.mktemp("warehouses")
    appended, reloaded = root / "appended.duckdb", root / "reloaded.duckdb"
    load([base], appended)
    report = load([increment], appended, mode="append")
    load([base, increment], reloaded)
    return appended, reloaded, report


def tables(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return sorted(r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall())


def sorted_frame(db: Path, table: str) -> pd.DataFrame:
    """The table's rows in one order whatever order they were written in (rejects without the load that found them)."""
    with duckdb.connect(str(db), read_only=True) as con:
        frame = con.execute(f"SELECT * FROM {table}").df()
    if table == "rejects":
        frame = frame.drop(columns="load_id")
    keys = frame.copy()
    for column in keys.columns:  # floats summed in another order may differ in the last bits: sort on them rounded
        if pd.api.types.is_float_dtype(keys[column]):
            keys[column] = keys[column].round(4)
        keys[column] = keys[column].astype(str)
    order = keys.sort_values(list(keys.columns)).index
    return frame.loc[order].reset_index(drop=True)


def test_the_split_is_a_month_of_bills_and_tickets_some_updating_last_months(exports):
    base, increment = exports
    with duckdb.connect() as con:
        periods = con.execute("SELECT DISTINCT period FROM read_csv($p, all_varchar = true)",
                              {"p": str(increment / "billing_2025-06.csv")}).fetchall()
        assert periods == [("2025-06",)]
        updated = con.execute(
            """SELECT count(*), count(*) FILTER (WHERE b.resolved_at IS NULL AND i.resolved_at IS NOT NULL)
               FROM read_csv($i, all_varchar = true) i JOIN read_csv($b, all_varchar = true) b USING (ticket_id)""",
            {"i": str(increment / "tickets_2025-06.csv"), "b": str(base / "tickets.csv")}).fetchall()[0]
    # tickets created before June, open or unanswered on 1 June, exported again in their final state
    assert updated[0] > 0 and updated[1] > 0
    with duckdb.connect() as con:
        visit_months = con.execute("SELECT DISTINCT left(visited_on, 7), count(*) OVER () FROM read_csv($p, all_varchar "
                                   "= true)", {"p": str(increment / "visits_2025-06.csv")}).fetchall()
        before = con.execute("SELECT max(visited_on) FROM read_csv($p, all_varchar = true)",
                             {"p": str(base / "visits.csv")}).fetchall()[0][0]
    # June's visits come in the increment (new rows of a fact whose model table is rebuilt from June on)
    assert [month for month, _ in visit_months] == ["2025-06"] and visit_months[0][1] > 0
    assert before < "2025-06-01"


def test_an_append_is_done_in_place_and_builds_the_model_from_the_earliest_touched_month(exports,
                                                                                      appended_and_reloaded):
    _, increment = exports
    _, _, report = appended_and_reloaded
    assert report.swap == "in place, one transaction"
    # the updated tickets were created before June, so the model is built again from the first of their months on
    with duckdb.connect() as con:
        first = con.execute("SELECT min(created_at)[:7] FROM read_csv($p, all_varchar = true)",
                            {"p": str(increment / "tickets_2025-06.csv")}).fetchall()[0][0]
    assert first < "2025-06"
    assert report.model == f"from {first} on"
    assert "query model: customer_facts" not in report.phase_seconds  # the customers did not change
    assert "query model: tier_snapshots" in report.phase_seconds


def test_append_then_equals_one_full_reload_table_by_table(appended_and_reloaded):
    appended, reloaded, _ = appended_and_reloaded
    assert tables(appended) == tables(reloaded)
    compared = set()
    for table in tables(appended):
        if table in LOAD_RECORDS:
            continue
        a, r = sorted_frame(appended, table), sorted_frame(reloaded, table)
        assert len(a) == len(r), table
        pd.testing.assert_frame_equal(a, r, check_exact=False, rtol=1e-9, obj=table)
        compared.add(table)
    # every loaded table and every table of the query model, the roll-ups the declaration generates among them
    from metrics import rollups

    assert {"customers", "billing", "tickets", "billing_facts", "ticket_facts", "tier_snapshots",
            "early_warning_inputs", *(name for name, _ in rollups.STEPS)} <= compared
    assert len(compared) >= 23


def test_an_appended_warehouse_keeps_the_large_tables_in_region_then_time_order(appended_and_reloaded):
    """An append inserts its months' rows at the end of the tables; they are stored in region order again after it,
    as a whole load leaves them (the appended month is in every region, so rows left at the end would fail this)."""
    appended, _, _ = appended_and_reloaded
    with duckdb.connect(str(appended), read_only=True) as con:
        for table, time_column in REGION_ORDERED_TABLES:
            assert rows_out_of_region_order(con, table, time_column) == 0, table


def test_append_then_equals_one_full_reload_metric_by_metric(appended_and_reloaded):
    appended, reloaded, _ = appended_and_reloaded
    windows = [metrics.Filters(start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 30)),
               metrics.Filters(start=dt.date(2024, 7, 1), end=dt.date(2025, 6, 30)),
               metrics.Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30), tiers=("key",)),
               metrics.Filters(start=dt.date(2025, 5, 1), end=dt.date(2025, 5, 31), tiers=("VIP", "key"))]
    with metrics.connect(appended) as a, metrics.connect(reloaded) as r:
        for metric_id in CATALOGUE:
            for f in windows:
                for by in ((), ("region",)):
                    x, y = metrics.compute(a, metric_id, f, by), metrics.compute(r, metric_id, f, by)
                    pd.testing.assert_frame_equal(x.reset_index(drop=True), y.reset_index(drop=True),
                                                  check_exact=False, rtol=1e-9, obj=f"{metric_id} {f} {by}")


KILLABLE_APPEND = textwrap.dedent("""
    import importlib, sys, time
    from ingest.__main__ import main
    model = importlib.import_module("ingest.model")
    update = model.update_derived_model
    def update_then_stall(con, change):
        seconds = update(con, change)
        print("query model updated", flush=True)
        time.sleep(600)
        return seconds
    model.update_derived_model = update_then_stall
    main(sys.argv[1:])
""")


def contents(db: Path) -> dict[str, pd.DataFrame]:
    return {table: sorted_frame(db, table) for table in tables(db)}


def test_an_append_killed_before_its_commit_leaves_the_warehouse_as_it_was(exports, tmp_path):
    base, increment = exports
    db = tmp_path / "warehouse.duckdb"
    load([base], db)
    before = contents(db)
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE_APPEND, "load", str(increment), "--db", str(db),
                             "--mode", "append"], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    # every row appended and the model updated, inside the warehouse file, not yet committed
    assert proc.stdout.readline().strip() == "query model updated"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    after = contents(db)  # opens: DuckDB finds no committed trace of the killed transaction
    assert list(after) == list(before)
    for table in before:
        pd.testing.assert_frame_equal(after[table], before[table], obj=table)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM loads").fetchall() == [(1,)]

    report = load([increment], db, mode="append", wait_seconds=0)  # the next append goes through
    assert report.load_id == 2 and report.swap == "in place, one transaction"


def test_an_append_while_the_app_reads_the_file_builds_on_a_copy(exports, tmp_path):
    """A read generation of the app is a hard link of the warehouse file (dashboard/data.py): changing that file in
    place would change it under the reader, so the append builds on a copy and renames it over the warehouse."""
    base, increment = exports
    db = tmp_path / "warehouse.duckdb"
    load([base], db)
    link = tmp_path / "reader.duckdb"
    os.link(db, link)
    with duckdb.connect(str(link), read_only=True) as reader:
        count = reader.execute("SELECT count(*) FROM billing").fetchall()[0][0]
        report = load([increment], db, mode="append")
        assert report.swap == "copy of the warehouse, renamed over it"
        assert reader.execute("SELECT count(*) FROM billing").fetchall()[0][0] == count  # the reader's file unchanged
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM billing").fetchall()[0][0] > count
