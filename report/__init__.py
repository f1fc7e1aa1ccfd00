"""The monthly briefing book: the scorecard for a month as a bilingual PDF, for the company, a region or a user's view.

    python -m report --month 2026-10 --out book.pdf
    python -m report --month last --each-region --lang zh --out books/
"""

from __future__ import annotations

import datetime as dt

import duckdb

from dashboard import i18n
from dashboard.briefing_book import document, footer
from metrics.filters import Filters
from metrics.scorecard import ScorecardConfig, load_config
from report.book import Action, Book, Commentary, gather
from report.pdf import Printer, printer

__all__ = ["Action", "Book", "Commentary", "build_pdf", "gather", "printer", "render"]


def render(book: Book, lang: str, out: Printer) -> bytes:
    """The book as PDF bytes in `lang` ("en" or "zh")."""
    before = i18n.language()
    i18n.use(lang)
    try:
        return out.pdf(document(book), footer(book))
    finally:
        i18n.use(before)


def build_pdf(con: duckdb.DuckDBPyConnection, month: dt.date, base: Filters, lang: str,
              scope: tuple[str, ...] | None = None, reader: str | None = None,
              commentary: tuple[Commentary, ...] = (), actions: tuple[Action, ...] = (),
              config: ScorecardConfig | None = None) -> bytes:
    """One briefing book as PDF bytes. `commentary` and `actions`: the application store's rows for the month and
    scope; without them the book has no commentary section."""
    book = gather(con, month, base, config or load_config(), scope=scope, reader=reader,
                  commentary=commentary, actions=actions)
    with printer() as out:
        return render(book, lang, out)
