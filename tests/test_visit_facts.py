"""visit_facts (visits with the customer's key and attributes, in day order, built at load): after an append of
visits it equals a full reload of the same files, and visit coverage reads it."""

from __future__ import annotations

import datetime as dt

import duckdb

import metrics
from ingest import load
from metrics import Filters, compute
from tests.conftest import (
    HAND_BILLING,
    HAND_CUSTOMERS,
    HAND_EVENTS,
    HAND_SURVEYS,
    HAND_TICKETS,
    HAND_TRAINING,
    HAND_VISITS,
    write,
)

# A month later: a new visit of C3's in June, and V2 (C2's, March) moved to July.
LATER_VISITS = "visit_id,customer_id,visited_on,visit_type,staff_id\nV3,C3,2024-06-03,routine,E2\nV2,C2,2024-07-01,revisit,E1\n"


def hand_folder(folder):
    for name, text in (("customers.csv", HAND_CUSTOMERS), ("billing.csv", HAND_BILLING),
                       ("tickets.csv", HAND_TICKETS), ("surveys.csv", HAND_SURVEYS), ("visits.csv", HAND_VISITS),
                       ("staff_training.csv", HAND_TRAINING), ("account_events.csv", HAND_EVENTS)):
        write(folder, name, text)
    return folder


def visit_facts(db):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT visit_id, customer_id, customer_key, region, visited_on FROM visit_facts "
                           "ORDER BY visited_on, visit_id").fetchall()


def test_visit_facts_after_an_append_of_visits_equal_a_full_reload(tmp_path):
    base = hand_folder(tmp_path / "base")
    later = tmp_path / "later"
    write(later, "visits_2024-07.csv", LATER_VISITS)
    appended = tmp_path / "appended.duckdb"
    load([base], appended)
    report = load([later], appended, mode="append")
    assert report.model.startswith("from 2024-03")  # V2's old month: visit_facts is built again from March on
    reloaded = tmp_path / "reloaded.duckdb"
    load([base, later], reloaded)
    # in day order, with each customer's key and region (C1 and C2 in A, C3 in B; keys in customer_id order)
    assert visit_facts(appended) == visit_facts(reloaded) == [
        ("V1", "C1", 1, "A", dt.date(2024, 5, 1)), ("V3", "C3", 3, "B", dt.date(2024, 6, 3)),
        ("V2", "C2", 2, "A", dt.date(2024, 7, 1))]


def test_visit_coverage_reads_visit_facts(tmp_path):
    db = tmp_path / "w.duckdb"
    load([hand_folder(tmp_path / "in")], db)
    con = metrics.connect(db)
    try:
        f = Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
        before = compute(con, "visit_coverage", f)["value"].iloc[0]
        con.close()
        with duckdb.connect(str(db)) as writer:  # take C1's visit away from visit_facts only
            writer.execute("DELETE FROM visit_facts WHERE customer_id = 'C1'")
        con = metrics.connect(db)
        after = compute(con, "visit_coverage", f)["value"].iloc[0]
    finally:
        con.close()
    assert before > after >= 0
