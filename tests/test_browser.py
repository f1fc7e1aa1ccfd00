"""What a person sees: every page in headless Chromium (Debian's, driven by Playwright), with screenshots.

Screenshots are written to tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from dashboard.zh import ZH

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
PAGES = {"": "Key account service scorecard", "tiers": "Customer tiers", "response_times": "Response times",
         "complaints": "Complaints", "retention": "Retention", "satisfaction": "Satisfaction",
         "data": "Data status", "explore": "Explore and download", "account_managers": "Account managers"}
CHARTLESS = {"data"}
TILELESS = {"explore", "account_managers"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_db):
    port = _free_port()
    env = dict(os.environ, SCORECARD_WAREHOUSE=str(demo_db))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "streamlit.log", "w")  # noqa: SIM115 - the server writes to it until the fixture ends
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.terminate()
        pytest.fail("streamlit did not start within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


def wait_until_done(page: Page) -> None:
    """The page has a title and the app has finished running its script."""
    page.wait_for_selector("h1", timeout=90_000)
    for _ in range(2):  # a deep link on a cold server reruns once through the app shell: settle twice
        page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=90_000)
        page.wait_for_timeout(1000)
    # Streamlit draws a skeleton until an element's code has loaded in the browser, which can be after the script ends.
    page.wait_for_function("() => !document.querySelector('[data-testid=stSkeleton]')", timeout=60_000)
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stPlotlyChart]')]"
                           ".every(chart => chart.querySelector('.main-svg'))", timeout=60_000)


@pytest.mark.parametrize("path", list(PAGES))
@pytest.mark.parametrize("language", ["en", "zh"])
def test_page_renders_without_errors(server, browser, path, language):
    page = browser.new_page(viewport={"width": 1500, "height": 3200}, locale="en-GB")
    page.goto(f"{server}/{path}?lang={language}")
    wait_until_done(page)
    page.screenshot(path=str(ARTIFACTS / f"page_{path or 'scorecard'}_{language}.png"), full_page=True)
    title = page.locator("h1").first.inner_text()
    assert title == (ZH[PAGES[path]] if language == "zh" else PAGES[path])
    assert page.locator("[data-testid=stException]").count() == 0
    if path not in TILELESS:
        assert page.locator("[data-testid=stMetric]").count() >= 3
    if path not in CHARTLESS:
        page.wait_for_selector(".js-plotly-plot, [data-testid=stDataFrame]", timeout=30_000)
        assert page.locator(".js-plotly-plot").count() + page.locator("[data-testid=stDataFrame]").count() >= 1
    page.close()


def test_filter_goes_into_the_url_and_survives_a_reload(server, browser):
    page = browser.new_page(viewport={"width": 1500, "height": 1200})
    page.goto(f"{server}/complaints")
    wait_until_done(page)
    region_box = page.locator("[data-testid=stSidebar] [data-testid=stMultiSelect]").first
    region_box.click()
    page.wait_for_timeout(500)
    page.keyboard.type("台州")
    page.wait_for_timeout(800)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "region=" in url, timeout=30_000)
    assert "region=%E5%8F%B0%E5%B7%9E" in page.url  # 台州, URL-encoded
    wait_until_done(page)
    page.reload()
    wait_until_done(page)
    assert "台州" in region_box.inner_text()
    assert "region=" in page.url
    page.screenshot(path=str(ARTIFACTS / "filter_after_reload.png"), full_page=True)
    regional = page.locator("[data-testid=stMetricValue]").first.inner_text()
    page.get_by_role("button", name="Reset filters").click()
    page.wait_for_url(lambda url: "region=" not in url, timeout=30_000)
    wait_until_done(page)
    assert "台州" not in region_box.inner_text()
    assert page.locator("[data-testid=stMetricValue]").first.inner_text() != regional  # all regions again
    page.close()


@pytest.mark.parametrize("language", ["en", "zh"])
def test_account_page_of_a_vip_account(server, browser, demo, language):
    customer = demo.execute("""SELECT customer_id FROM tier_snapshots WHERE tier = 'VIP'
                               AND as_of = (SELECT max(as_of) FROM tier_snapshot_dates)
                               ORDER BY trailing_revenue DESC LIMIT 1""").fetchall()[0][0]
    page = browser.new_page(viewport={"width": 1500, "height": 3600}, locale="en-GB")
    page.goto(f"{server}/account?customer={customer}&lang={language}")
    wait_until_done(page)
    page.screenshot(path=str(ARTIFACTS / f"page_account_{language}.png"), full_page=True)
    assert page.locator("h1").first.inner_text() == (ZH["Account"] if language == "zh" else "Account")
    assert page.locator("[data-testid=stException]").count() == 0
    assert customer in page.locator("[data-testid=stMain] h3").first.inner_text()
    assert page.locator("[data-testid=stMetric]").count() >= 6
    assert page.locator(".js-plotly-plot").count() == 3
    page.close()


def test_account_page_from_search(server, browser):
    page = browser.new_page(viewport={"width": 1500, "height": 1600}, locale="en-GB")
    page.goto(f"{server}/account")
    wait_until_done(page)
    page.get_by_label("Find an account").fill("钢铁")
    page.keyboard.press("Enter")
    wait_until_done(page)
    page.locator("[data-testid=stSelectbox]").filter(has_text="Matching accounts").click()
    page.get_by_role("option").first.click()
    wait_until_done(page)
    assert "customer=" in page.url
    assert page.locator("[data-testid=stMetric]").count() >= 6
    page.screenshot(path=str(ARTIFACTS / "page_account_from_search.png"), full_page=True)
    page.close()
