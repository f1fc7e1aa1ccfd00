"""Public real data (tests/data/README.md names the sources): loaded with the mapping a user would write, with
the counts and reasons expected, and a few metrics equal to a computation by hand on the same rows.

The hand computations read the published CSV with Python's csv module and datetime, independently of the
importer, and a few rows are worked out in the comments."""

from __future__ import annotations

import csv
import datetime as dt
import statistics
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import metrics
from dashboard import data
from dashboard.users import LOCAL_ADMIN
from ingest import load, load_mapping
from metrics.catalogue import CATALOGUE, compute_many

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
LA_TICKETS = DATA / "MyLA311_Service_Request_Data_2017_Subset.csv"
LA_COUNCILS = DATA / "la_neighborhood_councils.csv"
HOUSTON_BILLS = DATA / "houston_electricity_bills_2012.csv"
LA_FORMAT = "%m/%d/%Y %I:%M:%S %p"
COMPLAINT_TYPES = {"Homeless Encampment", "Illegal Dumping Pickup"}  # as la311.toml maps them


def published_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def empty_export(folder: Path, name: str, header: str) -> Path:
    """A replace load needs customers, billing and tickets; a source without one gives a file with only a header."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(header + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def la(tmp_path_factory):
    folder = tmp_path_factory.mktemp("la")
    billing = empty_export(folder, "billing.csv", "customer_id,period,amount_billed")
    db = folder / "la.duckdb"
    report = load([LA_COUNCILS, LA_TICKETS, billing], db, mapping=load_mapping(DATA / "la311.toml"))
    return report, db


def test_la_311_loads_with_the_expected_counts_and_warnings(la):
    report, db = la
    files = {f.file: f for f in report.files}
    councils, tickets = files[LA_COUNCILS.name], files[LA_TICKETS.name]
    assert (councils.table, councils.read, councils.loaded, councils.rejected) == ("customers", 99, 99, 0)
    assert (tickets.table, tickets.read, tickets.loaded, tickets.rejected) == ("tickets", 90, 90, 0)
    # hand count: RequestSource is "Driver Self Report" on the 10 rows 1-870683382 ... 1-870683011
    driver = sum(r["RequestSource"] == "Driver Self Report" for r in published_rows(LA_TICKETS))
    assert driver == 10
    assert tickets.warnings == [{"message": "RequestSource (channel) 'Driver Self Report' is not one of hotline, "
                                            "online, counter, account_manager, visit (left empty)", "rows": driver}]
    assert "header taken from line 1" in tickets.notes()
    with duckdb.connect(str(db), read_only=True) as con:
        # council 44: "44,Echo Park,...,2002-04-16T00:00:00,7,REGION 7 - EAST,..."
        assert con.execute("SELECT region, service_center, opened_on FROM customers WHERE customer_id = '44'"
                           ).fetchall() == [("REGION 7 - EAST", "Echo Park", dt.date(2002, 4, 16))]
        # the first request: created 12/31/2017 11:59:58 PM, closed 04/09/2018 09:18:35 AM, a homeless encampment
        # reported by phone in council 44
        assert con.execute("SELECT customer_id, ticket_type, channel, created_at, resolved_at FROM tickets "
                           "WHERE ticket_id = '1-870704831'").fetchall() == [
            ("44", "complaint", "hotline", dt.datetime(2017, 12, 31, 23, 59, 58), dt.datetime(2018, 4, 9, 9, 18, 35))]
        # 98 days (Jan 31 + Feb 28 + Mar 31 + 8) and 9 h 18 min 37 s = 8,500,717 s = 2361.31 h
        assert con.execute("SELECT round(resolution_hours, 2) FROM ticket_facts WHERE ticket_id = '1-870704831'"
                           ).fetchall() == [(2361.31,)]
        assert con.execute("SELECT count(*) FROM tickets WHERE channel IS NULL").fetchall() == [(driver,)]


def test_la_311_metrics_equal_the_hand_computation(la):
    _, db = la
    rows = published_rows(LA_TICKETS)
    hours = [(dt.datetime.strptime(r["ClosedDate"], LA_FORMAT) - dt.datetime.strptime(r["CreatedDate"], LA_FORMAT))
             .total_seconds() / 3600 for r in rows]
    by_hand = {
        "tickets": len(rows),                                                  # 90 requests, all on 31 Dec 2017
        "complaints": sum(r["RequestType"] in COMPLAINT_TYPES for r in rows),  # encampments and dumping
        "median_resolution_hours": statistics.median(hours),                   # continuous median of 90 values
    }
    assert by_hand["tickets"] == 90 and all(r["CreatedDate"].startswith("12/31/2017") for r in rows)
    day = metrics.Filters(start=dt.date(2017, 12, 31), end=dt.date(2017, 12, 31))
    with metrics.connect(db) as con:
        for metric_id, expected in by_hand.items():
            value = metrics.compute(con, metric_id, day)["value"].iloc[0]
            assert value == pytest.approx(expected, abs=1e-9), metric_id


def write_houston_customers(folder: Path) -> tuple[Path, int]:
    """Houston publishes no account list: the customers are the bills' own meters (ESID), named by their service
    address, grouped by the city's business area, opened before the first bill. Written here, not published.
    Returns the file and the number of meters."""
    meters = {}
    for r in published_rows(HOUSTON_BILLS):
        meters.setdefault(r["ESID"], (r["Service Address "].strip(), r["Business Area"]))
    folder.mkdir(parents=True, exist_ok=True)
    customers = folder / "customers.csv"
    with open(customers, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "customer_name", "region", "service_center", "opened_on"])
        for esid, (address, area) in meters.items():
            writer.writerow([esid, address, "Houston", f"Business Area {area}", "2011-07-01"])
    return customers, len(meters)


@pytest.fixture(scope="module")
def houston(tmp_path_factory):
    folder = tmp_path_factory.mktemp("houston")
    customers, meters = write_houston_customers(folder)
    tickets = empty_export(folder, "tickets.csv", "ticket_id,customer_id,ticket_type,created_at")
    db = folder / "houston.duckdb"
    report = load([customers, HOUSTON_BILLS, tickets], db, mapping=load_mapping(DATA / "houston_bills.toml"))
    return report, db, meters


def houston_by_hand() -> tuple[list[dict], list[tuple[int, str]]]:
    """The rows that load (first bill of each meter and month, in file order) and the (line, reason) of the others."""
    loaded, rejected, first_line = [], [], {}
    for line, r in enumerate(published_rows(HOUSTON_BILLS), start=2):
        key = (r["ESID"], r["Bill Date"][:7])
        if key in first_line:
            rejected.append((line, f"duplicate customer_id, period '{key[0]}/{key[1]}-01' "
                                   f"(first on line {first_line[key]} of {HOUSTON_BILLS.name})"))
        else:
            first_line[key] = line
            loaded.append(r)
    return loaded, rejected


def test_houston_bills_load_and_two_bills_in_one_month_are_refused_not_guessed(houston):
    report, db, meters = houston
    loaded, rejected = houston_by_hand()
    # Billing cycles do not follow calendar months, so seven bills are a meter's second bill in a month:
    # 17000 ALDINE WFLD on lines 16 (2012-05-01 after 2012-05-30), 21 (2011-12-01 after 2011-12-30) and 25
    # (2011-08-01 after 2011-08-31); 449 W 19TH on line 32 (2012-01-05 after 2012-01-26); 2820 N. TERMINAL RD on
    # line 192 (2012-03-06 after 2012-03-26); 4501 LEELAND ST. on lines 206 (2012-01-05 after 2012-01-31) and 211
    # (2011-08-02 after 2011-08-30). The importer refuses them, naming the bill kept, rather than add them up.
    assert [line for line, _ in rejected] == [16, 21, 25, 32, 192, 206, 211]
    bills = next(f for f in report.files if f.file == HOUSTON_BILLS.name)
    assert (bills.table, bills.read, bills.loaded, bills.rejected) == ("billing", 220, 213, 7)
    assert meters == 19
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT line, reason FROM rejects WHERE table_name = 'billing' ORDER BY line"
                           ).fetchall() == rejected
        # the 22-digit ESID stays the text it is (no float, no scientific notation)
        assert con.execute("SELECT count(DISTINCT customer_id), min(length(customer_id)) FROM billing"
                           ).fetchall() == [(19, 22)]
        assert con.execute("SELECT period, amount_billed, consumption_kwh FROM billing WHERE customer_id = "
                           "'1008901000140220013100' AND period = '2011-12-01'").fetchall() == [
            (dt.date(2011, 12, 1), 11173.67, 115471.0)]   # line 20, the first December bill of 17000 ALDINE WFLD


def test_houston_revenue_and_consumption_equal_the_hand_computation(houston):
    _, db, _ = houston
    loaded, _ = houston_by_hand()
    fiscal_2012 = metrics.Filters(start=dt.date(2011, 7, 1), end=dt.date(2012, 6, 30))
    by_hand = {"revenue": sum(float(r["Total Due ($)"]) for r in loaded),
               "consumption_kwh": sum(float(r["kWh Usage"]) for r in loaded)}
    # e.g. 10518 BELLAIRE, 12 bills: 73232.11 + 68463.46 + 80847.87 + 74373.93 + 74080.27 + 79107.37 + 72066.0
    # + 68491.44 + 72127.93 + 71638.89 + 63196.52 + 77069.7 = 874695.49
    bellaire = [r for r in loaded if r["ESID"] == "1008901000140050014100"]
    assert sum(float(r["Total Due ($)"]) for r in bellaire) == pytest.approx(874695.49)
    with metrics.connect(db) as con:
        for metric_id, expected in by_hand.items():
            assert metrics.compute(con, metric_id, fiscal_2012)["value"].iloc[0] == pytest.approx(expected), metric_id
        one = metrics.Filters(start=dt.date(2011, 7, 1), end=dt.date(2012, 6, 30), service_centers=["Business Area 4200"])
        # Business Area 4200: 615 LOUISIANNA (12 bills) and 500 SMITH (10 bills in the sample)
        area = [r for r in loaded if r["Business Area"] == "4200"]
        assert Counter(r["ESID"] for r in area) == {"1008901000141460014100": 12, "1008901000149770018100": 10}
        assert metrics.compute(con, "revenue", one)["value"].iloc[0] == pytest.approx(
            sum(float(r["Total Due ($)"]) for r in area))


def test_the_data_page_shows_what_the_importer_noticed(la, monkeypatch):
    # the page shows the report the load stored (this load was not made through the page)
    _, db = la
    monkeypatch.setattr(data, "WAREHOUSE", db)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["identity"] = LOCAL_ADMIN
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = "\n".join(m.value for m in at.markdown)
    assert "What the importer noticed in each file" in text
    assert ("10 row(s) loaded with the field left empty: RequestSource (channel) 'Driver Self Report' is not one of"
            in text)
    shown = next(d.value for d in at.dataframe if "Header line" in d.value.columns)
    assert shown.set_index("File").loc[LA_TICKETS.name, "Rows loaded"] == 90


def test_la_311_ticket_metrics_read_together_equal_each_alone_and_the_hand_count(la):
    # 2017 to date (whole months: one read of ticket_months) and a mid-month window, with region, channel and
    # ticket-type filters at once. Hand count from the published rows: region 7's phoned-in requests (RequestSource
    # "Call") hold 2 complaints (Homeless Encampment, Illegal Dumping Pickup; the complaint count ignores the type
    # filter) and no repair. The export has no arrival, first-contact, reopened or callback column: those are no data.
    _, db = la
    councils = {r["council_id"]: r["service_re"] for r in published_rows(LA_COUNCILS)}
    phoned = [r for r in published_rows(LA_TICKETS) if councils.get(r["NC"]) == "REGION 7 - EAST"
              and r["RequestSource"] == "Call"]
    assert sum(r["RequestType"] in COMPLAINT_TYPES for r in phoned) == 2
    together = [m for m, metric in CATALOGUE.items() if metric.ticket_rollup is not None]
    with metrics.connect(db) as con:
        for start in (dt.date(2017, 1, 1), dt.date(2017, 12, 10)):
            f = metrics.Filters(start=start, end=dt.date(2017, 12, 31), regions=("REGION 7 - EAST",),
                                channels=("hotline",), ticket_types=("repair",))
            for by in ((), ("ticket_type",)):
                frames = compute_many(con, together, f, by=by)
                for m in together:
                    pd.testing.assert_frame_equal(frames[m], metrics.compute(con, m, f, by=by), check_exact=True)
            frames = compute_many(con, together, f)
            assert frames["complaints"]["value"].iloc[0] == 2 and frames["tickets"]["value"].iloc[0] == 0
            for m in ("repair_arrival_minutes", "first_contact_resolution", "reopen_rate", "callback_satisfaction"):
                assert frames[m]["value"].isna().all(), m


def test_complaint_months_are_counted_only_where_tickets_were_loaded(la, houston):
    """The complaints-by-month chart (complaint_outliers) on exports this project did not write. Houston loaded an
    empty tickets file: no month is counted (the page's chart then says "no data"), not six months of 0. LA's one day of
    requests (2017-12-31) in a year-to-date window: December alone, its complaints those of the published rows."""
    from metrics.service import complaint_outliers

    _, houston_db, _meters = houston
    with metrics.connect(houston_db) as con:
        assert complaint_outliers(con, metrics.Filters(start=dt.date(2012, 1, 1), end=dt.date(2012, 6, 30))).empty

    _, la_db = la
    published = sum(r["RequestType"] in COMPLAINT_TYPES for r in published_rows(LA_TICKETS))
    with metrics.connect(la_db) as con:
        frame = complaint_outliers(con, metrics.Filters(start=dt.date(2017, 1, 1), end=dt.date(2017, 12, 31)))
    assert frame["month"].tolist() == [dt.date(2017, 12, 1)]
    assert frame["complaints"].tolist() == [published] and published > 0
