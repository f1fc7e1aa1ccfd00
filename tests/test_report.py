"""The monthly briefing book (issue 20): the PDF opens, has its sections in order, holds every KPI exactly as
`metrics.compute` gives it (formatted as the pages format it), a lead's book holds only the lead's region, the fonts
are embedded, and the pages are rendered to PNGs in tests/artifacts/ for a person to look at."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest

import metrics
from dashboard import i18n
from dashboard.briefing_book import document, metric_label
from dashboard.format import change, number
from metrics import CATALOGUE
from metrics.scorecard import load_config
from report import Action, Commentary, gather
from report.__main__ import file_name, main
from report.schedule import first_working_day, last_month

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
MONTH = dt.date(2026, 10, 1)
OCTOBER = metrics.Filters(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
LEAD_REGION = "台州"


def pages_text(pdf: Path) -> list[str]:
    """Each page's text as pdftotext lays it out (a table row stays on one line)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def render_pngs(pdf: Path, name: str) -> list[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "70", "-png", str(pdf), str(ARTIFACTS / name)], check=True)
    return sorted(ARTIFACTS.glob(f"{name}-*.png"))


@pytest.fixture(scope="module")
def books(demo_db, tmp_path_factory) -> dict[str, Path]:
    """The company book in both languages and a lead's book, written by the command line."""
    out = tmp_path_factory.mktemp("books")
    users = out / "users.toml"
    users.write_text(f'[auth]\nmode = "none"\n\n[users.li_na]\nrole = "lead"\ndisplay_name = "Li Na"\n'
                     f'regions = ["{LEAD_REGION}"]\n', encoding="utf-8")
    paths = {"en": out / "company_en.pdf", "zh": out / "company_zh.pdf", "lead": out / "lead_zh.pdf"}
    common = ["--month", "2026-10", "--db", str(demo_db)]
    assert main([*common, "--lang", "en", "--out", str(paths["en"])]) == 0
    assert main([*common, "--lang", "zh", "--out", str(paths["zh"])]) == 0
    assert main([*common, "--lang", "zh", "--user", "li_na", "--users-file", str(users),
                 "--out", str(paths["lead"])]) == 0
    return paths


def kpi_row(page: str, metric_id: str) -> str:
    """The KPI's table row after its label, spaces collapsed."""
    label = metric_label(metric_id)
    lines = [" ".join(line.split()) for line in page.splitlines() if line.strip().startswith(label + " ")]
    assert len(lines) == 1, (metric_id, label)
    return lines[0].removeprefix(label + " ")


SECTIONS_EN = ["Key account service briefing book", "The month in figures", "Financial", "Customer",
               "Internal process", "Learning and growth", "Early warning: key accounts at risk", "Definitions"]


