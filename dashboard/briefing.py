"""The scorecard's "Download briefing book" button: the month of the filters' end as the PDF `python -m report` writes,
for the regions and row limits of the filters and in the page's language. The book is made on click."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import streamlit as st

from dashboard import data, store_ui
from dashboard.format import month as month_label
from dashboard.i18n import _, language
from metrics.filters import Filters


def _book(f: Filters, lang: str, reader) -> bytes:
    from report import build_pdf  # Playwright is loaded only when someone asks for a book
    from report.notes import Reader, book_notes

    scope = f.effective_regions
    month = f.end.replace(day=1)
    commentary, actions = book_notes(store_ui.current(), reader or Reader(), month, scope)
    with data.reading() as generation:
        return build_pdf(generation.con, month, f, lang, scope=scope, commentary=commentary, actions=actions)


def download_button(f: Filters) -> None:
    lang = language()
    reader = store_ui.identity()
    month = f.end.replace(day=1)
    place = "company" if f.effective_regions is None else "+".join(f.effective_regions)

    def pdf() -> bytes:
        # Playwright's sync API refuses to run on a thread with an asyncio loop (the server's): a worker thread of its
        # own
        with ThreadPoolExecutor(max_workers=1) as worker:
            return worker.submit(_book, f, lang, reader).result()

    st.download_button(_("Download briefing book (PDF)"), pdf, f"briefing_{month:%Y-%m}_{place}_{lang}.pdf",
                       "application/pdf", key="briefing_book", icon=":material/picture_as_pdf:", on_click="ignore",
                       help=_("The month of {month} as a printable briefing book, for the regions and in the language "
                              "chosen here.").format(month=month_label(month)))
