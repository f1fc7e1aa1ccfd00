"""Both languages: every string has its translation and is used; every page reads in Chinese."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data, i18n, labels
from dashboard.format import count, month, number
from dashboard.zh import ZH
from metrics import CATALOGUE
from metrics.service import OUTLIER_RULE

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
PAGES = ("scorecard", "tiers", "response_times", "complaints", "retention", "satisfaction", "data", "explore")
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
