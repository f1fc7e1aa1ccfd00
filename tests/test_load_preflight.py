"""Every file's header is checked before any table is loaded (issue 17), and each file's staged text is held only
while its own table loads: small real CSV and Excel files written here."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib
import os
from pathlib import Path

import duckdb
import pytest

from ingest import LoadError, load
from tests.conftest import write

load_module = importlib.import_module("ingest.load")  # `ingest.load` the name is the function

CUSTOMERS = (
    "customer_id,customer_name,region,service_center,industry,area,voltage_kv,contract_capacity_kva,opened_on,closed_on\n"
    "C1,甲钢铁有限公司,杭州,城东供电所,钢铁,urban,110,50000,2020-01-01,\n"
    "C2,乙数据中心,宁波,城西供电所,数据中心,rural,10,2000,2021-03-05,\n"
)
BILLING = "customer_id,period,consumption_kwh,amount_billed,amount_paid\nC1,2024-01,1000,650,650\nC2,2024-01,500,300,250\n"
TICKETS = (
    "ticket_id,customer_id,ticket_type,created_at,resolved_at\n"
    "T1,C1,repair,2024-01-05 08:00,2024-01-05 10:00\n"
    "T2,C2,投诉,2024-01-06 09:30:00,\n"
)
# the third table's file without its ticket_type column (customers, billing, tickets is the load's order)
TICKETS_NO_TYPE = "ticket_id,customer_id,created_at\nT1,C1,2024-01-05 08:00\n"


def good_warehouse(tmp_path: Path) -> Path:
    folder = tmp_path / "good"
    for name, text in (("customers.csv", CUSTOMERS), ("billing.csv", BILLING), ("tickets.csv", TICKETS)):
        write(folder, name, text)
    db = tmp_path / "w.duckdb"
    load([folder], db)
    return db


def fingerprint(db: Path) -> tuple[str, int, list[str]]:
    """The warehouse file's bytes and time, and what else lies beside it (a scratch folder left would show)."""
    return (hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime_ns,
            sorted(p.name for p in db.parent.iterdir() if p.name.startswith(".")))




@pytest.mark.parametrize("mode", ["replace", "append"])
def test_a_csv_of_the_third_table_without_a_required_column_refuses_the_load_before_any_file_is_staged(
        tmp_path, staged_files, mode):
    db = good_warehouse(tmp_path)
    staged_files.clear()
    before = fingerprint(db)
    folder = tmp_path / "new"
    write(folder, "customers.csv", CUSTOMERS)
    write(folder, "billing.csv", BILLING.replace("2024-01", "2024-02"))
    write(folder, "tickets.csv", TICKETS_NO_TYPE)
    with pytest.raises(LoadError) as error:
        load([folder], db, mode=mode)
    assert staged_files == []  # not even customers.csv, the first table's file, was staged
    message = str(error.value)
    assert message.startswith("tickets.csv: cannot load as table 'tickets': missing required column(s) "
                              "ticket_type. Headers found (header on line 1; none of the first 20 rows names them all, "
                              "so the first was taken): ticket_id, customer_id, created_at. ")
    # what the mapping looked for: the column's own name, then its aliases (ingest/contracts.py) in their order
    assert message.endswith("The mapping looked for: ticket_type as ticket_type, 业务类型, 工单类型, 诉求类型, type.")
    assert fingerprint(db) == before
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM loads").fetchall() == [(1,)]
        assert con.execute("SELECT period, count(*) FROM billing GROUP BY ALL").fetchall() == [(dt.date(2024, 1, 1), 2)]


def test_an_excel_file_of_the_third_table_without_a_required_column_refuses_the_load_up_front(tmp_path,
                                                                                             staged_files):
    import openpyxl

    db = good_warehouse(tmp_path)
    staged_files.clear()
    before = fingerprint(db)
    folder = tmp_path / "new"
    write(folder, "customers.csv", CUSTOMERS)
    write(folder, "billing.csv", BILLING)
    book = openpyxl.Workbook()
    book.active.title = "工单"
    book.active.append(["国网XX供电公司 服务工单"])  # a title row above the header, as exports have
    book.active.append(["工单编号", "客户编号", "工单类型"])  # header on row 2: no created_at (受理时间, …)
    book.active.append(["T1", "C1", "repair"])
    book.save(folder / "tickets.xlsx")
    with pytest.raises(LoadError) as error:
        load([folder], db)
    assert staged_files == []
    message = str(error.value)
    # no row of any sheet names all of tickets' required columns; row 2 names three of the four
    assert message == ("tickets.xlsx: no sheet has a header row with the columns of table 'tickets'; sheets read: 工单. "
                       "Name the sheet in a mapping file (sheet = \"...\") or rename the headers. Closest: row 2 of "
                       "sheet '工单', missing required column(s) created_at; the mapping looked for: created_at as "
                       "created_at, 受理时间, 创建时间, 报修时间, opened_at, created.")
    assert fingerprint(db) == before


