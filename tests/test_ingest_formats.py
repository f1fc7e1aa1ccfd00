"""Exports as they really come (issue 14): one test per habit, on small files written here, asserting the
values that reached the warehouse, the counts and the reasons."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingest import LoadError, load, load_mapping
from tests.conftest import write

ROOT = Path(__file__).resolve().parents[1]

CUSTOMERS = (
    "customer_id,customer_name,region,service_center,opened_on\n"
    "C1,甲钢铁,杭州,城东,2020-01-01\n"
    "C2,乙数据中心,宁波,城西,2021-03-05\n"
)
BILLING = "customer_id,period,consumption_kwh,amount_billed,amount_paid\nC1,2024-01,1000,650,650\n"
TICKETS = "ticket_id,customer_id,ticket_type,created_at\nT1,C1,repair,2024-01-05 08:00\n"


def exports(folder: Path, **files: str) -> Path:
    """customers, billing and tickets CSVs (UTF-8), with any of them replaced by the keyword's text."""
    texts = {"customers.csv": CUSTOMERS, "billing.csv": BILLING, "tickets.csv": TICKETS}
    texts.update({f"{name}.csv": text for name, text in files.items()})
    for name, text in texts.items():
        if text is not None:
            write(folder, name, text)
    return folder


def query(db: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def file_report(report, name: str):
    return next(f for f in report.files if f.file == name)


def rejects(db: Path, table: str) -> list[tuple]:
    return query(db, "SELECT line, reason FROM rejects WHERE table_name = ? ORDER BY line", [table])


# 1. Header not on line 1 ------------------------------------------------------------------------------------------

def test_header_below_a_title_row_and_blank_lines_is_found_and_reported(tmp_path):
    folder = exports(tmp_path / "in", customers=None)
    text = ("国网XX供电公司 客户档案 导出时间:2026-11-30\n\n"
            "客户编号,客户名称,供电单位,供电所,立户日期\n"       # line 3
            "C1,甲钢铁,杭州,城东,2020-01-01\n"
            "C2,乙数据中心,宁波,城西,2021-13-05\n")            # line 5: a bad date, reported on its physical line
    write(folder, "客户档案.csv", text, "gb18030")
    db = tmp_path / "w.duckdb"
    report = load([folder], db)
    f = file_report(report, "客户档案.csv")
    assert (f.header_line, f.read, f.loaded, f.rejected) == (3, 2, 1, 1)
    assert "header taken from line 3" in f.notes()
    assert query(db, "SELECT customer_id, customer_name, region FROM customers") == [("C1", "甲钢铁", "杭州")]
    assert rejects(db, "customers")[0][0] == 5


def test_blank_lines_before_the_header_are_no_traceback(tmp_path):
    folder = exports(tmp_path / "in", customers="\n\n" + CUSTOMERS)
    report = load([folder], tmp_path / "w.duckdb")
    f = file_report(report, "customers.csv")
    assert (f.header_line, f.loaded) == (3, 2)


def test_excel_title_rows_above_the_header(tmp_path):
    import openpyxl

    folder = exports(tmp_path / "in", customers=None)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["国网XX供电公司 客户档案"])
    sheet.append([])
    sheet.append(["客户编号", "供电单位", "供电所", "立户日期"])   # row 3
    sheet.append(["C1", "杭州", "城东", dt.date(2020, 1, 1)])
    sheet.append(["C2", "宁波", "城西", dt.date(2021, 3, 5)])
    book.save(folder / "customers.xlsx")
    db = tmp_path / "w.duckdb"
    f = file_report(load([folder], db), "customers.xlsx")
    assert (f.sheet, f.header_line, f.loaded) == ("Sheet", 3, 2)
    assert query(db, "SELECT opened_on FROM customers ORDER BY 1") == [(dt.date(2020, 1, 1),), (dt.date(2021, 3, 5),)]


# 2. Rows that are not records -------------------------------------------------------------------------------------

def test_totals_row_is_skipped_and_reported_and_empty_rows_are_not_records(tmp_path):
    billing = ("customer_id,period,consumption_kwh,amount_billed\n"
               "C1,2024-01,1000,650\n"
               ",,,\n"                       # line 3: every cell empty
               "\n"                          # line 4: blank line
               "C2,2024-01,500,300\n"
               "合计,,1500,950\n")            # line 6: totals row
    db = tmp_path / "w.duckdb"
    report = load([exports(tmp_path / "in", billing=billing)], db)
    f = file_report(report, "billing.csv")
    assert (f.read, f.loaded, f.rejected, f.skipped, f.empty_rows) == (2, 2, 0, 1, 2)
    assert f.skipped_rows == [{"line": 6, "reason": "totals row ('合计'), not a record"}]
    assert report.tables()["billing"]["skipped"] == 1
    assert query(db, "SELECT sum(amount_billed), count(*) FROM billing") == [(950.0, 2)]
    assert rejects(db, "billing") == []


