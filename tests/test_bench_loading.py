"""The load benchmark (bench/loading.py) end to end on a tiny demo: floor, full load, increment, and the room the
split's copies took given back (at 3 M customers they are 8 GB of a disk that holds the warehouse too)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from bench.loading import loading_lines, measure

ROOT = Path(__file__).resolve().parents[1]


def test_a_tiny_measurement_splits_loads_appends_and_removes_the_split(tmp_path):
    exports = tmp_path / "exports"
    subprocess.run([sys.executable, "-m", "ingest", "demo", "--out", str(exports), "--customers", "200"], check=True,
                   cwd=ROOT, capture_output=True)
    before = {p.name: p.stat().st_size for p in exports.iterdir()}
    with duckdb.connect() as con:
        bills = con.execute("WITH b AS (SELECT * FROM read_csv($p, all_varchar = true)) SELECT count(*), count(*) "
                            "FILTER (WHERE period = (SELECT max(period) FROM b)) FROM b",
                            {"p": str(exports / "billing.csv")}).fetchall()[0]
    work = tmp_path / "work"
    result = measure(exports, work, 200)
    # the base is every bill but the last month's, the increment that month's: together the export's bills
    full, inc = result["full"], result["increment"]
    assert inc["tables"]["billing"]["read"] == bills[1] > 0
    assert full["tables"]["billing"]["read"] == bills[0] - bills[1]
    # the floor read the same base bills file the importer did
    assert result["floor"]["billing.csv"]["rows"] == full["tables"]["billing"]["read"]
    assert full["peak_mib"] > 0 and inc["swap"] == "in place, one transaction"
    # the model's floor copied the tables the full load's model steps built, as many rows as the warehouse holds
    copied = result["model_floor"]["tables"]
    assert {"tier_snapshots", "ticket_facts", "billing_facts"} <= set(copied)
    assert set(copied) <= {step.removeprefix("query model: ") for step in full["phases"]}
    assert copied["billing_facts"]["rows"] == full["tables"]["billing"]["read"]  # one row per bill of the base
    assert copied["ticket_facts"]["rows"] == full["tables"]["tickets"]["read"]
    # the split's copies and links are gone, the exports they came from untouched, the warehouse kept
    assert sorted(p.name for p in work.iterdir()) == ["warehouse.append.json", "warehouse.duckdb",
                                                     "warehouse.duckdb.lock", "warehouse.replace.json"]
    assert {p.name: p.stat().st_size for p in exports.iterdir()} == before
    lines = loading_lines({"runs": [result]})
    assert lines[0] == "## Loading" and any(line.startswith("- Monthly increment: ") for line in lines)
    assert any(line.startswith("| query model (") and "no floor" not in line for line in lines)
    assert "| step | build (s) | rows | floor (s) | floor / build |" in lines