def test_the_book_opens_with_its_sections_each_on_a_new_page_in_order(books):
    pages = pages_text(books["en"])
    assert len(pages) == page_count(books["en"])
    first_lines = [next(line.strip() for line in page.splitlines() if line.strip()) for page in pages]
    # the cover starts with the brand line, then the title
    assert "Key account service briefing book" in pages[0] and "Company · 2026-10" in pages[0]
    starts = [next(i for i, line in enumerate(first_lines) if line.startswith(section)) for section in SECTIONS_EN[1:]]
    assert starts == sorted(starts) and starts[0] == 1
    # the KPIs on the second page, then the league table; definitions last; no commentary without the store's rows
    assert "Every KPI against target" in pages[1]
    assert 1 <= next(i for i, page in enumerate(pages) if "Region league table" in page) < starts[1]
    assert starts[-1] == len(pages) - 1
    assert not any("Commentary and open actions" in page for page in pages)
    # 8 sections on at least 8 pages; a perspective's charts may take a second page, at most
    assert 8 <= len(pages) <= 8 + 4
    assert all(f"{i} / {len(pages)}" in page for i, page in enumerate(pages, start=1))  # the footer's page numbers


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_kpi_value_and_target_is_the_catalogue_metric_formatted_as_the_pages_format_it(books, demo, lang):
    overview = pages_text(books[lang])[1]  # the month in figures and every KPI against target
    i18n.use(lang)
    try:
        for _perspective, kpi in load_config().kpis():
            fmt = CATALOGUE[kpi.metric].format
            value = metrics.compute(demo, kpi.metric, OCTOBER)["value"].iloc[0]
            row = kpi_row(overview, kpi.metric)
            # the row: KPI, value, target, status, change on the month and on the year, year to date
            assert row.startswith(f"{number(value, fmt)} {number(kpi.target, fmt)} "), (kpi.metric, row)
            year_to_date = metrics.compute(demo, kpi.metric, OCTOBER.window(dt.date(2026, 1, 1), OCTOBER.end))
            assert row.endswith(" " + number(year_to_date["value"].iloc[0], fmt)), (kpi.metric, row)
            # the changes: against September 2026 and October 2025, each computed for that month alone
            september = metrics.compute(demo, kpi.metric, OCTOBER.window(dt.date(2026, 9, 1), dt.date(2026, 9, 30)))
            october_2025 = metrics.compute(demo, kpi.metric, OCTOBER.shifted_years(-1))
            changes = [change(value - other["value"].iloc[0], fmt) or "–" for other in (september, october_2025)]
            assert f" {changes[0]} {changes[1]} " in row, (kpi.metric, row, changes)
    finally:
        i18n.use("en")


def test_chinese_book_writes_large_amounts_in_wan_and_yi(books, demo):
    text = "".join(pages_text(books["zh"]))
    assert "大客户服务经营分析月报" in text and "全公司 · 2026年10月" in text
    revenue = metrics.compute(demo, "revenue", OCTOBER)["value"].iloc[0]
    i18n.use("zh")
    try:
        shown = number(revenue, "yuan")
    finally:
        i18n.use("en")
    assert re.fullmatch(r"¥[\d,.]+(万|亿)", shown) and shown in pages_text(books["zh"])[1]  # the month in figures
    assert "Revenue" not in text and "On target" not in text  # no English left in the Chinese book's own words


def test_a_leads_book_holds_only_the_leads_region(books, demo):
    pages = pages_text(books["lead"])
    text = "".join(pages)
    others = [r for r in metrics.warehouse.dimension_values(demo)["region"] if r != LEAD_REGION]
    assert len(others) >= 2 and LEAD_REGION in text
    assert [r for r in others if r in text] == []
    assert "Li Na" in pages[0]
    own = OCTOBER.model_copy(update={"allowed_regions": (LEAD_REGION,)})
    i18n.use("zh")
    try:
        for _perspective, kpi in load_config().kpis():
            fmt = CATALOGUE[kpi.metric].format
            mine = number(metrics.compute(demo, kpi.metric, own)["value"].iloc[0], fmt)
            company = number(metrics.compute(demo, kpi.metric, OCTOBER)["value"].iloc[0], fmt)
            row = kpi_row(pages[1], kpi.metric)
            assert row.startswith(mine + " "), (kpi.metric, row)
            if company != mine:
                assert not row.startswith(company + " "), (kpi.metric, row)
    finally:
        i18n.use("en")


def test_fonts_are_embedded(books):
    for pdf in books.values():
        listing = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
        rows = listing.splitlines()[2:]
        assert rows, "no font at all"
        # columns: name, type, encoding, emb, sub, uni, object, id; Chromium embeds the CFF Noto CJK as Type 3 outlines
        assert all(row.split()[-5] == "yes" for row in rows), listing
        assert all(row.split()[-3] == "yes" for row in rows), listing  # text maps to Unicode: searchable, copyable


def test_pages_render_to_images_for_review(books):
    for name, pdf in books.items():
        pngs = render_pngs(pdf, f"report_{name}")
        assert len(pngs) == page_count(pdf)
        assert all(p.stat().st_size > 10_000 for p in pngs)  # not blank pages