@pytest.mark.parametrize("word", ["总计", "小计", "合 计：", "Total"])
def test_other_totals_words(tmp_path, word):
    billing = BILLING + f"{word},,1000,650,650\n"
    f = file_report(load([exports(tmp_path / "in", billing=billing)], tmp_path / "w.duckdb"), "billing.csv")
    assert (f.loaded, f.skipped, f.rejected) == (1, 1, 0)


# 3. Dates and times -----------------------------------------------------------------------------------------------

TIMESTAMPS = {
    "2024/3/1": dt.datetime(2024, 3, 1),
    "2024/3/1 8:05": dt.datetime(2024, 3, 1, 8, 5),
    "2024-03-01 08:05:03.123": dt.datetime(2024, 3, 1, 8, 5, 3, 123000),
    "2024/03/01 08:05:03.123": dt.datetime(2024, 3, 1, 8, 5, 3, 123000),
    "2024-03-01T08:05:03": dt.datetime(2024, 3, 1, 8, 5, 3),
    "2024年3月1日": dt.datetime(2024, 3, 1),
    "2024年3月1日 08:05:03": dt.datetime(2024, 3, 1, 8, 5, 3),
    "20240301": dt.datetime(2024, 3, 1),
}


def test_every_listed_date_and_time_format_reads_as_the_moment_it_is(tmp_path):
    rows = "".join(f"T{i},C1,repair,{text}\n" for i, text in enumerate(TIMESTAMPS))
    db = tmp_path / "w.duckdb"
    load([exports(tmp_path / "in", tickets="ticket_id,customer_id,ticket_type,created_at\n" + rows)], db)
    got = dict(query(db, "SELECT ticket_id, created_at FROM tickets"))
    assert got == {f"T{i}": moment for i, moment in enumerate(TIMESTAMPS.values())}


def test_customer_dates_in_chinese_and_compact_forms(tmp_path):
    customers = ("customer_id,region,service_center,opened_on,closed_on\n"
                 "C1,杭州,城东,2020年1月2日,20240301\n"
                 "C2,宁波,城西,2021/3/5,2024-03-01T00:00:00\n")
    db = tmp_path / "w.duckdb"
    load([exports(tmp_path / "in", customers=customers)], db)
    assert query(db, "SELECT customer_id, opened_on, closed_on FROM customers ORDER BY 1") == [
        ("C1", dt.date(2020, 1, 2), dt.date(2024, 3, 1)), ("C2", dt.date(2021, 3, 5), dt.date(2024, 3, 1))]


def test_two_digit_year_is_rejected_naming_the_column_unless_a_mapping_declares_it(tmp_path):
    tickets = "ticket_id,customer_id,ticket_type,created_at\nT1,C1,repair,21-7-27 08:00\nT2,C1,repair,2021-07-27\n"
    db = tmp_path / "w.duckdb"
    load([exports(tmp_path / "in", tickets=tickets)], db)
    assert rejects(db, "tickets") == [(2, "created_at '21-7-27 08:00' has a two-digit year; write the year with "
                                          "four digits, or declare the format in a mapping file "
                                          "([tables.tickets.formats])")]
    assert query(db, "SELECT ticket_id FROM tickets") == [("T2",)]
    mapping = write(tmp_path, "map.toml", '[tables.tickets.formats]\ncreated_at = ["%y-%m-%d %H:%M", "%Y-%m-%d"]\n')
    load([tmp_path / "in"], db, mapping=load_mapping(mapping))
    assert query(db, "SELECT ticket_id, created_at FROM tickets ORDER BY 1") == [
        ("T1", dt.datetime(2021, 7, 27, 8, 0)), ("T2", dt.datetime(2021, 7, 27))]


