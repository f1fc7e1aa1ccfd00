"""Upload limits, checked before any work: an Excel zip bomb, too many columns or rows, a header too long to read
whole, duplicate file names, a mapping file's encoding and size. Every file is written by the test."""

from __future__ import annotations

import errno
import hashlib
import importlib
import io
import os
import shutil
import time
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import xlsxwriter
from streamlit.testing.v1 import AppTest

from dashboard import data
from ingest import LoadError, load, load_mapping
from ingest.limits import UploadLimits, env_name
from tests.conftest import HAND_BILLING, HAND_CUSTOMERS, HAND_TICKETS

ROOT = Path(__file__).resolve().parents[1]
LOAD_MODULE = importlib.import_module("ingest.load")  # `ingest.load` the attribute is the function
SMALL = UploadLimits(max_columns=20, max_rows=10)


@pytest.fixture
def staged(staged_files) -> list[str]:
    """The files the readers were asked to parse: a refusal before the work leaves it empty."""
    return staged_files


def exports(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("customers.csv", HAND_CUSTOMERS), ("billing.csv", HAND_BILLING), ("tickets.csv", HAND_TICKETS)):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def files_of(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def write_xlsx_bomb(path: Path, expands_to: int) -> None:
    """A real workbook (xlsxwriter) whose sheet is then replaced by `expands_to` bytes of rows that compress ~100:1."""
    book = io.BytesIO()
    with xlsxwriter.Workbook(book) as workbook:
        workbook.add_worksheet("surveys").write_row(0, 0, ["survey_id", "customer_id", "surveyed_on", "overall"])
    rows = b"".join(b'<row><c t="inlineStr"><is><t>S1</t></is></c><c t="inlineStr"><is><t>C1</t></is></c></row>'
                    for _ in range(10_000))
    with zipfile.ZipFile(io.BytesIO(book.getvalue())) as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bomb:
        for member in source.infolist():
            if member.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(member.filename, source.read(member.filename))
                continue
            with bomb.open(member.filename, "w") as sheet:
                sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                            b'spreadsheetml/2006/main"><sheetData>')
                for _ in range(expands_to // len(rows) + 1):
                    sheet.write(rows)
                sheet.write(b"</sheetData></worksheet>")


def test_an_xlsx_zip_bomb_is_refused_from_its_zip_directory_before_parsing(tmp_path, staged):
    folder = exports(tmp_path / "x")
    bomb = folder / "surveys.xlsx"
    write_xlsx_bomb(bomb, 256 * 2**20)  # more than the default 200 MiB
    assert bomb.stat().st_size < 4 * 2**20
    started = time.perf_counter()
    with pytest.raises(LoadError, match=r"surveys\.xlsx: this Excel file unzips to 25\d MiB, more than the 200 MiB"):
        load(files_of(folder), tmp_path / "w.duckdb")
    assert time.perf_counter() - started < 5  # generous: the zip directory alone is read
    assert staged == []  # no file was parsed, not even the good ones
    assert not (tmp_path / "w.duckdb").exists()


def test_an_xlsx_within_the_limit_loads(tmp_path):
    folder = exports(tmp_path / "x")
    pd.DataFrame({"survey_id": ["S1"], "customer_id": ["C1"], "surveyed_on": ["2024-02-01"], "method": ["phone"],
                  "overall": [5]}).to_excel(folder / "surveys.xlsx", index=False)
    report = load(files_of(folder), tmp_path / "w.duckdb")
    assert report.tables()["surveys"] == {"read": 1, "loaded": 1, "rejected": 0, "superseded": 0, "skipped": 0}


def test_an_xlsx_sheet_declaring_too_many_columns_or_rows_is_refused_before_parsing(tmp_path, staged):
    folder = exports(tmp_path / "x")
    wide = pd.DataFrame([[1] * 30], columns=["survey_id", *(f"x{i}" for i in range(29))])
    wide.to_excel(folder / "surveys.xlsx", index=False)
    with pytest.raises(LoadError, match=r"surveys\.xlsx: 30 columns, more than the 20 a file may have "
                                        r"\(SCORECARD_MAX_COLUMNS\)"):
        load(files_of(folder), tmp_path / "w.duckdb", limits=SMALL)
    pd.DataFrame({"survey_id": [f"S{i}" for i in range(12)]}).to_excel(folder / "surveys.xlsx", index=False)
    with pytest.raises(LoadError, match=r"surveys\.xlsx: 12 rows, more than the 10 a file may have"):
        load(files_of(folder), tmp_path / "w.duckdb", limits=SMALL)
    assert staged == []


def test_a_csv_with_100000_columns_is_refused_at_once_for_its_columns(tmp_path, staged):
    """0.9 MB, 100,000 columns: the header line alone is far longer than the 64 KiB the reader takes it from,
    so it is refused for its columns, never read with a cut header (which gave every row a wrong reason)."""
    folder = exports(tmp_path / "x")
    wide = folder / "tickets.csv"
    headers = ["ticket_id", "customer_id", "ticket_type", "created_at", *(f"x{i}" for i in range(99_996))]
    wide.write_text(",".join(headers) + "\n" + ",".join(["T1", "C1", "repair", "2024-01-01 10:00", *["1"] * 99_996])
                    + "\n", encoding="utf-8")
    assert 0.8 * 2**20 < wide.stat().st_size < 1 * 2**20
    started = time.perf_counter()
    with pytest.raises(LoadError, match=r"tickets\.csv: the header line is more than the 1,000 columns a file may "
                                        r"have \(SCORECARD_MAX_COLUMNS\): 10,9\d\d columns in its first 64 KiB alone"):
        load(files_of(folder), tmp_path / "w.duckdb")
    assert time.perf_counter() - started < 5  # generous: 64 KiB are read
    assert staged == []


def test_a_csv_header_is_counted_whole_or_refused_as_too_long(tmp_path, staged):
    folder = exports(tmp_path / "x")
    (folder / "tickets.csv").write_text(",".join(f"column_{i}" for i in range(1500)) + "\nT1\n", encoding="utf-8")
    with pytest.raises(LoadError, match=r"tickets\.csv: 1,500 columns, more than the 1,000"):
        load(files_of(folder), tmp_path / "w.duckdb")
    long_names = [f"{'a very long export header ' * 12}{i}" for i in range(300)]  # 300 columns, ~95 KiB
    (folder / "tickets.csv").write_text(",".join(long_names) + "\nT1\n", encoding="utf-8")
    with pytest.raises(LoadError, match=r"tickets\.csv: the header line is longer than the 64 KiB a header may be"):
        load(files_of(folder), tmp_path / "w.duckdb")
    assert staged == []


def test_a_utf16_csv_header_is_counted_in_its_own_encoding(tmp_path, staged):
    folder = exports(tmp_path / "x")
    (folder / "tickets.csv").write_text("\t".join(f"列{i}" for i in range(25)) + "\nT1\n", encoding="utf-16")
    with pytest.raises(LoadError, match=r"tickets\.csv: 25 columns, more than the 20"):
        load(files_of(folder), tmp_path / "w.duckdb", limits=SMALL)
    assert staged == []


def test_too_many_rows_in_a_csv_or_parquet_file_are_refused_before_parsing(tmp_path, staged):
    folder = exports(tmp_path / "x")
    lines = HAND_BILLING.splitlines()[0] + "\n" + "".join(f"C1,2023-{m:02d},1,1,1\n" for m in range(1, 12))
    (folder / "billing.csv").write_text(lines, encoding="utf-8")
    with pytest.raises(LoadError, match=r"billing\.csv: 11 rows, more than the 10 a file may have "
                                        r"\(SCORECARD_MAX_ROWS\); split it"):
        load(files_of(folder), tmp_path / "w.duckdb", limits=SMALL)
    (folder / "billing.csv").unlink()
    pd.DataFrame({"customer_id": ["C1"] * 30, "period": [f"20{20 + m // 12}-{m % 12 + 1:02d}" for m in range(30)],
                  "amount_billed": [1.0] * 30}).to_parquet(folder / "billing.parquet")
    with pytest.raises(LoadError, match=r"billing\.parquet: 30 rows, more than the 10"):
        load(files_of(folder), tmp_path / "w.duckdb", limits=SMALL)
    assert staged == []
    report = load(files_of(folder), tmp_path / "w.duckdb", limits=UploadLimits(max_rows=30))
    assert report.tables()["billing"]["read"] == 30


def test_two_files_with_one_name_are_refused(tmp_path, staged):
    folder = exports(tmp_path / "x")
    again = tmp_path / "y"
    again.mkdir()
    (again / "Customers.csv").write_text(HAND_CUSTOMERS, encoding="utf-8")
    with pytest.raises(LoadError, match=r"two files are named Customers\.csv and customers\.csv; rejected rows are "
                                        r"reported by file name, so rename one"):
        load([*files_of(folder), again / "Customers.csv"], tmp_path / "w.duckdb")
    assert staged == []


MAPPING = """[tables.customers.columns]
"用户号" = "customer_id"
"供电单位名称" = "region"
"""


def renamed_customers(folder: Path) -> None:
    (folder / "customers.csv").write_text(HAND_CUSTOMERS.replace("customer_id,", "用户号,", 1)
                                          .replace(",region,", ",供电单位名称,", 1), encoding="utf-8")


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-16", "utf-8-sig", "utf-8"])
def test_a_mapping_file_is_read_in_the_encodings_windows_saves(tmp_path, encoding):
    folder = exports(tmp_path / "x")
    renamed_customers(folder)
    mapping = tmp_path / "source.toml"
    mapping.write_text(MAPPING, encoding=encoding)
    report = load(files_of(folder), tmp_path / "w.duckdb", mapping=load_mapping(mapping))
    assert report.tables()["customers"] == {"read": 5, "loaded": 5, "rejected": 0, "superseded": 0, "skipped": 0}


def test_a_mapping_file_in_no_known_encoding_or_too_large_is_refused(tmp_path):
    mapping = tmp_path / "source.toml"
    mapping.write_bytes(b'[tables.customers.columns]\n"\xff\xfe\x80" = "customer_id"\n')
    with pytest.raises(LoadError, match="neither UTF-8, UTF-16 nor GB18030/GBK text; save it as UTF-8"):
        load_mapping(mapping)
    mapping.write_text(MAPPING + "# padding\n" * 120_000, encoding="utf-8")
    with pytest.raises(LoadError, match=r"the mapping file is 1,\d\d\d KiB, more than the 1,024 KiB"):
        load_mapping(mapping)


def test_limits_come_from_the_environment(monkeypatch, tmp_path, staged):
    monkeypatch.setenv(env_name("max_columns"), "5")
    with pytest.raises(LoadError, match=r"customers\.csv: 10 columns, more than the 5"):
        load(files_of(exports(tmp_path / "x")), tmp_path / "w.duckdb")
    monkeypatch.setenv(env_name("max_columns"), "many")
    with pytest.raises(LoadError, match=r"SCORECARD_MAX_COLUMNS='many': .*set a whole number above 0"):
        UploadLimits.from_env()
    assert staged == []


def test_every_limit_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, field in UploadLimits.model_fields.items():
        assert f"`{env_name(name)}` (default {field.default:,})" in readme, name


# The Data page, as an administrator uses it.

@pytest.fixture
def page_warehouse(demo_db, tmp_path, monkeypatch) -> Path:
    """A copy of the demo warehouse (the example users' regions are in it), which the uploads change."""
    db = tmp_path / "wh" / "warehouse.duckdb"
    db.parent.mkdir()
    shutil.copy(demo_db, db)
    monkeypatch.setattr(data, "WAREHOUSE", db)
    return db


def upload(files: list[tuple[str, bytes]], mapping: tuple[str, bytes] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/data.py")
    at.run()
    next(u for u in at.file_uploader if u.label == "Export files").set_value(
        [(name, content, "text/csv") for name, content in files])
    if mapping is not None:
        next(u for u in at.file_uploader if u.label.startswith("Mapping file")).set_value((*mapping, "application/toml"))
    next(b for b in at.button if b.label == "Validate and load").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_data_page_loads_an_upload_and_leaves_no_copies(page_warehouse):
    at = upload([("customers.csv", HAND_CUSTOMERS.encode()), ("billing.csv", HAND_BILLING.encode())])
    assert any("Load 2 committed" in s.value for s in at.success), [e.value for e in at.error]
    assert not [p for p in page_warehouse.parent.iterdir() if p.name.startswith((".upload-", ".loading-"))]


def test_the_data_page_refuses_two_files_with_one_name(page_warehouse):
    before = digest(page_warehouse)
    at = upload([("customers.csv", HAND_CUSTOMERS.encode()), ("customers.csv", HAND_CUSTOMERS.encode())])
    assert any("two files are named customers.csv" in e.value for e in at.error), [e.value for e in at.error]
    assert digest(page_warehouse) == before


def test_the_data_page_stops_the_load_on_an_oversize_or_invalid_mapping(page_warehouse):
    before = digest(page_warehouse)
    files = [("customers.csv", HAND_CUSTOMERS.encode())]
    at = upload(files, ("source.toml", (MAPPING + "# padding\n" * 120_000).encode()))
    assert any("Nothing was loaded: ` source.toml: the mapping file is" in e.value for e in at.error), \
        [e.value for e in at.error]
    at = upload(files, ("source.toml", b'[tables.customer.columns]\n"a" = "b"\n'))
    assert any("Nothing was loaded: ` source.toml: tables: " in e.value and "unknown table" in e.value
               for e in at.error), [e.value for e in at.error]
    assert digest(page_warehouse) == before


def test_the_data_page_reads_a_gbk_mapping(page_warehouse, tmp_path):
    renamed_customers(tmp_path)
    at = upload([("customers.csv", (tmp_path / "customers.csv").read_bytes())], ("source.toml", MAPPING.encode("gbk")))
    assert any("Load 2 committed" in s.value for s in at.success), [e.value for e in at.error]


def test_the_data_page_says_what_to_do_when_the_disk_is_full(page_warehouse, monkeypatch):
    before = digest(page_warehouse)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(page_warehouse))

    monkeypatch.setattr(LOAD_MODULE.shutil, "copy2", disk_full)  # the append mode's copy of the warehouse
    at = upload([("customers.csv", HAND_CUSTOMERS.encode())])
    assert any("no space left on device; the warehouse is as it was. Free some space there" in e.value
               for e in at.error), [e.value for e in at.error]
    assert digest(page_warehouse) == before


def test_a_load_out_of_its_memory_limit_is_refused_saying_what_to_set_and_changes_nothing(tmp_path, monkeypatch):
    # 1 MiB is too little for DuckDB to read the first file: the replace load over a good warehouse stops there.
    folder = exports(tmp_path / "x")
    db = tmp_path / "w.duckdb"
    load([folder], db)
    before = digest(db)
    monkeypatch.setenv("SCORECARD_LOAD_MEMORY_LIMIT", "1MiB")
    with pytest.raises(LoadError) as refused:
        load([folder], db)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path}: the load ran out of the memory it may use (1MiB); the warehouse is as it "
                              "was. Let it use more with SCORECARD_LOAD_MEMORY_LIMIT")
    assert "Out of Memory Error" in message  # DuckDB's own words, after the advice
    assert digest(db) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".loading")] == []


