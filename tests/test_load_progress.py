"""What a person watching a load sees (issue 17): per file and per table the rows read and rejected, the time elapsed
and, once it can tell, the time left; the same on the Data page, in its language."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dashboard import escape, i18n
from dashboard.load_messages import progress_text
from ingest import load
from ingest.load import LoadProgress, clock
from tests.conftest import HAND_BILLING, HAND_CUSTOMERS, HAND_TICKETS

ROOT = Path(__file__).resolve().parents[1]
# Two bad bills on top of the hand-sized eight: one of a customer not loaded, one whose amount is not a number.
BAD_BILLING = HAND_BILLING + "C9,2024-01,10,5,5\nC1,2024-03,10,lots,5\n"


def exports(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "customers.csv").write_text(HAND_CUSTOMERS, encoding="utf-8")
    (folder / "billing.csv").write_text(BAD_BILLING, encoding="utf-8")
    (folder / "tickets.csv").write_text(HAND_TICKETS, encoding="utf-8")
    return folder


def test_the_cli_says_per_file_and_per_table_rows_read_rejected_elapsed_and_left(tmp_path):
    out = subprocess.run([sys.executable, "-m", "ingest", "load", str(exports(tmp_path / "x")), "--db",
                          str(tmp_path / "w.duckdb")], cwd=ROOT, capture_output=True, text=True, check=True)
    lines = out.stderr.splitlines()
    # files numbered in name order: billing.csv, customers.csv, tickets.csv; 8 + 2 bills, 5 customers, 10 tickets.
    # Each table's files are read just before it is checked and loaded, customers first: customers.csv is read first.
    assert lines[0].startswith("Reading customers.csv (2/3)… · 0:0")
    assert lines[1].startswith("Read customers.csv (2/3): 5 rows, 0 rejected · 0:0")
    assert any(line.startswith("Read billing.csv (1/3): 10 rows, 0 rejected") for line in lines)  # no line is broken
    assert any(line.startswith("Read tickets.csv (3/3): 10 rows, 0 rejected") for line in lines)
    phases = [line.split(" ")[0] for line in lines if line.startswith(("Read", "Checked"))]
    assert phases == ["Reading", "Read", "Checked"] * 3  # per table: its file read, then the table checked and loaded
    # tables in load order: customers before billing, whose two bad rows the row rules reject
    checked = [line for line in lines if line.startswith("Checked and loaded")]
    assert [line.split(" · ")[0] for line in checked] == [
        "Checked and loaded customers (1/3): 5 rows read, 0 rejected",
        "Checked and loaded billing (2/3): 10 rows read, 2 rejected",
        "Checked and loaded tickets (3/3): 10 rows read, 0 rejected"]
    assert all(" elapsed" in line for line in lines)
    assert any(", about " in line and line.endswith(" left") for line in lines[1:])
    assert lines[-1].startswith("Warehouse swapped in · ")
    assert "Load 1 (replace) committed" in out.stdout


def test_progress_events_go_forward_and_end_at_one(tmp_path):
    events: list[LoadProgress] = []
    load([exports(tmp_path / "x")], tmp_path / "w.duckdb", progress=events.append)
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [e.phase for e in events][-3:] == ["model", "committing", "done"]
    assert all(e.remaining is None or e.remaining >= 0 for e in events)


def test_time_left_is_the_time_so_far_scaled_by_what_is_left():
    # a quarter done in 60 s: 60 * (1 - 0.25) / 0.25 = 180 s left
    event = LoadProgress("reading", 0.25, 60.0, 180.0, name="billing.csv", step=2, steps=7, rows=1_234_567, rejected=3)
    assert event.message == "Read billing.csv (2/7): 1,234,567 rows, 3 rejected · 1:00 elapsed, about 3:00 left"
    assert clock(3725) == "1:02:05"


def test_the_data_page_says_the_same_in_chinese_with_the_file_name_escaped():
    event = LoadProgress("reading", 0.25, 60.0, 180.0, name="bill*ing.csv", step=2, steps=7, rows=1_234_567,
                         rejected=3)
    i18n.use("zh")
    try:
        text = progress_text(event)
    finally:
        i18n.use("en")
    name = escape.markdown("bill*ing.csv")  # the bar's text is Markdown: a name is shown as written, not as emphasis
    assert name != "bill*ing.csv"
    assert text == f"已读取 {name} (2/7)：1,234,567 行，拒绝 3 行 · 已用时 1:00，预计还需 3:00"
    assert progress_text(event) == f"Read {name} (2/7): 1,234,567 rows, 3 rejected · 1:00 elapsed, about 3:00 left"
