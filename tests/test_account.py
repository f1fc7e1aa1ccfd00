"""The account page's numbers (metrics.account) on a warehouse small enough to check by hand, region limits, the
account-manager filter, the workbook download, and the page itself through AppTest."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import metrics
from dashboard import data, exports
from ingest import load
from metrics import account

APP = Path(__file__).resolve().parents[1] / "app.py"

# A1 (manager M1, region R1) carries the tests. Its bills: kWh / billed / paid.
CUSTOMERS = """customer_id,customer_name,region,service_center,industry,area,voltage_kv,contract_capacity_kva,account_manager,opened_on,closed_on
A1,华能钢铁 Steel,R1,R1a,steel,urban,110,50000,M1,2020-01-01,
A2,Works Two,R1,R1a,manufacturing,rural,10,2000,M1,2020-01-01,2024-06-15
A3,Mill Three,R2,R2a,steel,remote,0.4,400,M2,2023-01-01,
A4,Idle 100%_Four,R2,R2a,manufacturing,urban,10,800,M2,2020-01-01,
"""
BILLING = """customer_id,period,consumption_kwh,amount_billed,amount_paid
A1,2023-11,2000,1000,1000
A1,2023-12,2000,1000,1000
A1,2024-10,1000,500,450
A1,2024-11,1000,500,500
A1,2024-12,1000,600,100
A2,2024-01,400,200,200
A3,2023-12,9000,5000,5000
A3,2024-12,300,150,150
A4,2024-12,100,10,10
"""
TICKETS = """ticket_id,customer_id,channel,ticket_type,category,created_at,first_response_at,arrived_at,resolved_at,first_contact_resolution,reopened,substantiated,satisfaction
K1,A1,hotline,complaint,billing error,2024-12-30 09:00,2024-12-30 10:00,,,,N,Y,
K2,A1,online,repair,outage,2024-12-31 22:00,,,,,N,,
K3,A1,counter,inquiry,,2024-06-01 09:00,2024-06-01 09:30,,2024-06-01 12:00,Y,N,,5
K4,A1,hotline,complaint,service attitude,2024-11-01 09:00,2024-11-03 09:00,,2024-11-04 09:00,N,N,N,2
K5,A3,online,inquiry,,2024-12-01 09:00,,,2024-12-01 10:00,Y,N,,
K6,A1,online,inquiry,,2025-01-05 09:00,,,,,N,,
"""
SURVEYS = """survey_id,customer_id,surveyed_on,method,overall,timeliness,reliability,communication,convenience,nps
S1,A1,2024-06-01,visit,4,3,5,4,2,8
"""
VISITS = """visit_id,customer_id,visited_on,visit_type,staff_id
V1,A1,2024-03-15,routine,E1
V2,A3,2024-12-01,revisit,E2
"""
EVENTS = """customer_id,event_date,event,capacity_change_kva,reason
A1,2024-09-01,capacity_reduction,-5000,production moved
A2,2024-06-15,switch_out,-2000,direct purchase
"""
END = dt.date(2024, 12, 31)


@pytest.fixture(scope="module")
def accounts_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("accounts")
    for name, text in (("customers.csv", CUSTOMERS), ("billing.csv", BILLING), ("tickets.csv", TICKETS),
                       ("surveys.csv", SURVEYS), ("visits.csv", VISITS), ("account_events.csv", EVENTS)):
        (folder / name).write_text(text, encoding="utf-8")
    db = folder / "accounts.duckdb"
    report = load([folder], db)
    assert all(f.rejected == 0 for f in report.files), report.to_json()
    return db


@pytest.fixture(scope="module")
def con(accounts_db):
    connection = metrics.connect(accounts_db)
    yield connection
    connection.close()


@pytest.fixture
def f():
    return metrics.Filters(start=dt.date(2024, 1, 1), end=END)


def test_profile_and_tier_as_of_the_end(con, f):
    row = account.profile(con, f, "A1").iloc[0]
    assert (row["customer_name"], row["region"], row["service_center"], row["account_manager"]) == (
        "华能钢铁 Steel", "R1", "R1a", "M1")
    assert row["voltage_kv"] == 110 and row["contract_capacity_kva"] == 50000
    # trailing 12 months to 2024-12-31: A1 1,600 of 1,960, ranked first (share before 0): VIP
    assert row["tier"] == "VIP"


def test_tier_strip_at_every_month_end(con, f):
    strip = account.tier_strip(con, f, "A1")
    # Month ends the bills cover. 2023-11-30: A1 alone, VIP. 2023-12-31 to 2024-11-30: A3's 5,000 (December 2023)
    # ranks first, A1's share before is 5,000 / 7,050, 7,250, 7,700 and 7,200 (>= 0.50, < 0.80): key.
    # 2024-12-31: A3's big bill has left the window: A1 first again, VIP.
    assert strip["as_of"].tolist() == [dt.date(2023, 11, 30), dt.date(2023, 12, 31), dt.date(2024, 1, 31),
                                       dt.date(2024, 10, 31), dt.date(2024, 11, 30), dt.date(2024, 12, 31)]
    assert strip["tier"].tolist() == ["VIP", "key", "key", "key", "key", "VIP"]
    assert strip["trailing_revenue"].tolist() == [1000, 2000, 2000, 2500, 2000, 1600]


def test_revenue_and_kwh_by_month_against_a_year_earlier(con, f):
    bills = account.monthly_billing(con, f, "A1").set_index("month")
    assert len(bills) == 36 and bills.index[0] == dt.date(2022, 1, 1) and bills.index[-1] == dt.date(2024, 12, 1)
    december = bills.loc[dt.date(2024, 12, 1)]
    assert (december["revenue"], december["revenue_year_before"]) == (600, 1000)
    assert (december["consumption_kwh"], december["consumption_kwh_year_before"]) == (1000, 2000)
    assert december["unpaid_in_month"] == 500
    october = bills.loc[dt.date(2024, 10, 1)]
    assert october["revenue"] == 500 and pd.isna(october["revenue_year_before"])  # no bill in October 2023
    assert pd.isna(bills.loc[dt.date(2024, 5, 1), "revenue"])  # no bill: no revenue shown, not 0


def test_summary_arrears_collection_and_days_since_the_last_visit(con, f):
    s = account.summary(con, f, "A1").iloc[0]
    assert s["revenue_12m"] == 1600  # 500 + 500 + 600
    assert s["revenue_12m_year_before"] == 2000  # 1,000 + 1,000 (periods after 2022-12-31 up to 2023-12-31)
    assert s["revenue_change_12m"] == pytest.approx(1600 / 2000 - 1)
    assert s["collection_rate_12m"] == pytest.approx((450 + 500 + 100) / 1600)
    assert (s["unpaid_months"], s["unpaid_amount"]) == (2, 550)  # October 50, December 500
    assert s["open_tickets"] == 2  # K1, K2 (K6 is after the end)
    assert s["complaints_12m"] == 2
    # 2024-03-15 to 2024-12-31: 16 days left of March + 275 days of April to December
    assert s["last_visit"] == dt.date(2024, 3, 15) and s["days_since_last_visit"] == 291
    assert s["last_survey_overall"] == 4


def test_tickets_with_sla_outcome_and_time_left(con, f):
    t = account.tickets(con, f, "A1").set_index("ticket_id")
    assert t.index.tolist() == ["K2", "K1", "K4", "K3"]  # newest first; K6 was created after the end
    # K1 complaint: answered within 24 h, not resolved; resolution due 7 days after 2024-12-30 09:00, that is
    # 2025-01-06 09:00: 5 days and 9 hours after the end of 2024-12-31.
    assert t.loc["K1", "sla_outcome"] == "pending" and bool(t.loc["K1", "is_open"])
    assert t.loc["K1", "next_deadline"] == pd.Timestamp("2025-01-06 09:00")
    assert t.loc["K1", "hours_left"] == pytest.approx(5 * 24 + 9)
    # K2 urban repair at 22:00: arrival due 22:45, nobody came: breached, 1.25 hours overdue at midnight
    assert t.loc["K2", "sla_outcome"] == "breached" and t.loc["K2", "hours_left"] == pytest.approx(-1.25)
    assert t.loc["K3", "sla_outcome"] == "met" and not t.loc["K3", "is_open"] and pd.isna(t.loc["K3", "hours_left"])
    assert t.loc["K4", "sla_outcome"] == "breached"  # first response after 48 h, target 24 h
    complaints = account.complaints(con, f, "A1")
    assert complaints["ticket_id"].tolist() == ["K1", "K4"]
    assert complaints["category"].tolist() == ["billing error", "service attitude"]
    assert complaints["substantiated"].tolist() == [True, False]


def test_an_account_with_no_tickets(con, f):
    assert account.tickets(con, f, "A4").empty
    s = account.summary(con, f, "A4").iloc[0]
    assert s["open_tickets"] == 0 and pd.isna(s["last_visit"]) and pd.isna(s["days_since_last_visit"])


def test_visits_surveys_and_events(con, f):
    assert account.visits(con, f, "A1")["visit_id"].tolist() == ["V1"]
    survey = account.surveys(con, f, "A1").iloc[0]
    assert [survey[c] for c in ("overall", "timeliness", "reliability", "communication", "convenience")] == [4, 3, 5, 4, 2]
    ev = account.events(con, f, "A1").iloc[0]
    assert (ev["event"], ev["capacity_change_kva"], ev["reason"]) == ("capacity_reduction", -5000, "production moved")


def test_warning_reasons_now_and_at_earlier_month_ends(con, f):
    w = account.warning_history(con, f, "A1").set_index("as_of")
    assert len(w) == 13 and w.index[0] == END and w.index[-1] == dt.date(2023, 12, 31)
    now = w.loc[END]
    # kWh of the last 3 months 3,000 against 4,000 a year earlier: -25%; K1 and K4 within 90 days; ¥550 unpaid over
    # October to December; last visit 2024-03-15, over 180 days ago; a capacity reduction in September.
    assert now["on_list"] and now["reason_count"] == 5
    assert now["reasons"] == ("consumption -25% vs a year earlier (last 3 months); 2 complaints in 90 days; "
                              "unpaid bills ¥550 (last 3 months); no visit since 2024-03-15; capacity reduction")
    assert w.loc[dt.date(2024, 2, 29), "tier"] == "key"  # listed or not, the tier that day
    november = w.loc[dt.date(2024, 11, 30)]
    # key then; kWh 2,000 against 2,000; one complaint in 90 days; ¥50 unpaid (October)
    assert november["on_list"] and november["tier"] == "key"
    assert november["reasons"] == "unpaid bills ¥50 (last 3 months); no visit since 2024-03-15; capacity reduction"
    assert not w.loc[dt.date(2023, 12, 31), "on_list"] or w.loc[dt.date(2023, 12, 31), "reason_count"] >= 1


def test_search_by_id_or_part_of_the_name(con, f):
    assert account.find_accounts(con, f, "钢铁")["customer_id"].tolist() == ["A1"]
    assert account.find_accounts(con, f, "steel")["customer_id"].tolist() == ["A1"]  # any case
    assert account.find_accounts(con, f, "a3")["customer_id"].tolist() == ["A3"]
    # the user's text is bound, wildcards match themselves: "%_" matches only the name holding "%_"
    assert account.find_accounts(con, f, "%_")["customer_id"].tolist() == ["A4"]
    assert account.find_accounts(con, f, "' OR 1=1 --").empty
    assert account.find_accounts(con, f, "  ").empty


def test_region_limits_hide_an_account_exactly_as_an_unknown_id(con, f):
    lead = f.model_copy(update={"allowed_regions": ("R2",)})
    outside = account.account_tables(con, lead, "A1")
    unknown = account.account_tables(con, lead, "NO-SUCH-ID")
    assert outside.keys() == unknown.keys()
    for name in outside:
        assert outside[name].empty, name
        pd.testing.assert_frame_equal(outside[name], unknown[name])
    assert account.find_accounts(con, lead, "A")["customer_id"].tolist() == ["A4", "A3"]  # by name: Idle, Mill
    assert not account.profile(con, lead, "A3").empty
    centre = f.model_copy(update={"allowed_service_centers": ("R1a",)})
    assert account.profile(con, centre, "A3").empty and not account.profile(con, centre, "A1").empty
    # the sidebar's own choices do not hide an account the user may see
    assert not account.profile(con, f.model_copy(update={"regions": ("R2",), "tiers": ("standard",)}), "A1").empty


def test_account_manager_filter_on_catalogue_metrics(con, f):
    def value(metric_id, *managers):
        return metrics.compute(con, metric_id, f.model_copy(update={"account_managers": managers}))["value"].iloc[0]
    assert value("revenue", "M1") == 500 + 500 + 600 + 200
    assert value("revenue", "M2") == 150 + 10
    assert value("revenue", "M1", "M2") == metrics.compute(con, "revenue", f)["value"].iloc[0]
    assert value("complaints", "M1") == 2 and value("complaints", "M2") == 0
    assert value("visit_coverage", "M1") == 1.0  # A1 (VIP at the end) visited in March; A2 closed
    by_month = metrics.compute(con, "revenue", f.model_copy(update={"account_managers": ("M1",)}), by=("month",))
    assert by_month.set_index("month")["value"].to_dict() == {
        dt.date(2024, 1, 1): 200, dt.date(2024, 10, 1): 500, dt.date(2024, 11, 1): 500, dt.date(2024, 12, 1): 600}


def test_workbook_and_csv_downloads_hold_every_table(con, f):
    tables = account.account_tables(con, f, "A1")
    book = openpyxl.load_workbook(io.BytesIO(exports.workbook_bytes(tables)))
    assert book.sheetnames == list(tables)
    rows = list(book["tickets"].values)
    assert rows[0][0] == "Ticket" and [r[0] for r in rows[1:]] == ["K2", "K1", "K4", "K3"]
    assert [r[0] for r in book["profile"].values][1] == "A1"
    with zipfile.ZipFile(io.BytesIO(exports.csv_zip_bytes(tables))) as archive:
        assert archive.namelist() == [f"{name}.csv" for name in tables]
        assert "production moved" in archive.read("events.csv").decode("utf-8-sig")


def test_workbook_cells_that_would_run_as_formulas_stay_text():
    book = openpyxl.load_workbook(io.BytesIO(exports.workbook_bytes({"events": pd.DataFrame({"reason": ["=1+1"]})})))
    assert list(book["events"].values)[1][0] == "'=1+1"


# The page, through AppTest on the accounts warehouse.

def run_account(accounts_db, monkeypatch, query=None, **state) -> AppTest:
    monkeypatch.setattr(data, "WAREHOUSE", accounts_db)
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page("pages/account.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_account_page_from_the_url(accounts_db, monkeypatch):
    at = run_account(accounts_db, monkeypatch, {"customer": "A1", "period": ["2024-01-01", "2024-12-31"]})
    assert at.title[0].value == "Account"
    assert "华能钢铁 Steel · A1" in at.subheader[0].value
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Revenue, last 12 months (¥)"] == "¥1.60 k"
    unpaid = next(m for m in at.metric if m.label == "Unpaid amount (¥)")
    assert (unpaid.value, unpaid.delta) == ("¥550", "2 months")
    assert tiles["Open tickets"] == "2" and tiles["Days since last visit"] == "291"
    assert any("On the early-warning list now" in e.value for e in at.error)
    tickets = next(d.value for d in at.dataframe if "Ticket" in d.value.columns)
    assert tickets["Ticket"].tolist() == ["K2", "K1", "K4", "K3"]
    assert tickets["Hours left"].round(2).tolist()[:2] == [-1.25, 129.0]
    assert len(at.get("plotly_chart")) == 3


def test_account_page_for_a_closed_account_and_one_without_tickets(accounts_db, monkeypatch):
    at = run_account(accounts_db, monkeypatch, {"customer": "A2", "period": ["2024-01-01", "2024-12-31"]})
    assert any("2024-06-15" in c.value for c in at.caption)
    assert not at.warning
    at = run_account(accounts_db, monkeypatch, {"customer": "A4", "period": ["2024-01-01", "2024-12-31"]})
    assert {m.label: m.value for m in at.metric}["Open tickets"] == "0"


def test_account_page_says_the_same_for_an_unknown_id_and_one_outside_the_users_regions(accounts_db, monkeypatch):
    from dashboard.users import Identity
    lead = Identity("li", "Li", "lead", ("R2",), None)
    shown = []
    for customer in ("A1", "NO-SUCH-ID"):
        at = run_account(accounts_db, monkeypatch, {"customer": customer}, identity=lead)
        shown.append(([w.value for w in at.warning], len(at.dataframe), len(at.metric), len(at.subheader)))
    assert shown[0] == shown[1]
    assert shown[0][0] == ["This account is not available to you."]


def test_account_page_search(accounts_db, monkeypatch):
    at = run_account(accounts_db, monkeypatch)
    assert any("Search for an account" in i.value for i in at.info)
    at.text_input(key="account_search").input("steel").run()
    assert at.selectbox(key="account_pick").options == ["华能钢铁 Steel (A1)"]
    at.selectbox(key="account_pick").select("A1").run()
    assert not at.exception and at.query_params["customer"] == "A1"
    assert "A1" in at.subheader[0].value


def test_account_page_in_chinese(accounts_db, monkeypatch):
    at = run_account(accounts_db, monkeypatch, {"customer": "A1", "lang": "zh"})
    assert at.title[0].value == "客户档案"
    for frame in at.dataframe:
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in str(c)) for c in frame.value.columns), frame.value.columns


# Account managers: the league table and portfolios, on the same warehouse.

def test_manager_league_from_catalogue_metrics(con, f):
    from metrics import portfolio
    league = portfolio.manager_league(con, f).set_index("account_manager")
    assert league.index.tolist() == ["M1", "M2"]  # by revenue: 1,800 then 160
    m1 = league.loc["M1"]
    assert (m1["active_customers"], m1["key_accounts"], m1["revenue"]) == (2, 1, 1800)  # A2 closed in June
    assert m1["complaints"] == 2 and m1["visit_coverage"] == 1.0 and m1["warned_accounts"] == 1
    assert pd.isna(m1["revenue_yoy"])  # bills start in November 2023: no whole year-earlier window, no data
    assert league.loc["M2", "warned_accounts"] == 0 and league.loc["M2", "key_accounts"] == 0
    limited = portfolio.manager_league(con, f.model_copy(update={"allowed_regions": ("R2",)}))
    assert limited["account_manager"].tolist() == ["M2"]


def test_portfolio_of_a_manager(con, f):
    from metrics import portfolio
    mine = portfolio.portfolio(con, f, "M1")
    assert mine["customer_id"].tolist() == ["A1"]  # A2 closed before the end
    row = mine.iloc[0]
    assert (row["tier"], row["revenue_12m"], row["open_tickets"], row["days_since_last_visit"]) == ("VIP", 1600, 2, 291)
    assert row["visit_due"] == "overdue" and row["reason_count"] == 5 and row["last_visit"] == dt.date(2024, 3, 15)
    assert portfolio.portfolio(con, f.model_copy(update={"allowed_regions": ("R2",)}), "M1").empty


def run_managers(accounts_db, monkeypatch, query=None) -> AppTest:
    monkeypatch.setattr(data, "WAREHOUSE", accounts_db)
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in {"period": ["2024-01-01", "2024-12-31"], **(query or {})}.items():
        at.query_params[key] = value
    at.switch_page("pages/account_managers.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_account_managers_page(accounts_db, monkeypatch):
    at = run_managers(accounts_db, monkeypatch)
    assert at.title[0].value == "Account managers"
    league = at.dataframe[0].value
    assert league["Account manager"].tolist() == ["M1"]  # region R1, the first
    assert league["Revenue (¥)"].tolist() == [1800]
    portfolio = at.dataframe[1].value
    assert portfolio["Customer ID"].tolist() == ["A1"]
    assert portfolio["Account page"].tolist() == ["account?customer=A1"]
    assert portfolio["Visit"].tolist() == ["Visit overdue (180 days)"]
    # a cell without a value (e.g. days since the last visit of an account never visited) reads "–", not "None"
    assert [table.proto.placeholder for table in at.dataframe] == ["–"] * len(at.dataframe)
    at = run_managers(accounts_db, monkeypatch, {"managers_region": "R2", "lang": "zh"})
    assert at.dataframe[0].value["客户经理"].tolist() == ["M2"]


# The account_manager role: limited in the metric layer. On a demo warehouse whose manager MX has exactly the accounts
# of one region, every catalogue metric and every list computed for a Filters limited to MX
# (allowed_account_managers, answered from row-level tables) must equal the same figure for that region
# (answered, where they apply, from the roll-ups summed at load): two independent paths to "only MX's customer_ids".

MX = "专属经理MX"


@pytest.fixture(scope="module")
def manager_db(tmp_path_factory):
    import csv
    from collections import Counter

    from ingest.demo import generate
    folder = tmp_path_factory.mktemp("manager")
    generate(folder / "exports", customers=600, seed=5, end_month=dt.date(2026, 10, 1))
    path = folder / "exports" / "客户档案.csv"
    rows = list(csv.reader(path.open(encoding="gb18030", newline="")))  # the demo writes it as GBK
    header = rows[0]
    centre, manager = header.index("供电单位"), header.index("客户经理")  # region (供电单位) and manager
    chosen = Counter(r[centre] for r in rows[1:]).most_common(1)[0][0]  # the largest region
    for r in rows[1:]:
        r[manager] = MX if r[centre] == chosen else r[manager]
    with path.open("w", encoding="gb18030", newline="") as out:
        csv.writer(out).writerows(rows)
    db = folder / "manager.duckdb"
    load([folder / "exports"], db)
    return db, chosen, sum(r[centre] == chosen for r in rows[1:])


@pytest.fixture(scope="module")
def manager_con(manager_db):
    connection = metrics.connect(manager_db[0])
    yield connection
    connection.close()


def _windows():
    # twelve whole months ending on a month end (the roll-ups answer the centre), one month, and a ragged window
    return [(dt.date(2025, 10, 1), dt.date(2026, 9, 30)), (dt.date(2026, 9, 1), dt.date(2026, 9, 30)),
            (dt.date(2026, 2, 10), dt.date(2026, 8, 20))]


def _same(left: pd.DataFrame, right: pd.DataFrame, what: str) -> None:
    left, right = left.reset_index(drop=True), right.reset_index(drop=True)
    assert list(left.columns) == list(right.columns), what
    assert len(left) == len(right), what
    for name in left.columns:
        a, b = left[name], right[name]
        if all(pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x) for x in (a, b)):
            assert ((a - b).abs() <= 1e-6 * b.abs().clip(lower=1)).where(a.notna() | b.notna(), True).all() and \
                (a.isna() == b.isna()).all(), (what, name, a.tolist()[:5], b.tolist()[:5])
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), (what, name)


def test_every_catalogue_metric_for_a_manager_equals_it_for_exactly_their_customers(manager_db, manager_con):
    _db, centre, accounts = manager_db
    assert accounts >= 60  # enough accounts for the comparison to mean something
    checked = 0
    for start, end in _windows():
        f = metrics.Filters(start=start, end=end)
        mine = f.model_copy(update={"allowed_account_managers": (MX,)})
        theirs = f.model_copy(update={"regions": (centre,)})
        for metric_id, metric in metrics.CATALOGUE.items():
            for by in [(), *[(d,) for d in ("month", "tier", "ticket_type") if d in metric.dimensions]]:
                got = metrics.compute(manager_con, metric_id, mine, by)
                if metric_id == "training_hours_per_staff":  # kept per staff, not per account: no data
                    assert got["value"].isna().all() or got.empty
                    continue
                _same(got, metrics.compute(manager_con, metric_id, theirs, by), (metric_id, by, start, end))
                checked += 1
    assert checked > 3 * 40
    # the limit narrows a sidebar choice, never widens it: another manager chosen in the sidebar selects nothing
    other = f.model_copy(update={"account_managers": ("宁波客户经理1号",), "allowed_account_managers": (MX,)})
    assert other.effective_account_managers == ()
    assert metrics.compute(manager_con, "active_customers", other)["value"].iloc[0] == 0


def test_every_list_and_download_for_a_manager_holds_exactly_their_customers(manager_db, manager_con):
    from metrics import portfolio, retention, service, tiers, warehouse
    _db, centre, _n = manager_db
    for start, end in _windows()[:2]:
        f = metrics.Filters(start=start, end=end)
        mine = f.model_copy(update={"allowed_account_managers": (MX,)})
        theirs = f.model_copy(update={"regions": (centre,)})
        views = {
            "tier_distribution": tiers.tier_distribution, "pareto_curve": tiers.pareto_curve,
            "revenue_concentration": tiers.revenue_concentration, "rising_accounts": tiers.rising_accounts,
            "tier_migration": lambda c, x, start=start, end=end: tiers.tier_migration(
                c, x, start - dt.timedelta(days=1), end),
            "tier_moves": lambda c, x, start=start, end=end: portfolio.tier_moves(c, x, start - dt.timedelta(days=1), end),
            "duration_distribution": service.duration_distribution, "backlog_ageing": service.backlog_ageing,
            "complaint_outliers": service.complaint_outliers, "repeat_complainants": service.repeat_complainants,
            "cohort_retention": retention.cohort_retention, "churn_reasons": retention.churn_reasons,
            "early_warning": retention.early_warning, "survey_dimensions": retention.survey_dimensions,
            **{f"table_slice_{t}": (lambda c, x, t=t: warehouse.table_slice(c, x, t)) for t in warehouse.EXPLORABLE},
        }
        empty = []
        for name, view in views.items():
            got = view(manager_con, mine)
            _same(got, view(manager_con, theirs), (name, start))
            empty += [name] if got.empty else []
        assert len(empty) <= 2, empty  # the comparison is of lists that hold rows (early warning among them)
        assert "early_warning" not in empty
        rows = warehouse.table_slice(manager_con, mine, "customers")
        assert set(rows["account_manager"]) == {MX} and set(rows["region"]) == {centre}
    choices = warehouse.dimension_values(manager_con, allowed_account_managers=(MX,))
    assert choices["region"] == [centre]


def test_the_account_pages_for_a_manager_open_only_their_accounts(manager_con):
    from metrics import portfolio
    f = metrics.Filters(start=dt.date(2025, 10, 1), end=dt.date(2026, 9, 30))
    mine = f.model_copy(update={"allowed_account_managers": (MX,)})
    ids = manager_con.execute("SELECT customer_id, account_manager = $m AS mine FROM customers ORDER BY 1",
                              {"m": MX}).fetchall()
    own = next(c for c, m in ids if m)
    other = next(c for c, m in ids if not m)
    assert not account.profile(manager_con, mine, own).empty
    outside, unknown = account.account_tables(manager_con, mine, other), account.account_tables(manager_con, mine, "NO-ID")
    for name in outside:
        assert outside[name].empty, name
        pd.testing.assert_frame_equal(outside[name], unknown[name])
    assert set(account.find_accounts(manager_con, mine, "C", limit=1000)["account_manager"]) == {MX}
    league = portfolio.manager_league(manager_con, mine)
    assert league["account_manager"].tolist() == [MX]
    assert portfolio.portfolio(manager_con, mine, "宁波客户经理1号").empty  # another manager's portfolio: nothing
    assert set(portfolio.portfolio(manager_con, mine, MX)["customer_id"]) <= {c for c, m in ids if m}


# The account_manager role through the app: M1's manager (A1, A2) on the accounts warehouse.

def manager_identity():
    from dashboard.users import Identity
    return Identity("wf", "Wang Fang", "account_manager", None, None, ("M1",))


def run_as_manager(accounts_db, monkeypatch, page=None, query=None) -> AppTest:
    monkeypatch.setattr(data, "WAREHOUSE", accounts_db)
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in {"period": ["2024-01-01", "2024-12-31"], **(query or {})}.items():
        at.query_params[key] = value
    at.session_state["identity"] = manager_identity()
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_manager_lands_on_their_own_portfolio(accounts_db, monkeypatch):
    at = run_as_manager(accounts_db, monkeypatch)  # no page named: where they land after signing in
    assert at.title[0].value == "Account managers"
    assert not at.selectbox  # no region to pick, no other manager's portfolio to choose
    league, mine, plan = (d.value for d in at.dataframe)
    assert league["Account manager"].tolist() == ["M1"] and league["Revenue (¥)"].tolist() == [1800]
    # complaints per account: K1 and K4 over A1 and A2 (both active in 2024)
    assert league["Complaints per account"].tolist() == [1.0]
    assert mine["Customer ID"].tolist() == ["A1"] and mine["Account page"].tolist() == ["account?customer=A1"]
    # A1's bills from January to December 2024: October 500, November 500, December 600, the other months none
    trend = [None if pd.isna(v) else v for v in mine["Revenue, last 12 months by month"].iloc[0]]
    assert trend == [None] * 9 + [500.0, 500.0, 600.0]
    assert plan["Customer ID"].tolist() == ["A1"] and plan["Visit"].tolist() == ["Visit overdue (180 days)"]
    assert any("Wang Fang" in c.value and "the accounts of M1" in c.value for c in at.sidebar.caption)


def test_a_manager_sees_only_their_accounts_on_every_page_they_may_open(accounts_db, monkeypatch):
    from dashboard.users import ROLE_PAGES
    assert "scorecard" not in ROLE_PAGES["account_manager"] and "data" not in ROLE_PAGES["account_manager"]
    for page in ROLE_PAGES["account_manager"]:
        at = run_as_manager(accounts_db, monkeypatch, f"pages/{page}.py")
        for frame in at.dataframe:
            if "Customer ID" in frame.value.columns:
                assert set(frame.value["Customer ID"]) <= {"A1", "A2"}, page
    for page in ("scorecard", "data"):  # not in their navigation: they get their portfolio instead
        at = run_as_manager(accounts_db, monkeypatch, f"pages/{page}.py")
        assert at.title[0].value == "Account managers", page
    # the sidebar offers only the places of their accounts
    at = run_as_manager(accounts_db, monkeypatch, "pages/complaints.py")
    assert at.sidebar.multiselect(key="region").options == ["R1"]
    assert at.sidebar.multiselect(key="center").options == ["R1a"]
    # the complaints tile counts their accounts' complaints only: K1 and K4 (A1); A3 has none anyway, so check
    # revenue through Explore: M1's 1,800, not the company's 1,960
    at = run_as_manager(accounts_db, monkeypatch, "pages/explore.py")
    at.selectbox(key="explore_metric").select("revenue").run()
    at.multiselect(key="explore_by_revenue").set_value([]).run()
    assert at.dataframe[0].value["Value"].tolist() == [1800]


def test_a_managers_explore_rows_and_account_workbook_hold_only_their_accounts(accounts_db, monkeypatch):
    at = run_as_manager(accounts_db, monkeypatch, "pages/explore.py")
    at.segmented_control(key="explore_kind").set_value("table").run()
    for name in ("customers", "tickets", "billing"):
        at.selectbox(key="explore_table").select(name).run()
        rows = at.dataframe[0].value
        assert set(rows["Customer ID"]) <= {"A1", "A2"} and len(rows) > 0, name
    shown = []
    for customer in ("A3", "NO-SUCH-ID"):  # M2's account and an id that does not exist read the same
        at = run_as_manager(accounts_db, monkeypatch, "pages/account.py", {"customer": customer})
        shown.append(([w.value for w in at.warning], len(at.dataframe), len(at.metric), len(at.get("download_button"))))
    assert shown[0] == shown[1] and shown[0][0] == ["This account is not available to you."]
    at = run_as_manager(accounts_db, monkeypatch, "pages/account.py", {"customer": "A1"})
    assert "A1" in at.subheader[0].value and len(at.get("download_button")) > 2
    at.text_input(key="account_search").input("A").run()
    # by name (Latin letters sort before Chinese); A3 and A4 (M2's) are not offered
    assert at.selectbox(key="account_pick").options == ["Works Two (A2)", "华能钢铁 Steel (A1)"]


@pytest.mark.parametrize("rollups", [True, False])  # the month-end tiers stored at load, or computed here
def test_the_accounts_behind_the_tier_migration(con, f, rollups):
    from metrics import portfolio
    settings = metrics.MetricSettings(rollups=rollups)
    moves = portfolio.tier_moves(con, f, dt.date(2023, 12, 31), END, settings).set_index("customer_id")
    # 2023-12-31, trailing 12 months: A3 5,000 (first: VIP), A1 2,000 (share before 5,000 / 7,000: key), A2 and A4
    # nothing (standard). 2024-12-31: A1 1,600 of 1,960 (VIP), A2 closed in June, A3 150 (share before 1,800 / 1,960:
    # standard), A4 standard on both days (not listed). By revenue on the first day.
    assert moves.index.tolist() == ["A3", "A1", "A2"]
    assert list(zip(moves["from_tier"], moves["to_tier"])) == [("VIP", "standard"), ("key", "VIP"), ("standard", "closed")]
    assert moves.loc["A1", "revenue_before"] == 2000 and moves.loc["A1", "revenue_after"] == 1600
    from metrics.tiers import tier_migration
    flows = tier_migration(con, f, dt.date(2023, 12, 31), END, settings)
    assert flows.loc[flows["from_tier"] != flows["to_tier"], "customers"].sum() == len(moves)
    limited = f.model_copy(update={"allowed_account_managers": ("M2",)})
    assert portfolio.tier_moves(con, limited, dt.date(2023, 12, 31), END, settings)["customer_id"].tolist() == ["A3"]


def test_ticket_lists_behind_the_complaints_and_response_times_pages(con, f):
    # complaints created in 2024: K1 (2024-12-30) and K4 (2024-11-01), newest first
    complaints = account.ticket_list(con, f.model_copy(update={"ticket_types": ("complaint",)}))
    assert complaints["ticket_id"].tolist() == ["K1", "K4"]
    assert complaints["category"].tolist() == ["billing error", "service attitude"]
    assert complaints["substantiated"].tolist() == [True, False]
    assert len(complaints) == metrics.compute(con, "complaints", f)["value"].iloc[0]
    # breached at the end of 2024: K2 (no arrival by 22:45) and K4 (first response after 48 h)
    assert account.ticket_list(con, f, outcome="breached")["ticket_id"].tolist() == ["K2", "K4"]
    assert account.ticket_list(con, f.model_copy(update={"allowed_account_managers": ("M2",)}))["ticket_id"].tolist() == ["K5"]
    assert len(account.ticket_list(con, f, limit=2)) == 2