def test_no_date_outside_1900_to_2100_is_loaded(tmp_path):
    billing = ("customer_id,period,amount_billed\nC1,4526-01,10\nC1,1899-12,10\nC1,2024-01,10\n")
    customers = CUSTOMERS.replace("2021-03-05", "2101-01-01")
    db = tmp_path / "w.duckdb"
    load([exports(tmp_path / "in", billing=billing, customers=customers)], db)
    assert rejects(db, "billing")[:2] == [
        (2, "period '4526-01' is outside the years 1900-2100; check the export (an Excel serial number or a typing error?)"),
        (3, "period '1899-12' is outside the years 1900-2100; check the export (an Excel serial number or a typing error?)")]
    assert rejects(db, "customers") == [
        (3, "opened_on '2101-01-01' is outside the years 1900-2100; check the export (an Excel serial number or a "
            "typing error?)")]
    assert query(db, "SELECT period FROM billing") == [(dt.date(2024, 1, 1),)]


def test_excel_date_cells_and_serial_numbers_read_as_the_dates_they_are(tmp_path):
    import openpyxl

    folder = exports(tmp_path / "in", tickets=None, billing=None)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "工单"
    sheet.append(["工单编号", "客户编号", "业务类型", "受理时间", "归档时间"])
    sheet.append(["T1", "C1", "报修", dt.datetime(2024, 3, 1, 8, 5, 3), 45352.5])   # serial 45352.5 = 2024-03-01 12:00
    sheet.append(["T2", "C1", "报修", 45352.337, None])                             # 0.337 day = 8:05:16.800
    sheet.append(["T3", "C1", "报修", 45352, None])                                 # a whole serial is midnight
    book.save(folder / "tickets.xlsx")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["customer_id", "period", "amount_billed"])
    sheet.append(["C1", dt.date(2024, 3, 15), 10])     # a date cell: its month
    sheet.append(["C2", 45366, 20])                    # serial 45366 = 2024-03-15
    sheet.append(["C1", "202404", 30])
    book.save(folder / "billing.xlsx")
    db = tmp_path / "w.duckdb"
    load([folder], db)
    assert query(db, "SELECT ticket_id, created_at, resolved_at FROM tickets ORDER BY 1") == [
        ("T1", dt.datetime(2024, 3, 1, 8, 5, 3), dt.datetime(2024, 3, 1, 12, 0)),
        ("T2", dt.datetime(2024, 3, 1, 8, 5, 16, 800000), None),
        ("T3", dt.datetime(2024, 3, 1), None)]
    assert query(db, "SELECT customer_id, period, amount_billed FROM billing ORDER BY 1, 2") == [
        ("C1", dt.date(2024, 3, 1), 10.0), ("C1", dt.date(2024, 4, 1), 30.0), ("C2", dt.date(2024, 3, 1), 20.0)]


def test_a_bare_number_in_a_csv_date_column_is_not_taken_for_an_excel_serial(tmp_path):
    tickets = "ticket_id,customer_id,ticket_type,created_at\nT1,C1,repair,45352\n"
    db = tmp_path / "w.duckdb"
    load([exports(tmp_path / "in", tickets=tickets)], db)
    assert rejects(db, "tickets")[0][1].startswith("created_at '45352' ")
    assert query(db, "SELECT count(*) FROM tickets") == [(0,)]


# 4. Billing period ------------------------------------------------------------------------------------------------

def test_billing_period_formats(tmp_path):
    periods = ["202403", "2024-04", "2024年05月", "2024年6月", "2024-07-15", "2024/8"]
    billing = "customer_id,period,amount_billed\n" + "".join(f"C1,{p},1\n" for p in periods)
    db = tmp_path / "w.duckdb"
    load([exports(tmp_path / "in", billing=billing)], db)
    assert [r[0] for r in query(db, "SELECT period FROM billing ORDER BY 1")] == [
        dt.date(2024, m, 1) for m in range(3, 9)]


# 5. Money and quantities ------------------------------------------------------------------------------------------

def test_money_with_separators_and_currency_marks(tmp_path):
    billing = ("客户编号,电费年月,电量,应收电费,实收电费\n"
               'C1,2024-01,"86,401","45,630.10",¥53991.72\n'
               'C2,2024-01,100,54918.46元,"¥53,991.72"\n'
               "C2,2024-02,100,-5,0\n")
    db = tmp_path / "w.duckdb"
    load([exports(tmp_path / "in", billing=billing)], db)
    assert query(db, "SELECT customer_id, consumption_kwh, amount_billed, amount_paid FROM billing ORDER BY 1") == [
        ("C1", 86401.0, 45630.10, 53991.72), ("C2", 100.0, 54918.46, 53991.72)]
    assert rejects(db, "billing") == [(4, "应收电费 (amount_billed) -5.0 is negative")]