def test_every_refusal_reads_in_chinese_on_the_data_page(tmp_path):
    from dashboard.load_messages import error_zh
    from ingest import limits
    from ingest.lock import one_load_at_a_time
    from ingest.os_errors import explain

    def refusal(call, *args) -> str:
        with pytest.raises(LoadError) as error:
            call(*args)
        return str(error.value)

    tiny = UploadLimits(max_xlsx_mib=1, max_columns=2, max_rows=1, max_mapping_kib=1)
    write_xlsx_bomb(tmp_path / "surveys.xlsx", 2 * 2**20)
    (tmp_path / "wide.csv").write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    (tmp_path / "long.csv").write_text(",".join(["x" * 10] * 7000) + "\n", encoding="utf-8")  # 77 KB
    (tmp_path / "lines.csv").write_text("a\n1\n2\n", encoding="utf-8")
    (tmp_path / "big.toml").write_text("# x\n" * 1000, encoding="utf-8")
    (tmp_path / "odd.toml").write_bytes(b"\xff\x80")
    held = tmp_path / "w.duckdb"
    messages = [
        refusal(limits.check_names, ["a.csv", "A.csv"]),
        refusal(limits.check_files, [tmp_path / "surveys.xlsx"], tiny),
        refusal(limits.check_files, [tmp_path / "wide.csv"], tiny),
        refusal(limits.check_files, [tmp_path / "long.csv"], UploadLimits()),
        refusal(limits.check_files, [tmp_path / "long.csv"], UploadLimits(max_columns=10_000)),
        refusal(limits.check_files, [tmp_path / "lines.csv"], tiny),
        refusal(limits.mapping_text, tmp_path / "big.toml", tiny),
        refusal(limits.mapping_text, tmp_path / "odd.toml", tiny),
        *(str(explain(OSError(code, os.strerror(code), "x"), tmp_path))
          for code in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS)),
        str(explain(duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block"), tmp_path)),
    ]
    with one_load_at_a_time(held, 0, print):
        messages.append(refusal(lambda: one_load_at_a_time(held, 0, print).__enter__()))
    untranslated = [m for m in messages if error_zh(m) == m]
    assert untranslated == []
    assert len(set(messages)) == len(messages) == 15


def test_a_wide_header_below_title_rows_is_counted(tmp_path, staged):
    folder = exports(tmp_path / "x")
    (folder / "tickets.csv").write_text("2024年11月 工单明细\n导出时间 2024-12-01\n" + ",".join(f"c{i}" for i in range(30))
                                        + "\nT1\n", encoding="utf-8")
    with pytest.raises(LoadError, match=r"tickets\.csv: 30 columns, more than the 20"):
        load(files_of(folder), tmp_path / "w.duckdb", limits=SMALL)
    assert staged == []
