"""HTML to PDF through the system Chromium's print (driven by Playwright): the charts are drawn by the same plotly.js
as on the pages and printed as vector graphics, the fonts the text uses (Noto CJK) are embedded as subsets."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, PdfMargins, sync_playwright

CHROMIUM = os.environ.get("SCORECARD_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions"]
MARGIN: PdfMargins = {"top": "14mm", "bottom": "16mm", "left": "15mm", "right": "15mm"}
DRAW_TIMEOUT_MS = 120_000


class ChromiumMissing(RuntimeError):
    """No Chromium to print with."""


class Printer:
    """One Chromium, kept open for several books."""

    def __init__(self, browser: Browser):
        self.browser = browser

    def pdf(self, document: str, footer: str) -> bytes:
        # From a file Chromium parses the document (5 MB with plotly.js inline) as it reads it; set_content writes it
        # through document.write, several times slower.
        with tempfile.TemporaryDirectory(prefix="briefing-") as folder:
            source = Path(folder) / "book.html"
            source.write_text(document, encoding="utf-8")
            url = source.as_uri()
            page = self.browser.new_page()
            try:
                # nothing may come from outside: the document carries its scripts and data inline
                page.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
                page.goto(url, wait_until="load", timeout=DRAW_TIMEOUT_MS)
                page.wait_for_function("window.chartsReady === true", timeout=DRAW_TIMEOUT_MS)
                return page.pdf(format="A4", print_background=True, display_header_footer=True,
                                header_template="<span></span>", footer_template=footer, margin=MARGIN)
            finally:
                page.close()


@contextmanager
def printer() -> Iterator[Printer]:
    if not Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is None:
        raise ChromiumMissing(f"{CHROMIUM}: no Chromium here to print the briefing book with; install Debian's "
                              "`chromium` package, or set SCORECARD_CHROMIUM to a Chromium executable")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield Printer(browser)
        finally:
            browser.close()