def test_wan_yuan_and_wan_kwh_headers_are_scaled_and_the_report_says_so(tmp_path):
    billing = ("客户编号,电费年月,电量(万千瓦时),应收电费(万元),实收电费（元）\n"
               "C1,2024-01,8.6401,5.3991,53991\n")
    db = tmp_path / "w.duckdb"
    report = load([exports(tmp_path / "in", billing=billing)], db)
    # 8.6401 万千瓦时 = 86,401 kWh and 5.3991 万元 = 53,991 yuan, exactly (scaled in decimal)
    assert query(db, "SELECT consumption_kwh, amount_billed, amount_paid FROM billing") == [(86401.0, 53991.0, 53991.0)]
    assert file_report(report, "billing.csv").scaled == [
        "consumption_kwh: values in 万千瓦时 (header '电量(万千瓦时)') were multiplied by 10,000",
        "amount_billed: values in 万元 (header '应收电费(万元)') were multiplied by 10,000"]


def test_a_mapping_file_declares_the_unit(tmp_path):
    mapping = write(tmp_path, "map.toml", '[tables.billing.units]\namount_billed = "万元"\n')
    db = tmp_path / "w.duckdb"
    report = load([exports(tmp_path / "in", billing="customer_id,period,amount_billed\nC1,2024-01,1.25\n")], db,
                  mapping=load_mapping(mapping))
    assert query(db, "SELECT amount_billed FROM billing") == [(12500.0,)]
    assert file_report(report, "billing.csv").scaled == [
        "amount_billed: values in 万元 (the mapping file) were multiplied by 10,000"]


# 6. Ids that Excel mangled ----------------------------------------------------------------------------------------

def test_an_id_in_scientific_notation_is_rejected_saying_excel_shortened_it(tmp_path):
    customers = CUSTOMERS + "3.3010E+11,丙,杭州,城东,2020-01-01\n"
    db = tmp_path / "w.duckdb"
    load([exports(tmp_path / "in", customers=customers)], db)
    assert rejects(db, "customers") == [
        (4, "customer_id '3.3010E+11' is in scientific notation: Excel shortened the id when the file was saved, so "
            "its digits are lost; format the column as text in Excel and export again")]


def test_a_long_numeric_id_in_an_excel_cell_is_never_rounded_silently(tmp_path):
    import openpyxl

    folder = exports(tmp_path / "in", customers=None)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["customer_id", "region", "service_center", "opened_on"])
    sheet.append([330100000001, "杭州", "城东", "2020-01-01"])            # 12 digits: a float holds them exactly
    sheet.append([1008901000140050014100, "杭州", "城东", "2020-01-01"])  # 22 digits: the cell lost some
    book.save(folder / "customers.xlsx")
    db = tmp_path / "w.duckdb"
    load([folder], db)
    assert query(db, "SELECT customer_id FROM customers") == [("330100000001",)]
    assert "scientific notation: Excel shortened the id" in rejects(db, "customers")[0][1]


def test_an_id_that_lost_its_leading_zeros_names_the_padded_id(tmp_path):
    customers = CUSTOMERS + "0012345,丙,杭州,城东,2020-01-01\n"
    billing = BILLING + "12345,2024-01,1,1,1\n"
    db = tmp_path / "w.duckdb"
    load([exports(tmp_path / "in", customers=customers, billing=billing)], db)
    assert rejects(db, "billing") == [
        (3, "customer_id '12345' is not in customers, but '0012345' is: the leading zeros were probably lost "
            "(format the column as text in Excel and export again)")]


# 7. Knock-on rejects ----------------------------------------------------------------------------------------------

def test_a_row_whose_customer_was_rejected_says_where_and_why(tmp_path):
    customers = CUSTOMERS + "C7,丙,杭州,城东,2020-13-01\n"
    tickets = TICKETS + "T2,C7,repair,2024-01-05 09:00\n"
    db = tmp_path / "w.duckdb"
    load([exports(tmp_path / "in", customers=customers, tickets=tickets)], db)
    assert rejects(db, "tickets") == [
        (3, "customer_id 'C7' is not in customers: it was rejected there (customers.csv line 4: opened_on "
            "'2020-13-01' is not a date (use YYYY-MM-DD, YYYY/M/D, YYYYMMDD or YYYY年M月D日))")]


# 8. Excel sheets --------------------------------------------------------------------------------------------------

