"""The page registry (dashboard/registry.py) is the one list of pages: every page file is in it, and every other
list of pages (roles, landing pages, the browser check, the benchmark) names only registered pages."""

from pathlib import Path

from bench.load_test import PAGES as LOAD_TEST_PAGES
from bench.pages import PAGE_STEPS
from dashboard import registry
from dashboard.users import LANDING_PAGES, ROLE_PAGES
from tests.test_browser import PAGES as BROWSER_PAGES

ROOT = Path(__file__).resolve().parents[1]


def test_every_page_file_is_registered_once_and_every_entry_has_its_file():
    files = sorted(path.stem for path in (ROOT / "pages").glob("*.py"))
    assert sorted(registry.SLUGS) == files
    assert len(set(registry.SLUGS)) == len(registry.SLUGS)
    assert all((ROOT / page.file).is_file() for page in registry.PAGES)


def test_other_page_lists_name_registered_pages_only():
    slugs = set(registry.SLUGS)
    for role, pages in ROLE_PAGES.items():
        assert set(pages) <= slugs, role
    assert set(LANDING_PAGES.values()) <= slugs
    assert set(PAGE_STEPS) <= slugs and set(LOAD_TEST_PAGES) <= slugs
    # the browser opens every page that needs no account named in its URL (the scorecard at "/")
    assert {path or "scorecard" for path in BROWSER_PAGES} == slugs - {"account"}
