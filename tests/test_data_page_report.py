"""The Data page shows the stored report of the latest load, whoever made it: here a load through the command line
(`python -m ingest load`), never through the page, of exports with a title row, a blank line, a totals row and a
万元 column."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dashboard import data
from dashboard.users import LOCAL_ADMIN
from tests.test_absent_data import run_own_page

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = """国网XX供电公司 客户档案 导出时间:2026-11-30

客户编号,客户名称,供电单位,供电所,立户日期
K001,客户一,白云,白云一所,2020-01-01
K002,客户二,白云,白云一所,2020-01-01
"""
# header on line 1; the totals row on line 4 is not a record; 应收电费(万元): 5.3991 万元 = 53,991 yuan
BILLING = """客户编号,电费年月,应收电费(万元)
K001,202501,5.3991
K002,202501,1.2
合计,,6.5991
"""
TICKETS = """工单编号,客户编号,业务类型,受理时间,受理渠道
G1,K001,投诉,2025-01-05 09:00,微信
G2,K999,投诉,2025-01-06 09:00,95598
"""


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    exports = folder / "exports"
    exports.mkdir()
    for name, text in (("客户档案.csv", CUSTOMERS), ("电费账单.csv", BILLING), ("工单.csv", TICKETS)):
        (exports / name).write_text(text, encoding="utf-8")
    db = folder / "w.duckdb"
    done = subprocess.run([sys.executable, "-m", "ingest", "load", str(exports), "--db", str(db)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT amount_billed FROM billing ORDER BY customer_id").fetchall() == [(53991.0,), (12000.0,)]
    return db


@pytest.fixture
def cli_warehouse(cli_db, monkeypatch):
    monkeypatch.setattr(data, "WAREHOUSE", cli_db)
    return cli_db


def _text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_the_data_page_shows_the_report_of_a_command_line_load(cli_warehouse):
    at = run_own_page("data")
    assert [s.value for s in at.subheader if s.value.startswith("Report of the latest load")] == [
        "Report of the latest load (load 1)"]
    text = _text(at)
    assert "What the importer noticed in each file" in text
    assert "header taken from line 3" in text  # 客户档案.csv: a title row and a blank line above the header
    assert "1 row(s) skipped as not records: line 4:" in text  # 电费账单.csv's totals row
    assert "amount_billed: values in 万元" in text and "were multiplied by 10,000" in text
    # 工单.csv: 微信 is no channel of the contract: the ticket is loaded with the channel left empty, and said so
    assert "1 row(s) loaded with the field left empty: 受理渠道 (channel) '微信' is not one of" in text
    reasons = [line for line in text.splitlines() if line.startswith("**Top reasons in")]
    assert reasons == ["**Top reasons in ` Service tickets `:** ` customer_id '…' is not in customers ` (1)"]
    files = next(d.value for d in at.dataframe if "Header line" in d.value.columns).set_index("File")
    assert files.loc["客户档案.csv", "Header line"] == 3 and files.loc["电费账单.csv", "Header line"] == 1
    assert files.loc["电费账单.csv", ["Rows loaded", "Rows skipped (not records)"]].tolist() == [2, 1]
    # the per-table summary, from the stored report: 2 bills read and loaded, the totals row skipped
    summary = next(d.value for d in at.dataframe if "Rows skipped (not records)" in d.value.columns
                   and "File" not in d.value.columns).set_index("Table")
    assert summary.loc["Billing", ["Rows read", "Rows loaded", "Rows skipped (not records)"]].tolist() == [2, 2, 1]


def test_a_viewer_who_cannot_import_sees_the_report_too(cli_warehouse):
    executive = dataclasses.replace(LOCAL_ADMIN, username="exec", role="executive")
    assert not executive.can_import
    at = run_own_page("data", identity=executive)
    assert "header taken from line 3" in _text(at)
    assert not [s for s in at.subheader if s.value == "Import new exports"]


def test_the_report_is_shown_in_chinese(cli_warehouse):
    at = run_own_page("data", lang="zh")
    assert [s.value for s in at.subheader if s.value.startswith("最近一次导入的报告")] == ["最近一次导入的报告（第 1 批）"]
    assert "各文件的导入说明" in _text(at)