def test_a_notes_sheet_first_is_passed_over_and_the_report_names_the_sheet(tmp_path):
    import openpyxl

    folder = exports(tmp_path / "in", customers=None)
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["本表为客户档案导出，请勿修改表头"])
    data = book.create_sheet("客户清单")
    data.append(["客户编号", "供电单位", "供电所", "立户日期"])
    data.append(["C1", "杭州", "城东", "2020-01-01"])
    book.save(folder / "客户档案.xlsx")
    f = file_report(load([folder], tmp_path / "w.duckdb"), "客户档案.xlsx")
    assert (f.sheet, f.sheets, f.loaded) == ("客户清单", ["说明", "客户清单"], 1)
    assert "sheet '客户清单' read (sheets in the workbook: 说明, 客户清单)" in f.notes()


def test_no_sheet_with_the_table_is_an_error_naming_the_sheets(tmp_path):
    import openpyxl

    folder = exports(tmp_path / "in", customers=None)
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["导出说明"])
    book.create_sheet("汇总").append(["地市", "户数"])
    book.save(folder / "customers.xlsx")
    with pytest.raises(LoadError, match="customers.xlsx: no sheet has a header row with the columns of table "
                                        "'customers'; sheets read: 说明, 汇总"):
        load([folder], tmp_path / "w.duckdb")


def test_old_xls_workbooks_still_load(tmp_path):
    import xlwt  # writes .xls (a test tool, in requirements-dev.txt); the importer reads it with calamine

    folder = exports(tmp_path / "in", customers=None)
    book = xlwt.Workbook()
    sheet = book.add_sheet("客户")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for col, header in enumerate(["客户编号", "供电单位", "供电所", "立户日期"]):
        sheet.write(0, col, header)
    for row, (cid, opened) in enumerate([("C1", dt.date(2020, 1, 1)), ("C2", dt.date(2021, 3, 5))], start=1):
        sheet.write(row, 0, cid)
        sheet.write(row, 1, "杭州")
        sheet.write(row, 2, "城东")
        sheet.write(row, 3, opened, date_style)
    book.save(str(folder / "customers.xls"))
    db = tmp_path / "w.duckdb"
    f = file_report(load([folder], db), "customers.xls")
    assert (f.sheet, f.loaded) == ("客户", 2)
    assert query(db, "SELECT customer_id, opened_on FROM customers ORDER BY 1") == [
        ("C1", dt.date(2020, 1, 1)), ("C2", dt.date(2021, 3, 5))]


# 9. The same records in two files of one load ---------------------------------------------------------------------

def test_the_later_export_wins_and_the_report_counts_superseded_rows(tmp_path):
    folder = exports(tmp_path / "in", billing=None)
    october = write(folder, "billing_2024-10.csv", "customer_id,period,amount_billed,amount_paid\n"
                                                   "C1,2024-09,100,0\nC1,2024-10,200,0\n")
    november = write(folder, "billing_2024-11.csv", "customer_id,period,amount_billed,amount_paid\n"
                                                    "C1,2024-09,100,100\nC1,2024-10,200,150\nC1,2024-11,300,0\n")
    os.utime(october, (1_700_000_000, 1_700_000_000))
    os.utime(november, (1_700_086_400, 1_700_086_400))   # exported a day later
    db = tmp_path / "w.duckdb"
    report = load([folder], db)
    old, new = file_report(report, "billing_2024-10.csv"), file_report(report, "billing_2024-11.csv")
    assert (old.read, old.loaded, old.rejected, old.superseded, old.superseded_by) == (2, 0, 0, 2, ["billing_2024-11.csv"])
    assert (new.read, new.loaded, new.rejected, new.superseded) == (3, 3, 0, 0)
    assert report.tables()["billing"] == {"read": 5, "loaded": 3, "rejected": 0, "superseded": 2, "skipped": 0}
    assert query(db, "SELECT period, amount_paid FROM billing ORDER BY 1") == [
        (dt.date(2024, 9, 1), 100.0), (dt.date(2024, 10, 1), 150.0), (dt.date(2024, 11, 1), 0.0)]
    assert rejects(db, "billing") == []
    # given the other way round (November's file older), November's state is the one superseded
    os.utime(october, (1_700_172_800, 1_700_172_800))
    report = load([folder], db)
    assert file_report(report, "billing_2024-11.csv").superseded == 2
    assert query(db, "SELECT period, amount_paid FROM billing ORDER BY 1")[:2] == [
        (dt.date(2024, 9, 1), 0.0), (dt.date(2024, 10, 1), 0.0)]


def test_a_key_twice_in_one_file_is_still_a_duplicate(tmp_path):
    billing = BILLING + "C1,2024-01,5,5,5\n"
    db = tmp_path / "w.duckdb"
    load([exports(tmp_path / "in", billing=billing)], db)
    assert rejects(db, "billing") == [(3, "duplicate customer_id, period 'C1/2024-01-01' (first on line 2 of billing.csv)")]