def test_commentary_and_actions_appear_only_when_given_and_are_escaped(demo):
    config = load_config()
    plain = gather(demo, MONTH, OCTOBER, config)
    noted = gather(demo, MONTH, OCTOBER, config,
                   commentary=(Commentary("sla_compliance", "<b>Storm</b> week & repairs", "Zhou",
                                          dt.date(2026, 11, 2)),),
                   actions=(Action("csat", "Revisit <script>", "Li Na", dt.date(2026, 11, 30), "open"),))
    i18n.use("en")
    assert "Commentary and open actions" not in document(plain)
    html = document(noted)
    assert "Commentary and open actions" in html
    assert "&lt;b&gt;Storm&lt;/b&gt; week &amp; repairs" in html and "Revisit &lt;script&gt;" in html
    assert "<b>Storm" not in html


def test_first_working_day_follows_the_official_calendar(demo):
    # 2026: New Year's Day holiday 1-3 January, Sunday 4 January an adjusted working day; National Day 1-7 October
    assert first_working_day(demo, dt.date(2026, 1, 20)) == dt.date(2026, 1, 4)
    assert first_working_day(demo, dt.date(2026, 10, 1)) == dt.date(2026, 10, 8)
    assert first_working_day(demo, dt.date(2026, 3, 1)) == dt.date(2026, 3, 2)  # 1 March 2026 is a Sunday


def test_if_first_working_day_writes_nothing_on_another_day(demo_db, tmp_path):
    out = tmp_path / "books"
    assert main(["--month", "last", "--if-first-working-day", "--db", str(demo_db), "--out", str(out)],
                today=dt.date(2026, 10, 7)) == 0
    assert not out.exists()


def test_last_month_is_the_month_just_ended_or_the_last_the_data_covers():
    assert last_month(dt.date(2026, 11, 30), dt.date(2026, 12, 1)) == (dt.date(2026, 11, 1), None)
    month, note = last_month(dt.date(2026, 10, 31), dt.date(2026, 12, 1))
    assert month == dt.date(2026, 10, 1) and "2026-11" in note
    month, note = last_month(dt.date(2026, 11, 17), dt.date(2026, 12, 1))  # November only half loaded
    assert month == dt.date(2026, 10, 1) and note


def test_file_names_keep_region_names_but_no_path():
    assert file_name(MONTH, None, "en") == "briefing_2026-10_company_en.pdf"
    assert file_name(MONTH, ("台州",), "zh") == "briefing_2026-10_台州_zh.pdf"
    assert file_name(MONTH, ("../x/y",), "zh") == "briefing_2026-10__x_y_zh.pdf"


def test_a_user_cannot_ask_for_a_region_outside_their_limit(demo_db, tmp_path):
    users = tmp_path / "users.toml"
    users.write_text(f'[users.li_na]\nrole = "lead"\nregions = ["{LEAD_REGION}"]\n', encoding="utf-8")
    with pytest.raises(SystemExit, match="may not see region 宁波"):
        main(["--month", "2026-10", "--db", str(demo_db), "--user", "li_na", "--users-file", str(users),
              "--region", "宁波", "--out", str(tmp_path / "x.pdf")])
    assert not (tmp_path / "x.pdf").exists()


def test_month_last_writes_the_last_month_the_loaded_data_covers(demo_db, tmp_path):
    # The demo's bills and tickets end on 31 October 2026 (DEMO_END_MONTH). On 1 December the month just ended is
    # November, which the data does not cover: `--month last` takes October, the last month it covers to the end.
    out = tmp_path / "books"
    assert main(["--month", "last", "--lang", "zh", "--db", str(demo_db), "--out", str(out)],
                today=dt.date(2026, 12, 1)) == 0
    assert [p.name for p in out.iterdir()] == [file_name(dt.date(2026, 10, 1), None, "zh")]
