"""The scorecard's "Download briefing book" button: on the page for the filters' month, region and language, and what
its click makes is the book of that month and region."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import metrics
from dashboard import briefing, data, i18n

APP = Path(__file__).resolve().parents[1] / "app.py"
REGION = "台州"


@pytest.fixture(autouse=True)
def demo_warehouse(demo_db, monkeypatch):
    monkeypatch.setattr(data, "WAREHOUSE", demo_db)


def test_the_scorecard_offers_the_briefing_book_of_its_month():
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["region"] = [REGION]
    at.switch_page("pages/scorecard.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    buttons = [b.proto for b in at.get("download_button") if b.proto.label == "Download briefing book (PDF)"]
    assert len(buttons) == 1
    end = data.filter_choices()["range"][1]
    assert f"The month of {end:%Y-%m} " in buttons[0].help


def test_a_click_makes_the_book_of_the_filters_month_region_and_language(monkeypatch, tmp_path):
    made = {}
    monkeypatch.setattr(briefing.st, "download_button",
                        lambda label, pdf, file_name, mime, **kwargs: made.update(pdf=pdf, name=file_name, mime=mime))
    f = metrics.Filters(start=dt.date(2026, 5, 1), end=dt.date(2026, 10, 31), regions=(REGION,))
    i18n.use("zh")
    try:
        briefing.download_button(f)
    finally:
        i18n.use("en")
    assert made["name"] == f"briefing_2026-10_{REGION}_zh.pdf" and made["mime"] == "application/pdf"
    pdf = tmp_path / "book.pdf"
    pdf.write_bytes(made["pdf"]())  # made on click, on a worker thread of its own
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "大客户服务经营分析月报" in text and f"{REGION} · 2026年10月" in text
    assert "宁波" not in text
