"""Contracts, readers, validation and load, on small real files written here."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingest import LoadError, load, load_mapping
from ingest.workdays import OFFICIAL, WEEKDAYS_ONLY, working_day_calendar

ROOT = Path(__file__).resolve().parents[1]

CUSTOMERS_EN = (
    "customer_id,customer_name,region,service_center,industry,area,voltage_kv,contract_capacity_kva,opened_on,closed_on\n"
    "C1,甲钢铁有限公司,杭州,城东供电所,钢铁,urban,110,50000,2020-01-01,\n"
    "C2,乙数据中心,宁波,城西供电所,数据中心,rural,10,2000,2021/03/05,\n"
)
BILLING = "customer_id,period,consumption_kwh,amount_billed,amount_paid\nC1,2024-01,1000,650,650\nC2,2024-01,500,300,250\n"
TICKETS = (
    "ticket_id,customer_id,ticket_type,created_at,resolved_at\n"
    "T1,C1,repair,2024-01-05 08:00,2024-01-05 10:00\n"
    "T2,C2,投诉,2024/01/06 09:30:00,\n"
)


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def minimal_exports(folder: Path, customers: str = CUSTOMERS_EN, encoding: str = "utf-8",
                    customers_name: str = "customers.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write(folder, customers_name, customers, encoding)
    write(folder, "billing.csv", BILLING)
    write(folder, "tickets.csv", TICKETS)
    return folder


def query(db: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


CUSTOMERS_ZH = (
    "客户编号,客户名称,供电单位,供电所,行业,区域类型,电压等级,合同容量,立户日期,销户日期\n"
    "C1,甲钢铁有限公司,杭州,城东供电所,钢铁,城市,110,\"50,000\",20200101,\n"
    "C2,乙数据中心,宁波,城西供电所,数据中心,农村,10,2000,2021-03-05,\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_customers_load_in_every_encoding_utilities_export(tmp_path, encoding):
    exports = minimal_exports(tmp_path / "in", CUSTOMERS_ZH, encoding, "客户档案.csv")
    report = load([exports], tmp_path / "w.duckdb")
    assert report.tables()["customers"] == {"read": 2, "loaded": 2, "rejected": 0, "superseded": 0, "skipped": 0}
    rows = query(tmp_path / "w.duckdb", "SELECT customer_id, customer_name, region, area, contract_capacity_kva, opened_on "
                                        "FROM customers ORDER BY customer_id")
    # Chinese text survives decoding; 城市/农村 map to urban/rural; "50,000" loses its thousands separator.
    assert rows == [("C1", "甲钢铁有限公司", "杭州", "urban", 50000.0, dt.date(2020, 1, 1)),
                    ("C2", "乙数据中心", "宁波", "rural", 2000.0, dt.date(2021, 3, 5))]


def test_text_in_no_known_encoding_fails_naming_the_file_and_the_byte(tmp_path):
    exports = minimal_exports(tmp_path / "in")
    # byte 0xff starts no character in UTF-8 nor in GB18030; it is the file's 3rd byte past the header line
    header = CUSTOMERS_EN.splitlines(keepends=True)[0].encode()
    (exports / "customers.csv").write_bytes(header + b"C1\xff\xfe,x\n")
    with pytest.raises(LoadError, match=rf"customers.csv: text is neither UTF-8, UTF-16 nor GB18030/GBK "
                                        rf"\(byte {len(header) + 2}\); save it again as UTF-8 or GB18030"):
        load([exports], tmp_path / "w.duckdb")
    assert not (tmp_path / "w.duckdb").exists()


def test_semicolon_delimited_csv_is_detected(tmp_path):
    exports = minimal_exports(tmp_path / "in", CUSTOMERS_EN.replace(",", ";"))
    load([exports], tmp_path / "w.duckdb")
    assert query(tmp_path / "w.duckdb", "SELECT count(*), sum(voltage_kv) FROM customers") == [(2, 120.0)]


def test_excel_named_sheet_and_parquet(tmp_path):
    folder = minimal_exports(tmp_path / "in")
    (folder / "customers.csv").unlink()
    frame = pd.read_csv(pd.io.common.StringIO(CUSTOMERS_EN), dtype=str)
    with pd.ExcelWriter(folder / "kh.xlsx", engine="openpyxl") as writer:
        pd.DataFrame({"说明": ["封面"]}).to_excel(writer, sheet_name="封面", index=False)
        frame.to_excel(writer, sheet_name="客户", index=False)
    pd.read_csv(pd.io.common.StringIO(BILLING), dtype=str).to_parquet(folder / "billing.parquet")
    (folder / "billing.csv").unlink()
    mapping = tmp_path / "map.toml"
    mapping.write_text('[tables.customers]\nfiles = ["kh*.xlsx"]\nsheet = "客户"\n', encoding="utf-8")
    report = load([folder], tmp_path / "w.duckdb", mapping=load_mapping(mapping))
    assert report.tables()["customers"]["loaded"] == 2
    assert report.tables()["billing"]["loaded"] == 2
    assert query(tmp_path / "w.duckdb", "SELECT sum(amount_paid) FROM billing") == [(900.0,)]


def test_mapping_file_names_a_sources_own_headers(tmp_path):
    folder = minimal_exports(tmp_path / "in", CUSTOMERS_EN.replace("customer_id", "用户号码"))
    mapping = tmp_path / "map.toml"
    mapping.write_text('[tables.customers.columns]\n"用户号码" = "customer_id"\n', encoding="utf-8")
    load([folder], tmp_path / "w.duckdb", mapping=load_mapping(mapping))
    assert query(tmp_path / "w.duckdb", "SELECT count(*) FROM customers") == [(2,)]


def test_mapping_file_with_unknown_column_is_an_error_naming_it(tmp_path):
    mapping = tmp_path / "map.toml"
    mapping.write_text('[tables.customers.columns]\n"户号" = "customer_code"\n', encoding="utf-8")
    with pytest.raises(LoadError, match="tables.customers.columns: '户号' maps to unknown column 'customer_code'"):
        load_mapping(mapping)
    mapping.write_text('[tables.clients]\nfiles = ["x"]\n', encoding="utf-8")
    with pytest.raises(LoadError, match=r"unknown table\(s\) \['clients'\]"):
        load_mapping(mapping)


BROKEN_CUSTOMERS = (
    "customer_id,region,service_center,area,voltage_kv,contract_capacity_kva,opened_on,closed_on\n"
    "C1,杭州,城东,urban,10,100,2020-01-01,\n"          # line 2: good
    "C1,杭州,城东,urban,10,100,2020-01-01,\n"          # line 3: duplicate of line 2
    ",杭州,城东,urban,10,100,2020-01-01,\n"            # line 4: id missing
    "C4,杭州,城东,suburb,10,100,2020-01-01,\n"         # line 5: unknown enum
    "C5,杭州,城东,urban,0,100,2020-01-01,\n"           # line 6: voltage must be > 0
    "C6,杭州,城东,urban,10,-5,2020-01-01,\n"           # line 7: negative capacity
    "C7,杭州,城东,urban,10,100,2020-13-01,\n"          # line 8: bad date
    "C8,杭州,城东,urban,10,100,2020-05-01,2020-04-01\n"  # line 9: closed before opened
    "C9,杭州,城东,urban,ten,100,2020-01-01,\n"         # line 10: not a number
    "C10,杭州,城东,urban,10,100,2020-01-01,,extra\n"   # line 11: too many fields
    "C11,杭州,城东,urban,10,100,2020-01-01,\n"         # line 12: good
)
BROKEN_TICKETS = (
    "ticket_id,customer_id,ticket_type,created_at,resolved_at,satisfaction,reopened\n"
    "T1,C1,repair,2024-03-02 09:00,2024-03-01 08:00,,\n"   # line 2: resolved before created
    "T2,C404,repair,2024-03-02 09:00,,,\n"                 # line 3: unknown customer
    "T3,C1,repair,2024-03-02 09:00,,7,\n"                  # line 4: score out of range
    "T4,C1,repair,2024-03-02 09:00,,4.5,\n"                # line 5: not a whole number
    "T5,C1,repair,2024-03-02 09:00,,,maybe\n"              # line 6: not a yes/no
    "T6,C1,,2024-03-02 09:00,,,\n"                         # line 7: type missing
    "T7,C11,repair,2024-03-02 09:00,,5,是\n"               # line 8: good
)


def test_every_broken_row_is_kept_with_its_own_reason(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "customers.csv", BROKEN_CUSTOMERS)
    write(folder, "billing.csv", "customer_id,period,amount_billed\nC1,2024-01,-3\nC1,202401x,5\nC11,2024-02,\"1,250.50\"\n")
    write(folder, "tickets.csv", BROKEN_TICKETS)
    report = load([folder], tmp_path / "w.duckdb")
    rejects = query(tmp_path / "w.duckdb", "SELECT table_name, line, reason FROM rejects ORDER BY table_name, line")
    assert rejects == [
        ("billing", 2, "amount_billed -3.0 is negative"),
        ("billing", 3, "period '202401x' is not a month (use YYYY-MM, YYYYMM, YYYY年M月 or a date in the month)"),
        ("customers", 3, "duplicate customer_id 'C1' (first on line 2 of customers.csv)"),
        ("customers", 4, "customer_id is missing"),
        ("customers", 5, "area 'suburb' is not one of urban, rural, remote"),
        ("customers", 6, "voltage_kv 0.0 must be greater than 0"),
        ("customers", 7, "contract_capacity_kva -5.0 is negative"),
        ("customers", 8, "opened_on '2020-13-01' is not a date (use YYYY-MM-DD, YYYY/M/D, YYYYMMDD or YYYY年M月D日)"),
        ("customers", 9, "closed_on 2020-04-01 is before opened_on 2020-05-01"),
        ("customers", 10, "voltage_kv 'ten' is not a number"),
        ("customers", 11, "line has more fields than the 8 columns of the header; "
                          "quote values that contain the delimiter"),
        ("tickets", 2, "resolved_at 2024-03-01 08:00 is before created_at 2024-03-02 09:00"),
        ("tickets", 3, "customer_id 'C404' is not in customers"),
        ("tickets", 4, "satisfaction 7 is outside 1..5"),
        ("tickets", 5, "satisfaction '4.5' is not a whole number"),
        ("tickets", 6, "reopened 'maybe' is not yes/no (use true/false, 1/0, Y/N or 是/否)"),
        ("tickets", 7, "ticket_type is missing"),
    ]
    # read = loaded + rejected, per file, with loaded counted from the rows actually inserted
    for f in report.files:
        assert f.read == f.loaded + f.rejected
    assert {f.file: (f.read, f.loaded, f.rejected) for f in report.files} == {
        "customers.csv": (11, 2, 9), "billing.csv": (3, 1, 2), "tickets.csv": (7, 1, 6)}
    assert query(tmp_path / "w.duckdb", "SELECT customer_id FROM customers ORDER BY 1") == [("C1",), ("C11",)]
    assert query(tmp_path / "w.duckdb", "SELECT amount_billed FROM billing") == [(1250.5,)]
    assert query(tmp_path / "w.duckdb", "SELECT ticket_id, reopened, satisfaction FROM tickets") == [("T7", True, 5)]
    # the raw row is kept as read, under the file's own headers
    raw = query(tmp_path / "w.duckdb", "SELECT raw_row FROM rejects WHERE table_name = 'tickets' AND line = 3")[0][0]
    assert json.loads(raw)["customer_id"] == "C404"


def test_unusable_file_fails_and_leaves_previous_warehouse_untouched(tmp_path):
    db = tmp_path / "w.duckdb"
    load([minimal_exports(tmp_path / "good")], db)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    bad = minimal_exports(tmp_path / "bad")
    write(bad, "tickets.csv", "工单编号,客户编号,受理渠道\nT1,C1,95598\n")
    with pytest.raises(LoadError) as error:
        load([bad], db)
    message = str(error.value)
    assert "tickets.csv" in message and "ticket_type, created_at" in message
    assert ("Headers found (header on line 1; none of the first 20 rows names them all, so the first was taken): "
            "工单编号, 客户编号, 受理渠道") in message
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert query(db, "SELECT count(*) FROM tickets") == [(2,)]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".loading")] == []


def test_replace_load_needs_the_required_tables(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "customers.csv", CUSTOMERS_EN)
    with pytest.raises(LoadError, match="needs the required table\\(s\\) billing, tickets"):
        load([folder], tmp_path / "w.duckdb")


def test_append_updates_existing_keys_instead_of_duplicating(tmp_path):
    db = tmp_path / "w.duckdb"
    load([minimal_exports(tmp_path / "jan")], db)
    feb = tmp_path / "feb"
    feb.mkdir()
    write(feb, "billing.csv", "customer_id,period,consumption_kwh,amount_billed,amount_paid\n"
                              "C1,2024-01,1000,650,700\nC1,2024-02,900,600,0\n")
    report = load([feb], db, mode="append")
    assert report.tables() == {"billing": {"read": 2, "loaded": 2, "rejected": 0, "superseded": 0, "skipped": 0}}
    assert query(db, "SELECT customer_id, period, amount_paid FROM billing ORDER BY 1, 2") == [
        ("C1", dt.date(2024, 1, 1), 700.0), ("C1", dt.date(2024, 2, 1), 0.0), ("C2", dt.date(2024, 1, 1), 250.0)]
    assert query(db, "SELECT load_id, mode, rows_loaded FROM loads ORDER BY 1") == [(1, "replace", 6), (2, "append", 2)]


def test_derived_model_has_durations_and_customer_attributes(tmp_path):
    db = tmp_path / "w.duckdb"
    load([minimal_exports(tmp_path / "in")], db)
    # T1: 08:00 -> 10:00 is 2 hours; T2 is open and a complaint (投诉) from the rural customer C2.
    assert query(db, "SELECT ticket_id, ticket_type, region, area, resolution_hours FROM ticket_facts ORDER BY 1") == [
        ("T1", "repair", "杭州", "urban", 2.0), ("T2", "complaint", "宁波", "rural", None)]


def test_working_day_calendar_knows_holidays_and_adjusted_working_days():
    cal = working_day_calendar(dt.date(2024, 1, 1), dt.date(2026, 12, 31)).set_index("day")
    assert not cal.loc[dt.date(2024, 10, 1), "is_workday"]      # National Day
    assert cal.loc[dt.date(2024, 2, 4), "is_workday"]           # Sunday worked before Spring Festival
    assert not cal.loc[dt.date(2025, 1, 29), "is_workday"]      # Spring Festival 2025
    assert cal.loc[dt.date(2025, 9, 28), "is_workday"]          # Sunday worked before National Day 2025
    assert not cal.loc[dt.date(2026, 1, 1), "is_workday"]       # New Year 2026
    assert cal.loc[dt.date(2026, 2, 14), "is_workday"]          # Saturday worked before Spring Festival 2026
    assert not cal.loc[dt.date(2026, 2, 17), "is_workday"]      # Spring Festival 2026
    assert cal.loc[dt.date(2026, 3, 2), "is_workday"] and cal.loc[dt.date(2026, 3, 2), "source"] == OFFICIAL
    # workday_number counts working days: Fri 2026-02-13 and the worked Sat 2026-02-14 are consecutive
    assert cal.loc[dt.date(2026, 2, 14), "workday_number"] - cal.loc[dt.date(2026, 2, 13), "workday_number"] == 1


def test_calendar_falls_back_to_weekdays_for_years_without_a_notice():
    cal = working_day_calendar(dt.date(2099, 5, 1), dt.date(2099, 5, 3)).set_index("day")
    assert cal["is_workday"].tolist() == [True, False, False]   # Fri, Sat, Sun
    assert set(cal["source"]) == {WEEKDAYS_ONLY}


def test_demo_is_deterministic_and_loads_without_rejects(tmp_path):
    from ingest.demo import generate

    a = generate(tmp_path / "a", customers=300, seed=3, end_month=dt.date(2026, 10, 1))
    b = generate(tmp_path / "b", customers=300, seed=3, end_month=dt.date(2026, 10, 1))
    for x, y in zip(a, b):
        if x.suffix == ".csv":
            assert x.read_bytes() == y.read_bytes(), x.name
        else:
            assert pd.read_excel(x, engine="calamine").equals(pd.read_excel(y, engine="calamine")), x.name
    assert {p.suffix for p in a} == {".csv", ".xlsx"}
    report = load([tmp_path / "a"], tmp_path / "w.duckdb")
    assert all(f.rejected == 0 and f.read > 0 for f in report.files)
    assert {f.encoding for f in report.files if f.encoding} == {"gb18030", "utf-8", "utf-8-sig", "utf-16"}


def test_a_demo_larger_than_a_block_is_drawn_block_by_block_and_loads_as_one(tmp_path, monkeypatch):
    """A 3 M demo cannot be drawn at once in 24 GiB: it is drawn in blocks. Here blocks of 200 for 450 customers:
    the first block is exactly the 200-customer demo of the same seed, the ids run on across blocks, and the load
    reads the Excel parts (surveys_2.xlsx, ...) as the same tables."""
    from ingest import demo

    monkeypatch.setattr(demo, "BLOCK_CUSTOMERS", 200)
    end = dt.date(2026, 10, 1)
    small = demo.generate(tmp_path / "small", customers=200, seed=3, end_month=end)
    large = demo.generate(tmp_path / "large", customers=450, seed=3, end_month=end)
    assert {p.name for p in large} - {p.name for p in small} == {
        "surveys_2.xlsx", "surveys_3.xlsx", "account_events_2.xlsx", "account_events_3.xlsx"}
    bills_small = pd.read_csv(tmp_path / "small" / "billing.csv")
    bills_large = pd.read_csv(tmp_path / "large" / "billing.csv")
    first_block = bills_large[bills_large["customer_id"] <= "C0000200"].reset_index(drop=True)
    assert first_block.equals(bills_small)
    customers = pd.read_csv(tmp_path / "large" / "客户档案.csv", encoding="gb18030")["客户编号"]
    assert customers.tolist() == [f"C{i:07d}" for i in range(1, 451)]
    tickets = pd.read_csv(tmp_path / "large" / "tickets.csv")["ticket_id"]
    assert tickets.tolist() == [f"T{i:09d}" for i in range(1, len(tickets) + 1)]
    report = load([tmp_path / "large"], tmp_path / "w.duckdb")
    assert all(f.rejected == 0 for f in report.files)
    assert report.tables()["customers"]["loaded"] == 450
    surveys = sum(len(pd.read_excel(p, engine="calamine")) for p in large if p.name.startswith("surveys"))
    assert report.tables()["surveys"]["loaded"] == surveys


def test_cli_reports_json_and_exits_non_zero_when_nothing_committed(tmp_path):
    folder = minimal_exports(tmp_path / "in")
    ok = subprocess.run([sys.executable, "-m", "ingest", "load", str(folder), "--db", str(tmp_path / "w.duckdb"),
                         "--report", str(tmp_path / "r.json")], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "customers" in ok.stdout and "loaded" in ok.stdout
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["ok"] is True
    assert report["tables"]["tickets"] == {"read": 2, "loaded": 2, "rejected": 0, "superseded": 0, "skipped": 0}
    write(folder, "billing.csv", "customer_id,amount\nC1,5\n")
    failed = subprocess.run([sys.executable, "-m", "ingest", "load", str(folder), "--db", str(tmp_path / "w.duckdb")],
                            cwd=ROOT, capture_output=True, text=True)
    assert failed.returncode == 1
    assert "billing.csv" in failed.stderr and "period" in failed.stderr


def test_outdated_query_model_is_refused_then_rebuilt(tmp_path):
    import metrics

    db = tmp_path / "w.duckdb"
    load([minimal_exports(tmp_path / "in")], db)
    with duckdb.connect(str(db)) as con:  # what a warehouse built by an older importer looks like
        con.execute("DROP TABLE model_info")
        con.execute("DROP TABLE tier_snapshots")
    with pytest.raises(metrics.WarehouseOutdated, match="python -m ingest rebuild --db"):
        metrics.connect(db)
    rebuilt = subprocess.run([sys.executable, "-m", "ingest", "rebuild", "--db", str(db)], cwd=ROOT,
                             capture_output=True, text=True)
    assert rebuilt.returncode == 0, rebuilt.stderr
    with metrics.connect(db) as con:
        assert metrics.model_version(con) == metrics.MODEL_VERSION
        assert con.execute("SELECT count(*) FROM customers").fetchall() == [(2,)]
        assert con.execute("SELECT count(DISTINCT as_of) FROM tier_snapshots").fetchall() == [(1,)]