# 10. Line numbers -------------------------------------------------------------------------------------------------

def test_line_numbers_are_physical_lines_after_a_quoted_line_break(tmp_path):
    tickets = ("ticket_id,customer_id,ticket_type,category,created_at\n"
               'T1,C1,complaint,"电压低\r\n多次反映",2024-01-05 08:00\n'     # lines 2-3
               "T2,C1,complaint,停电,2024-13-05 08:00\n"                    # line 4
               "T3,C1,complaint,停电\n"                                     # line 5: a field short
               "T4,C404,complaint,停电,2024-01-05 08:00\n")                 # line 6
    db = tmp_path / "w.duckdb"
    load([exports(tmp_path / "in", tickets=tickets)], db)
    assert [line for line, _ in rejects(db, "tickets")] == [4, 5, 6]
    assert query(db, "SELECT category FROM tickets") == [("电压低\r\n多次反映",)]


# 11. Two headers mapping to one column ----------------------------------------------------------------------------

def test_the_exact_header_wins_and_the_report_warns_about_the_other(tmp_path):
    customers = ("户号,客户编号,供电单位,供电所,立户日期,运行容量,合同容量\n"
                 "H1,C1,杭州,城东,2020-01-01,800,1000\n")
    db = tmp_path / "w.duckdb"
    report = load([exports(tmp_path / "in", customers=customers)], db)
    f = file_report(report, "customers.csv")
    assert query(db, "SELECT customer_id, contract_capacity_kva FROM customers") == [("C1", 1000.0)]
    assert f.header_notes == ["headers '客户编号' and '户号' both mean customer_id; '客户编号' was used and '户号' "
                              "ignored (name the right one in a mapping file if that is wrong)"]
    # 运行容量 is operating capacity, not contract capacity: not read as it at all
    assert "运行容量" in f.ignored_columns


# 12. Mapping files that real sources need -------------------------------------------------------------------------

MAPPING_311 = """
[tables.tickets]
files = ["311_*.csv"]
[tables.tickets.columns]
"Unique Key" = "ticket_id"
"Account" = "customer_id"
"Created Date" = "created_at"
"Closed Date" = "resolved_at"
"Open Data Channel Type" = "channel"
[tables.tickets.formats]
created_at = "%m/%d/%Y %I:%M:%S %p"
resolved_at = "%m/%d/%Y %I:%M:%S %p"
[tables.tickets.values.channel]
MOBILE = "online"
PHONE = "hotline"
[tables.tickets.constants]
ticket_type = "complaint"
"""


def test_mapping_formats_values_and_constants(tmp_path):
    folder = exports(tmp_path / "in", tickets=None)
    write(folder, "311_noise.csv",
          "Unique Key,Account,Created Date,Closed Date,Open Data Channel Type\n"
          "42254749,C1,04/18/2019 09:55:45 PM,04/19/2019 03:45:24 AM,PHONE\n"
          "33913755,C1,07/23/2016 10:09:54 AM,07/23/2016 03:10:37 PM,MOBILE\n"
          "18556060,C2,08/25/2010 12:00:00 AM,,UNKNOWN\n")
    mapping = write(tmp_path, "map.toml", MAPPING_311)
    db = tmp_path / "w.duckdb"
    report = load([folder], db, mapping=load_mapping(mapping))
    f = file_report(report, "311_noise.csv")
    assert (f.read, f.loaded, f.rejected) == (3, 3, 0)
    assert query(db, "SELECT ticket_id, ticket_type, channel, created_at, resolved_at FROM tickets ORDER BY 1") == [
        ("18556060", "complaint", None, dt.datetime(2010, 8, 25, 0, 0), None),
        ("33913755", "complaint", "online", dt.datetime(2016, 7, 23, 10, 9, 54), dt.datetime(2016, 7, 23, 15, 10, 37)),
        ("42254749", "complaint", "hotline", dt.datetime(2019, 4, 18, 21, 55, 45), dt.datetime(2019, 4, 19, 3, 45, 24))]
    # the unknown channel is left empty and counted, the row is loaded
    assert f.warnings == [{"message": "Open Data Channel Type (channel) 'UNKNOWN' is not one of hotline, online, "
                                      "counter, account_manager, visit (left empty)", "rows": 1}]


