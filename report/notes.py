"""The application store's commentary and open actions for a book's month and scope (issue 19's routine in issue 20's
book), read as the book's reader may read them: the store checks the region limits itself."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import store
from report.book import Action, Commentary
from store.models import ALL_REGIONS

STORE_URL_VARIABLE = "SCORECARD_STORE_URL"  # the same setting as the app's (dashboard/store_ui.py)


@dataclass(frozen=True)
class Reader:
    """Who reads the book when no user is named: an executive reads every region."""
    username: str = "briefing-book"
    role: str = "executive"
    allowed_regions: tuple[str, ...] | None = None


def store_url(warehouse: Path) -> str:
    """The app's store: SCORECARD_STORE_URL, else store.sqlite beside the warehouse."""
    return os.environ.get(STORE_URL_VARIABLE) or f"sqlite:///{Path(warehouse).parent / 'store.sqlite'}"


def store_scope(scope: tuple[str, ...] | None) -> str:
    """The store keeps commentary and actions per region or company-wide: a one-region book shows that region's,
    any other book the company-wide ones (as the scorecard page does)."""
    return scope[0] if scope is not None and len(scope) == 1 else ALL_REGIONS


def book_notes(s: store.Store, reader, month: dt.date, scope: tuple[str, ...] | None,
               ) -> tuple[tuple[Commentary, ...], tuple[Action, ...]]:
    """The month's comments and the open actions of the book's scope."""
    region = store_scope(scope)
    if not store.reads_region(reader, region):
        return (), ()
    comments = s.comments(reader, region=region, period=f"{month:%Y-%m}")
    actions = s.actions(reader, region=region, statuses=("open",))
    return (tuple(Commentary(c["metric"], c["body"], c["author"], c["written_at"].date()) for c in comments),
            tuple(Action(a["metric"], a["title"], a["owner"], a["due"], a["status"]) for a in actions))