def test_a_file_told_by_its_header_is_checked_up_front_too(tmp_path, staged_files):
    folder = tmp_path / "new"
    write(folder, "customers.csv", CUSTOMERS)
    write(folder, "billing.csv", BILLING)
    write(folder, "tickets.csv", TICKETS)
    # its name says no table, and its header is billing's without the required period: it names no table's columns
    write(folder, "导出.csv", "customer_id,consumption_kwh,amount_paid\nC1,10,5\n")
    with pytest.raises(LoadError, match=r"导出.csv: cannot tell which table this file holds\. .* Headers found: "
                                        r"customer_id, consumption_kwh, amount_paid$"):
        load([folder], tmp_path / "w.duckdb")
    assert staged_files == []
    assert not (tmp_path / "w.duckdb").exists()


def test_a_file_whose_name_says_no_table_is_staged_at_its_tables_turn_and_freed_after_it(tmp_path, monkeypatch,
                                                                                          staged_files):
    """Files are numbered in name order: 0 billing.csv, 1 customers.csv, 2 导出2.csv (tickets, told by its header,
    GB18030 so it is decoded into a scratch copy). Before each table loads, the staged tables held and the decoded
    copies in the load's scratch folder are noted: only that table's own file may be there, and no copy."""
    folder = tmp_path / "in"
    write(folder, "customers.csv", CUSTOMERS)
    write(folder, "billing.csv", BILLING)
    write(folder, "导出2.csv", TICKETS, "gb18030")
    workdirs: list[Path] = []
    real_stage = load_module.stage_file

    def stage(con, path, table, workdir, *args, **kwargs):
        workdirs.append(workdir)
        return real_stage(con, path, table, workdir, *args, **kwargs)

    monkeypatch.setattr(load_module, "stage_file", stage)
    held: dict[str, tuple[list[str], list[str]]] = {}
    real_load_table = load_module._load_table

    def load_table(con, contract, *args, **kwargs):
        tables = sorted(r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary")
                        .fetchall() if r[0].startswith("stage_"))
        copies = sorted(p.name for p in workdirs[0].glob("*.csv"))
        held[contract.name] = (tables, copies)
        return real_load_table(con, contract, *args, **kwargs)

    monkeypatch.setattr(load_module, "_load_table", load_table)
    db = tmp_path / "w.duckdb"
    report = load([folder], db)
    assert staged_files == ["customers.csv", "billing.csv", "导出2.csv"]  # each at its table's turn
    assert held == {"customers": (["stage_1"], []), "billing": (["stage_0"], []), "tickets": (["stage_2"], [])}
    assert report.tables()["tickets"]["loaded"] == 2
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT ticket_id, ticket_type FROM tickets ORDER BY 1").fetchall() == [
            ("T1", "repair"), ("T2", "complaint")]


def test_a_decoded_copy_is_removed_once_its_file_is_staged(tmp_path):
    from ingest.readers import stage_file

    path = write(tmp_path, "customers.csv", CUSTOMERS, "gb18030")
    workdir = tmp_path / "work"
    workdir.mkdir()
    with duckdb.connect() as con:
        staged = stage_file(con, path, "stage_0", workdir)
        assert staged.encoding == "gb18030" and staged.rows == 2
        assert os.listdir(workdir) == []  # the UTF-8 copy DuckDB read is gone
        # and no file descriptor holds it (its room would stay taken until the process ends)
        held = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):  # the descriptor listing the folder itself, closed by now
                held.append(os.readlink(f"/proc/self/fd/{fd}"))
        assert [link for link in held if str(workdir) in link] == []
        # the staged text is all there: both rows, their Chinese names decoded
        assert con.execute("SELECT c1 FROM stage_0 ORDER BY _line").fetchall() == [("甲钢铁有限公司",), ("乙数据中心",)]
        temporary = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
        assert temporary == {"stage_0"}  # DuckDB's rejects tables for the file were dropped too
