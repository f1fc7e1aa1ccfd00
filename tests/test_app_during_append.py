"""The app while a command-line append holds the warehouse (ingest.load writes it in place, in one transaction):
a process with no connection open yet says so and shows nothing, instead of failing with DuckDB's lock error."""

import shutil
import subprocess
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import data
from dashboard.users import LOCAL_ADMIN

APP = Path(__file__).resolve().parent.parent / "app.py"
HOLD = ("import duckdb, sys, time\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute('BEGIN TRANSACTION')\n"
        "print('holding', flush=True)\n"
        "time.sleep(120)\n")


def test_a_load_holding_the_warehouse_is_named_and_nothing_is_shown(demo_db, tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_db, warehouse)
    monkeypatch.setattr(data, "WAREHOUSE", warehouse)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.session_state["identity"] = LOCAL_ADMIN
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("A load is writing the warehouse" in i.value for i in at.info)
        assert not at.metric  # no tile, no number from a file being written
    finally:
        holder.kill()
        holder.wait()
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["identity"] = LOCAL_ADMIN
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("A load is writing the warehouse" in i.value for i in at.info)
    assert at.metric  # once the load is done the scorecard opens
