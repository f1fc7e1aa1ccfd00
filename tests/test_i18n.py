"""Both languages: every string has its translation and is used; every page reads in Chinese."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data, i18n, labels, registry
from dashboard.format import count, month, number
from dashboard.zh import ZH
from metrics import CATALOGUE
from metrics.service import OUTLIER_RULE

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
# every page but the managers' portfolio, whose headings name a manager as the data spells it (in Chinese)
PAGES = tuple(slug for slug in registry.SLUGS if slug != "account_managers")
CJK = re.compile(r"[\u4e00-\u9fff]")


def interface_strings() -> set[str]:
    """Every English string the interface shows: `_("...")` literals, label tables, catalogue texts."""
    found = set()
    for path in [APP, *(ROOT / "pages").glob("*.py"), *(ROOT / "dashboard").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.add(node.args[0].value)
    for name in dir(labels):
        table = getattr(labels, name)
        if name.isupper() and isinstance(table, dict) and name != "VALUE_LABELS":
            found.update(table.values())
    for metric in CATALOGUE.values():
        found.update((metric.definition, metric.unit))
    found.update((OUTLIER_RULE, "executive", "lead", "analyst", "admin"))
    for page in registry.PAGES:
        found.update((page.title, page.section))
    return found


def test_every_string_has_a_chinese_translation_and_every_translation_is_used():
    strings = interface_strings()
    assert sorted(strings - set(ZH)) == []
    assert sorted(set(ZH) - strings) == []
    for english, chinese in ZH.items():
        assert sorted(re.findall(r"\{[a-z_]+(?::[^}]*)?\}", english)) == sorted(re.findall(r"\{[a-z_]+(?::[^}]*)?\}", chinese)), english


def test_numbers_and_months_follow_the_language():
    try:
        i18n.use("zh")
        assert count(1_234_567) == "123.46万" and count(9_999) == "9,999"
        assert number(18_890_423_200, "yuan") == "¥188.90亿"
        assert number(1.234, "hours") == "1.2 小时"
        assert month(__import__("datetime").date(2026, 3, 1)) == "2026年3月"
        i18n.use("en")
        assert count(1_234_567) == "1,234,567" and number(18_890_423_200, "yuan") == "¥18.89 bn"
        assert month(__import__("datetime").date(2026, 3, 1)) == "2026-03"
    finally:
        i18n.use("en")


@pytest.fixture(autouse=True)
def demo_warehouse(demo_db, monkeypatch):
    monkeypatch.setattr(data, "WAREHOUSE", demo_db)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_page_in_both_languages(page, language):
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["lang"] = language
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    headings = [t.value for t in at.title] + [s.value for s in at.subheader] + [m.label for m in at.metric]
    if language == "zh":
        untranslated = [h for h in headings if not CJK.search(h) and not re.fullmatch(r"[A-Z]{2,5}|VIP", h)]
        assert untranslated == []
        for frame in at.dataframe:
            english_headers = [c for c in frame.value.columns if not CJK.search(str(c))]
            assert english_headers == [], english_headers
    else:
        assert not any(CJK.search(h) for h in headings)


def test_importer_messages_read_in_chinese(tmp_path):
    """Every reject reason the importer writes for the broken test files, and its main load errors, in Chinese."""
    from dashboard.load_messages import error_zh, reason_zh
    from ingest import LoadError, load
    from tests.test_ingest import BROKEN_CUSTOMERS, BROKEN_TICKETS, write

    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "customers.csv", BROKEN_CUSTOMERS.replace("C11,杭州,城东,urban,10,100,2020-01-01,\n",
                                                            "C11,杭州,城东,urban,10,100,2020-01-01,\nC12,杭州\n"))
    write(folder, "billing.csv", "customer_id,period,amount_billed\nC1,2024-01,-3\nC1,202401x,5\n")
    write(folder, "tickets.csv", BROKEN_TICKETS)
    import duckdb
    load([folder], tmp_path / "w.duckdb")
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        reasons = [r[0] for r in con.execute("SELECT reason FROM rejects").fetchall()]
    assert len(reasons) >= 18
    for reason in reasons:
        chinese = reason_zh(reason)
        assert chinese != reason and CJK.search(chinese), reason
        assert not re.search(r"\b(is|the|not|line|duplicate|missing|before)\b", chinese), chinese
    assert reason_zh("resolved_at 2024-03-01 08:00 is before created_at 2024-03-02 09:00") == \
        "resolved_at 2024-03-01 08:00 早于 created_at 2024-03-02 09:00"
    write(folder, "tickets.csv", "工单编号,客户编号,受理渠道\nT1,C1,95598\n")
    with pytest.raises(LoadError) as error:
        load([folder], tmp_path / "w.duckdb")
    assert error_zh(str(error.value)).startswith("tickets.csv：无法作为数据表“tickets”导入，缺少必填列 ticket_type, created_at")


def test_a_workbook_without_the_header_reads_in_chinese_with_the_closest_row_and_the_headers_looked_for(tmp_path):
    """The importer's "no sheet has a header" error keeps its "Closest: …" detail in Chinese, and the list of headers
    the mapping looked for reads "column（表头：a、b）", with no English "as" left in it."""
    import openpyxl

    from dashboard.load_messages import error_zh
    from ingest import LoadError, load
    from tests.conftest import write

    folder = tmp_path / "in"
    write(folder, "customers.csv", "customer_id,region,service_center,industry,area,voltage_kv,opened_on\n"
                                   "C1,杭州,城东供电所,钢铁,urban,110,2020-01-01\n")
    book = openpyxl.Workbook()
    book.active.title = "工单"
    book.active.append(["国网XX供电公司 服务工单"])
    book.active.append(["工单编号", "客户编号", "工单类型"])  # row 2: everything but created_at (受理时间, …)
    book.active.append(["T1", "C1", "repair"])
    book.save(folder / "tickets.xlsx")
    with pytest.raises(LoadError) as error:
        load([folder], tmp_path / "w.duckdb")
    assert error_zh(str(error.value)) == (
        "tickets.xlsx：没有任何工作表含有该数据表的表头行；已读取的工作表：工单。请在字段映射文件中指定工作表（sheet = \"...\"）"
        "或修改表头。最接近的是工作表“工单”第 2 行，缺少必填列 created_at；"
        "查找过的表头：created_at（表头：created_at、受理时间、创建时间、报修时间、opened_at、created）。")


def test_the_headers_looked_for_read_in_chinese_for_every_missing_column(tmp_path):
    from dashboard.load_messages import error_zh
    from ingest import LoadError, load
    from tests.conftest import write

    folder = tmp_path / "in"
    write(folder, "customers.csv", "customer_id,region,service_center,industry,area,voltage_kv,opened_on\n"
                                   "C1,杭州,城东供电所,钢铁,urban,110,2020-01-01\n")
    write(folder, "tickets.csv", "工单编号,客户编号,受理渠道\nT1,C1,95598\n")
    with pytest.raises(LoadError) as error:
        load([folder], tmp_path / "w.duckdb")
    chinese = error_zh(str(error.value))
    assert chinese.endswith("查找过的表头：ticket_type（表头：ticket_type、业务类型、工单类型、诉求类型、type）；"
                            "created_at（表头：created_at、受理时间、创建时间、报修时间、opened_at、created）。")
    assert " as " not in chinese


@pytest.mark.parametrize(("lang", "delta", "expected"), [
    ("en", "+2.9 pp", "vs 2024-12–2025-11"),  # 3.5 + 9 ems: fits
    ("en", "-105", "vs 2024-12–2025-11"),
    ("zh", "-2", "较2024-12–2025-11"),  # 1 + 8.5 ems
    ("zh", "-1.6 小时", "较2024-12–2025-11"),  # 4.5 + 8.5 ems: fits
    ("zh", "+0.7 个百分点", "较上期"),  # 6.5 + 8.5 ems: would be cut ("较2024-12–20…"), so the short form
])
def test_a_tiles_change_names_the_previous_period_only_where_it_fits(lang, delta, expected):
    from dashboard.ui import change_description

    before = i18n.language()
    i18n.use(lang)
    try:
        assert change_description(delta, "2024-12–2025-11") == expected
        assert change_description(delta, None) == ("vs previous period" if lang == "en" else "较上期")
    finally:
        i18n.use(before)


def test_a_row_of_tiles_names_the_previous_period_in_one_wording():
    """In Chinese a share's change (+0.7 个百分点, 6.5 ems) leaves no room for the dates (8.5 ems, 14 fit), a count's
    (-2, 1 em) does: a row holding both says 较上期 on every tile, not the dates on some and 较上期 on others."""
    from dashboard.ui import row_comparison

    before = i18n.language()
    i18n.use("zh")
    try:
        dates = "2024-12–2025-11"
        assert row_comparison([("complaints", -2.0)], dates) == dates
        assert row_comparison([("complaints", -2.0), ("sla_compliance", 0.007)], dates) is None
        assert row_comparison([("complaints", -2.0), ("sla_compliance", None)], dates) == dates  # no change shown
        assert row_comparison([("complaints", -2.0)], None) is None
    finally:
        i18n.use(before)


@pytest.mark.parametrize(("language", "link", "expected"), [
    ("en", ["key"], ["key"]),  # the code
    ("en", ["重要客户", "VIP客户"], ["key", "VIP"]),  # a link copied from the Chinese page
    ("zh", ["Key", "standard"], ["key", "standard"]),  # an English label and a code, opened in Chinese
    ("zh", ["bogus", "VIP"], ["VIP"]),  # no such tier: dropped
    ("en", ["VIP", "key"], ["VIP", "key"]),  # a label of the page's language beside a code: both kept
    ("en", ["key", "Standard", "重要客户"], ["key", "standard"]),  # the same tier twice, once as a label
])
def test_a_link_selects_the_same_tiers_in_either_language(language, link, expected):
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["lang"] = language
    at.query_params["tier"] = link
    at.switch_page("pages/tiers.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.multiselect(key="tier").value == expected


def test_a_link_selects_ticket_types_and_channels_by_code(demo_db):
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["lang"] = "zh"
    at.query_params["rt_type"] = ["repair"]
    at.query_params["rt_channel"] = ["Hotline (95598)"]
    at.switch_page("pages/response_times.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.multiselect(key="rt_type").value == ["repair"]
    assert at.multiselect(key="rt_channel").value == ["hotline"]


def test_a_link_mixing_a_label_and_a_code_keeps_both_channels(demo_db):
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["lang"] = "en"
    at.query_params["rt_channel"] = ["Online", "hotline"]  # an English label, then a code
    at.switch_page("pages/response_times.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.multiselect(key="rt_channel").value == ["online", "hotline"]
