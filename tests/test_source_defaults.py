"""Defaults fill what a source left empty, not what it never had (SPEC 3): reopened is false where a file has the
column (an empty cell), unknown (null) on the rows of a file without it; area's default (urban) applies to every
row, as it sets the repair arrival target."""

from __future__ import annotations

import duckdb

from ingest import load

CUSTOMERS = """customer_id,region,service_center,opened_on,area
A1,北原,北原一所,2020-01-01,rural
A2,北原,北原一所,2020-01-01,
"""
MORE_CUSTOMERS = """customer_id,region,service_center,opened_on
B1,南岭,南岭一所,2020-01-01
"""
BILLING = "customer_id,period,amount_billed\nA1,2024-01,100\n"
# one export of the tickets table has the reopened column (one cell empty), the other has not
TICKETS_WITH = """ticket_id,customer_id,ticket_type,created_at,resolved_at,reopened
T1,A1,repair,2024-03-01 10:00,2024-03-01 12:00,Y
T2,A1,repair,2024-03-02 10:00,2024-03-02 12:00,N
T3,A2,inquiry,2024-03-03 10:00,2024-03-03 12:00,
"""
TICKETS_WITHOUT = """ticket_id,customer_id,ticket_type,created_at,resolved_at
T4,B1,repair,2024-03-04 10:00,2024-03-04 12:00
T5,A2,inquiry,2024-03-05 10:00,
"""


def _write(folder, files):
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_reopened_is_null_on_the_rows_of_a_file_without_the_column(tmp_path):
    folder = _write(tmp_path / "exports", {"customers.csv": CUSTOMERS, "customers_more.csv": MORE_CUSTOMERS,
                                           "billing.csv": BILLING, "tickets_1.csv": TICKETS_WITH,
                                           "tickets_2.csv": TICKETS_WITHOUT})
    report = load([folder], tmp_path / "w.duckdb")
    assert report.tables()["tickets"]["loaded"] == 5 and report.tables()["customers"]["loaded"] == 3
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        # T1 Y -> true, T2 N -> false, T3 empty cell in a file with the column -> false (the default);
        # T4, T5 from a file without the column -> unknown, not false
        assert con.execute("SELECT ticket_id, reopened FROM tickets ORDER BY ticket_id").fetchall() == [
            ("T1", True), ("T2", False), ("T3", False), ("T4", None), ("T5", None)]
        # area: A1 rural as written, A2's empty cell urban, B1 from a file without the column urban all the same
        assert con.execute("SELECT customer_id, area FROM customers ORDER BY customer_id").fetchall() == [
            ("A1", "rural"), ("A2", "urban"), ("B1", "urban")]
        assert con.execute("SELECT column_name FROM source_columns WHERE table_name = 'tickets' "
                           "AND column_name = 'reopened'").fetchall() == [("reopened",)]


def test_an_append_without_the_column_stores_unknown_and_keeps_earlier_rows(tmp_path):
    db = tmp_path / "w.duckdb"
    load([_write(tmp_path / "first", {"customers.csv": CUSTOMERS + "B1,南岭,南岭一所,2020-01-01,\n",
                                      "billing.csv": BILLING, "tickets.csv": TICKETS_WITH})], db)
    load([_write(tmp_path / "second", {"tickets.csv": TICKETS_WITHOUT})], db, mode="append")
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT ticket_id, reopened FROM tickets ORDER BY ticket_id").fetchall() == [
            ("T1", True), ("T2", False), ("T3", False), ("T4", None), ("T5", None)]


def test_a_load_where_no_file_has_the_column_stores_no_false(tmp_path):
    load([_write(tmp_path / "exports", {"customers.csv": MORE_CUSTOMERS, "billing.csv": "customer_id,period,amount_billed\n",
                                        "tickets.csv": TICKETS_WITHOUT.replace("A2", "B1")})], tmp_path / "w.duckdb")
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), count(reopened) FROM tickets").fetchall() == [(2, 0)]
        assert con.execute("SELECT count(*) FROM source_columns WHERE column_name = 'reopened'").fetchall() == [(0,)]
