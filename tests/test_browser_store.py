"""What a person sees of the management routine, in headless Chromium (helpers of tests/test_browser.py): a comment
and an action written from the scorecard are there after a reload of the page. Screenshots in tests/artifacts/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest

import store
from tests.test_browser import ARTIFACTS, ROOT, _free_port, browser, wait_until_done  # noqa: F401 (fixture)

COMMENT = "台风“海葵”致回访推迟 <b>not bold</b>"
ACTION = "补做回访 30 户"


@pytest.fixture(scope="module")
def store_server(demo_db, tmp_path_factory):
    """The app on the demo warehouse with a store of its own (sign-in off: the local administrator writes)."""
    url_of_store = f"sqlite:///{tmp_path_factory.mktemp('browser_store') / 'store.sqlite'}"
    port = _free_port()
    env = dict(os.environ, SCORECARD_WAREHOUSE=str(demo_db), SCORECARD_STORE_URL=url_of_store)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "streamlit_store.log", "w")  # noqa: SIM115 - the server writes to it until the fixture ends
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.terminate()
        pytest.fail("streamlit did not start within 90 s")
    yield url, url_of_store
    proc.terminate()
    proc.wait(timeout=20)


def _page_says(page, expected: str, what: str) -> None:
    """The write's answer, whichever it is: the saved message, or the refusal (with its reason) in the assertion."""
    answer = page.locator("[data-testid=stAlert]").filter(has_text=re.compile(f"{re.escape(expected)}|Not saved"))
    answer.first.wait_for(timeout=60_000)
    wait_until_done(page)
    page.screenshot(path=str(ARTIFACTS / f"store_{what}_answer.png"), full_page=False)
    said = answer.first.inner_text()
    assert expected in said, said


def test_write_a_comment_and_an_action_and_see_them_after_a_reload(store_server, browser):  # noqa: F811
    url, url_of_store = store_server
    page = browser.new_page(viewport={"width": 1500, "height": 3600}, locale="en-GB")
    page.goto(url)
    wait_until_done(page)
    assert page.locator("[data-testid=stException]").count() == 0
    page.locator("[data-testid=stPopover] button").filter(has_text="Comment").first.click()
    box = page.get_by_label("Why it moved, for 2026-10")
    box.wait_for(timeout=30_000)
    box.fill(COMMENT)
    page.screenshot(path=str(ARTIFACTS / "store_comment_box.png"), full_page=False)
    box.press("Tab")  # committed to the form before the click, as a person leaving the box does
    page.get_by_role("button", name="Save comment").click()
    _page_says(page, "Comment saved", "comment")

    page.get_by_text("New action for Company-wide").click()
    title = page.get_by_label("Action", exact=True)
    title.fill(ACTION)
    title.press("Tab")
    page.get_by_role("button", name="Add action").click()
    _page_says(page, "Action added.", "action")

    page.reload()
    wait_until_done(page)
    page.screenshot(path=str(ARTIFACTS / "store_after_reload.png"), full_page=True)
    main = page.locator("[data-testid=stMain]")
    assert COMMENT in main.inner_text()  # shown as written: the tags are text, not bold
    assert main.locator("b", has_text="not bold").count() == 0
    assert page.locator("[data-testid=stDataFrame]").count() >= 2  # open actions and the league table
    page.close()

    s = store.open(url_of_store)  # and it is in the store the app wrote
    try:
        [comment] = s.comments(store_admin)
        assert comment["body"] == COMMENT and comment["region"] == "*"
        assert [a["title"] for a in s.actions(store_admin)] == [ACTION]
    finally:
        s.close()


def test_an_event_is_drawn_on_the_complaint_charts(store_server, browser):  # noqa: F811
    import datetime as dt

    url, url_of_store = store_server
    s = store.open(url_of_store)
    try:
        s.add_event(store_admin, dt.date(2026, 8, 12), "*", "typhoon", "台风“海葵”登陆 <i>x</i>")
    finally:
        s.close()
    page = browser.new_page(viewport={"width": 1500, "height": 2400}, locale="en-GB")
    page.goto(f"{url}/complaints")
    wait_until_done(page)
    page.screenshot(path=str(ARTIFACTS / "store_complaints_with_event.png"), full_page=True)
    drawn = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .map(gd => (gd.data || []).filter(t => t.meta === 'events').map(t => t.hovertext).flat())""")
    # the three monthly charts of the page each carry the event, its text escaped for Plotly
    with_event = [texts for texts in drawn if texts]
    assert len(with_event) == 3
    assert all(texts == ["2026-08-12 · Typhoon · all regions: 台风“海葵”登陆 &lt;i&gt;x&lt;/i&gt;"] for texts in with_event)
    page.close()


class _Admin:
    username, role, allowed_regions = "check", "admin", None


store_admin = _Admin()
