"""The account page as a person reaches it in headless Chromium: from the early-warning list (a click on the
row's link opens the account in a new tab) and from the search box. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from tests.test_browser import ARTIFACTS, browser, server, wait_until_done  # noqa: F401  (fixtures)


def test_an_account_opens_from_the_early_warning_list(server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1500, "height": 2400}, locale="en-GB")
    page.goto(f"{server}/retention")
    wait_until_done(page)
    warning = page.locator("[data-testid=stDataFrame]").last  # the early-warning list, the page's one table
    warning.scroll_into_view_if_needed()
    box = warning.bounding_box()
    # the first row's "Open" link (the link column is in front; the header row is 35 px high)
    x, y = box["x"] + 22, box["y"] + 35 + 17
    page.mouse.move(x, y)
    page.wait_for_timeout(500)
    with page.context.expect_page(timeout=60_000) as opened:
        page.mouse.click(x, y)
    account = opened.value
    page.screenshot(path=str(ARTIFACTS / "account_link_early_warning_list.png"), full_page=True)
    account.set_viewport_size({"width": 1500, "height": 3600})
    wait_until_done(account)
    account.screenshot(path=str(ARTIFACTS / "account_from_early_warning.png"), full_page=True)
    customer = parse_qs(urlparse(account.url).query)["customer"][0]
    assert urlparse(account.url).path.endswith("/account")
    assert account.locator("[data-testid=stException]").count() == 0
    assert customer in account.locator("[data-testid=stMain] h3").first.inner_text()
    # it was on the list, so the page says so now, with its reasons
    assert account.locator("[data-testid=stAlert]").filter(has_text="On the early-warning list now").count() == 1
    account.close()
    page.close()


def test_an_account_opens_from_search_by_part_of_its_name(server, browser, demo):  # noqa: F811
    customer, name = demo.execute("SELECT customer_id, customer_name FROM customers WHERE closed_on IS NULL "
                                  "ORDER BY customer_id LIMIT 1").fetchall()[0]
    page = browser.new_page(viewport={"width": 1500, "height": 3600}, locale="en-GB")
    page.goto(f"{server}/account")
    wait_until_done(page)
    page.get_by_label("Find an account").fill(name[1:5])  # four characters from inside the name
    page.keyboard.press("Enter")
    wait_until_done(page)
    page.locator("[data-testid=stSelectbox]").filter(has_text="Matching accounts").click()
    page.get_by_role("option", name=f"{name} ({customer})").click()
    page.wait_for_url(lambda url: f"customer={customer}" in url, timeout=60_000)
    wait_until_done(page)
    page.screenshot(path=str(ARTIFACTS / "account_from_search.png"), full_page=True)
    assert page.locator("[data-testid=stException]").count() == 0
    assert f"{name} · {customer}" in page.locator("[data-testid=stMain] h3").first.inner_text()
    assert page.locator("[data-testid=stMetric]").count() >= 6
    page.close()