def test_value_translations_into_a_required_enum(tmp_path):
    mapping = write(tmp_path, "map.toml", '[tables.tickets.values.ticket_type]\n"Noise - Residential" = "complaint"\n')
    tickets = ("ticket_id,customer_id,ticket_type,created_at\nT1,C1,Noise - Residential,2024-01-05 08:00\n"
               "T2,C1,Graffiti,2024-01-05 08:00\n")
    db = tmp_path / "w.duckdb"
    load([exports(tmp_path / "in", tickets=tickets)], db, mapping=load_mapping(mapping))
    assert query(db, "SELECT ticket_id, ticket_type FROM tickets") == [("T1", "complaint")]
    # a required field is never left empty: the row is rejected
    assert rejects(db, "tickets") == [(3, "ticket_type 'Graffiti' is not one of repair, connection, billing, inquiry, "
                                          "complaint, suggestion, praise")]


def test_mapping_file_mistakes_are_errors_naming_the_key(tmp_path):
    for text, message in (
            ('[tables.tickets.values.channel]\nMOBILE = "app"\n', r"\['app'\] are not values of channel"),
            ('[tables.tickets.formats]\nticket_type = "%Y"\n', "'ticket_type' is not a date, timestamp or month"),
            ('[tables.billing.units]\namount_billed = "千元"\n', "unknown unit '千元'"),
            ('[tables.tickets.constants]\nsource = "x"\n', "unknown column 'source'")):
        mapping = write(tmp_path, "map.toml", text)
        with pytest.raises(LoadError, match=message):
            load_mapping(mapping)


# The load report ---------------------------------------------------------------------------------------------------

def test_cli_report_shows_header_line_skipped_rows_warnings_and_scalings(tmp_path):
    billing = "电费明细 2024年1月\n客户编号,电费年月,应收电费(万元)\nC1,2024-01,1.5\n合计,,1.5\n"
    tickets = "ticket_id,customer_id,ticket_type,channel,created_at\nT1,C1,repair,信鸽,2024-01-05 08:00\n"
    folder = exports(tmp_path / "in", billing=billing, tickets=tickets)
    out = subprocess.run([sys.executable, "-m", "ingest", "load", str(folder), "--db", str(tmp_path / "w.duckdb"),
                          "--report", str(tmp_path / "r.json")], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "header taken from line 2" in out.stdout
    assert "1 row(s) skipped as not records: line 4: totals row ('合计'), not a record" in out.stdout
    assert "amount_billed: values in 万元 (header '应收电费(万元)') were multiplied by 10,000" in out.stdout
    assert "1 row(s) loaded with the field left empty: channel '信鸽' is not one of" in out.stdout
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    billing_file = next(f for f in report["files"] if f["file"] == "billing.csv")
    assert (billing_file["header_line"], billing_file["skipped"], billing_file["read"]) == (2, 1, 1)
    assert report["tables"]["billing"] == {"read": 1, "loaded": 1, "rejected": 0, "superseded": 0, "skipped": 1}


def test_the_readme_mapping_example_is_a_valid_mapping_file(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Loading real exports"):readme.index("## Sign-in")]
    block = section[section.index("    [tables.tickets]\n"):]
    lines = []
    for line in block.splitlines():
        if not line.startswith("    ") and line.strip():
            break
        lines.append(line[4:])
    mapping = load_mapping(write(tmp_path, "example.toml", "\n".join(lines)))
    tickets = mapping.for_table("tickets")
    assert (tickets.files, tickets.sheet, tickets.constants) == (("311_*.csv",), "工单", {"ticket_type": "complaint"})
    assert tickets.formats_for("created_at") == ["%m/%d/%Y %I:%M:%S %p"]
    assert mapping.for_table("customers").formats_for("opened_on") == ["%y-%m-%d", "%Y-%m-%d"]
    assert mapping.for_table("billing").units == {"amount_billed": "万元"}


def test_files_written_together_are_taken_in_name_order(tmp_path):
    # uploaded or copied together, modification times say nothing: billing_2024-11 is the later export by name
    folder = exports(tmp_path / "in", billing=None)
    november = write(folder, "billing_2024-11.csv", "customer_id,period,amount_paid\nC1,2024-10,150\n")
    october = write(folder, "billing_2024-10.csv", "customer_id,period,amount_paid\nC1,2024-10,0\n")
    os.utime(november, (1_700_000_000, 1_700_000_000))
    os.utime(october, (1_700_000_001, 1_700_000_001))
    db = tmp_path / "w.duckdb"
    report = load([folder], db)
    assert file_report(report, "billing_2024-10.csv").superseded == 1
    assert query(db, "SELECT amount_paid FROM billing") == [(150.0,)]


def test_no_header_row_found_says_so(tmp_path):
    folder = exports(tmp_path / "in", customers="国网XX供电公司 客户档案\n用户,地区\nC1,杭州\n")
    with pytest.raises(LoadError, match=r"customers.csv: cannot load as table 'customers': missing required column\(s\) "
                                        r"customer_id, region, service_center, opened_on. Headers found \(header on line "
                                        r"1; none of the first 20 rows names them all, so the first was taken\): "
                                        "国网XX供电公司 客户档案"):
        load([folder], tmp_path / "w.duckdb")


def test_a_named_sheet_without_the_columns_is_an_error_naming_the_sheet_read_and_the_sheets(tmp_path):
    import openpyxl

    folder = exports(tmp_path / "in", customers=None)
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["导出说明"])
    book.create_sheet("客户").append(["客户编号", "供电单位"])
    book.save(folder / "customers.xlsx")
    mapping = write(tmp_path, "map.toml", '[tables.customers]\nsheet = "客户"\n')
    with pytest.raises(LoadError, match=r"customers.xlsx: cannot load as table 'customers': missing required "
                                        r"column\(s\) service_center, opened_on. Headers found \(header on line 1 of "
                                        r"sheet '客户'; sheets in the workbook: 说明, 客户; none of the first 20 rows"):
        load([folder], tmp_path / "w.duckdb", mapping=load_mapping(mapping))


def test_a_later_row_that_is_rejected_does_not_supersede_the_earlier_one(tmp_path):
    folder = exports(tmp_path / "in", tickets=None)
    october = write(folder, "tickets_2024-10.csv", "ticket_id,customer_id,ticket_type,created_at\nT1,C1,repair,2024-10-05 08:00\n")
    november = write(folder, "tickets_2024-11.csv", "ticket_id,customer_id,ticket_type,created_at\nT1,C9,repair,2024-10-05 08:00\n")
    os.utime(october, (1_700_000_000, 1_700_000_000))
    os.utime(november, (1_700_086_400, 1_700_086_400))
    db = tmp_path / "w.duckdb"
    report = load([folder], db)
    assert (file_report(report, "tickets_2024-10.csv").loaded, file_report(report, "tickets_2024-10.csv").superseded) == (1, 0)
    assert query(db, "SELECT ticket_id, customer_id FROM tickets") == [("T1", "C1")]
    assert rejects(db, "tickets") == [(2, "customer_id 'C9' is not in customers")]


@pytest.mark.parametrize(("cell", "number"), [
    # a plain number, cast as it is
    ("1234.5", 1234.5), ("-2", -2.0), ("+3", 3.0), ("1e3", 1000.0), (".5", 0.5),
    # separators, currency and 元, which the cast refuses: cleaned first (1,234.5 -> 1234.5; ¥ 12 -> 12)
    ("1,234.5", 1234.5), ("¥ 12", 12.0), ("5元", 5.0), ("￥1，000", 1000.0), ("$7", 7.0), ("1 000", 1000.0),
    ("1_000", 1000.0),
    # neither
    ("lots", None), ("1.2.3", None), ("1,5e", None),
])
def test_a_number_reads_the_same_cast_as_it_is_or_cleaned_first(cell, number):
    from ingest.contracts import CONTRACTS
    from ingest.validate import ColumnOptions, _typed
    from metrics.query import Params

    p = Params()
    sql = _typed(CONTRACTS["billing"].column("amount_billed"), "cell", p, ColumnOptions())
    got = duckdb.connect().execute(f"SELECT {sql} FROM (SELECT CAST($cell AS VARCHAR) AS cell)",
                                   {**p.used_in(sql), "cell": cell}).fetchall()[0][0]
    assert got == number


@pytest.mark.parametrize(("cell", "expected", "is_blank"), [
    ("C0001", "C0001", False), (" C0001 ", "C0001", False), ("\u3000杭州\u3000", "杭州", False),  # ideographic space
    ("12\u00a0", "12", False), ("a\t", "a\t", False),  # a no-break space is trimmed, a tab is not (not a space separator)
    ("", "", True), ("  ", "", True), ("\u3000", "", True), (None, None, True), ("!", "!", False), ("é ", "é", False),
])
def test_cells_are_trimmed_as_duckdb_trims_them_with_or_without_calling_trim(cell, expected, is_blank):
    from ingest.validate import blank, trimmed

    con = duckdb.connect()
    assert con.execute(f"SELECT {trimmed('c')}, {blank('c')}, trim(c) FROM (SELECT CAST($c AS VARCHAR) AS c)",
                       {"c": cell}).fetchall() == [(expected, is_blank, expected)]
